"""Real Celery workers: a worker killed mid-send and a flushed Redis lose and duplicate nothing."""
from datetime import timedelta

import pytest

from campaigns.delivery.launch import campaign_launch
from campaigns.delivery.reconcile import message_reconcile
from campaigns.models import Message
from campaigns.sink import SinkRule
from campaigns.tokens import message_token
from tests.factories import CampaignFactory, LeadFactory, TagFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The reconciler's timeouts, zeroed: the test itself says when the broker lost its tasks and when
# the killed worker's claim is stuck.
RECONCILE_NOW = {"requeue_after": timedelta(0), "stuck_after": timedelta(0)}


def audience(emails):
    tag = TagFactory(name="workers")
    for email in emails:
        LeadFactory(email=email).tags.add(tag)
    return CampaignFactory(audience_tag=tag)


def states():
    return dict(Message.objects.values_list("to_email", "state"))


def all_final():
    return not Message.objects.exclude(state__in=Message.FINAL_STATES).exists()


def deliveries_per_message(sink):
    counts = sink.count_by_token()
    return {m.to_email: counts[message_token(m.pk)] for m in Message.objects.all()}


def settled_deliveries(sink, expected):
    """The sink's deliveries once they stop changing. A row is committed `sent` just before the
    server receives the final "." of its message, so the last delivery can trail the last row."""
    try:
        wait_for(lambda: deliveries_per_message(sink) == expected, timeout=10, message="the last deliveries")
    except TimeoutError:
        pass  # the assertion below shows the difference
    return deliveries_per_message(sink)


@pytest.fixture
def sink_rules():
    return [
        # The first attempt to slow.* stalls at RCPT long enough to kill the worker mid-send.
        SinkRule(r"^slow\.", stall=30, times=1),
        # Paced deliveries, so a flush can land while most of a campaign is still queued.
        SinkRule(r"^paced\.", stall=0.05),
        # The server takes the whole message, then waits before its 250: the window in which a
        # killed worker has sent a message without hearing so.
        SinkRule(r"^window\.", stall_after_data=30),
    ]


def test_a_worker_killed_mid_send_delivers_every_message_exactly_once(sink, start_worker):
    emails = ["slow.ada@acme.example"] + [f"lead{n}@acme.example" for n in range(8)] + ["unknown.bob@acme.example"]
    campaign = audience(emails)
    worker = start_worker()
    campaign_launch(campaign=campaign)

    # slow.ada is the first message of its chunk (leads go out in id order): the worker is
    # stuck in its RCPT with the rest of the chunk still waiting behind it.
    assert sink.stalled.wait(60)
    assert Message.objects.get(to_email="slow.ada@acme.example").state == "sending"
    worker.kill()

    # The killed worker's claim stays `sending` until the reconciler resolves it; the chunk's
    # unsent messages are due and go out again with it.
    assert Message.objects.get(to_email="slow.ada@acme.example").state == "sending"
    start_worker()
    result = message_reconcile(**RECONCILE_NOW)
    assert result.unstuck == 1 and result.requeued >= 1
    wait_for(all_final, message="every message final")

    assert states() == {**{e: "sent" for e in emails}, "unknown.bob@acme.example": "bounced"}
    expected = {**{e: 1 for e in emails}, "unknown.bob@acme.example": 0}
    assert settled_deliveries(sink, expected) == expected


def test_a_worker_killed_after_the_server_took_the_message_never_sends_it_again(sink, start_worker):
    emails = ["window.ada@acme.example"] + [f"lead{n}@acme.example" for n in range(4)]
    campaign = audience(emails)
    # One process: the killed worker has exactly one message in flight, the one in the window.
    worker = start_worker(concurrency=1)
    campaign_launch(campaign=campaign)

    assert sink.data_stalled.wait(60)
    # The server holds the complete message; the row was committed as sent before the final ".".
    assert sink.count_by_rcpt()["window.ada@acme.example"] == 1
    assert Message.objects.get(to_email="window.ada@acme.example").state == "sent"
    worker.kill()

    start_worker()
    message_reconcile(**RECONCILE_NOW)
    wait_for(all_final, message="every message final")
    assert states() == {e: "sent" for e in emails}
    assert settled_deliveries(sink, {e: 1 for e in emails}) == {e: 1 for e in emails}


def test_a_redis_flush_mid_campaign_loses_no_message_and_duplicates_none(sink, start_worker, broker):
    emails = [f"paced.lead{n}@acme.example" for n in range(60)]
    campaign = audience(emails)
    start_worker()
    campaign_launch(campaign=campaign)

    wait_for(lambda: Message.objects.filter(state="sent").count() >= 5, message="the first deliveries")
    broker.flushdb()
    wait_for(lambda: not Message.objects.filter(state="sending").exists(), message="in-flight sends to finish")
    stranded = Message.objects.filter(state="queued").count()
    assert stranded > 0  # the flush took their tasks: nothing would ever send them

    # stuck_after keeps its default: this worker is alive, and a message it is sending right now
    # must not be taken for stuck (that is what the default, above the task time limit, ensures).
    result = message_reconcile(requeue_after=RECONCILE_NOW["requeue_after"])
    assert result.unstuck == 0
    assert result.requeued >= 1
    wait_for(all_final, message="every message final")

    assert set(states().values()) == {"sent"}
    assert settled_deliveries(sink, {e: 1 for e in emails}) == {e: 1 for e in emails}


@pytest.mark.django_db(transaction=False)
def test_the_reconciler_republishes_soon_when_the_broker_queue_is_empty_and_waits_while_it_is_not(broker, settings):
    from django.utils import timezone

    from campaigns.delivery.reconcile import broker_send_queue_length
    from tests.sending.conftest import running_message

    message = running_message("ada@acme.example")
    minutes_ago = timezone.now() - timedelta(minutes=2)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=minutes_ago, enqueued_at=minutes_ago)

    broker.lpush("send", "a task still waiting")
    assert broker_send_queue_length() == 1
    assert message_reconcile().requeued == 0  # a backlog: the long timeout applies

    broker.delete("send")
    assert message_reconcile().requeued == 1  # the queue is empty: the broker lost it
    assert broker_send_queue_length() == 1
