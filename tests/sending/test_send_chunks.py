"""Send tasks carry chunks of message ids; each message is still claimed, sent and recorded on its own."""
import base64
import json
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bounces.models import BounceEvent
from bounces.services import soft_bounce_count, suppression_create
from campaigns.delivery.reconcile import message_publish
from campaigns.delivery.send import message_send
from campaigns.models import Message
from campaigns.tasks import message_send_many
from leads.models import Lead
from tests.sending.conftest import running_message

pytestmark = pytest.mark.django_db


def published(broker, queue="send"):
    """(task name, args, eta) of every task waiting in ``queue``, oldest first."""
    tasks = []
    for raw in reversed(broker.lrange(queue, 0, -1)):
        envelope = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        eta = envelope["headers"].get("eta")
        tasks.append((envelope["headers"]["task"], args, eta and datetime.fromisoformat(eta)))
    return tasks


def test_a_chunk_sends_each_message_on_its_own_and_schedules_only_its_retries(sink, broker):
    sent = running_message("ada@acme.example")
    hard = running_message("unknown.bob@acme.example")
    soft = running_message("full.cy@acme.example")
    late = running_message("dee@acme.example")
    # Suppressed after it was queued: the chunk re-checks at send time, message by message.
    suppression_create(email="dee@acme.example", reason="unsubscribe")

    message_send_many([sent.pk, hard.pk, soft.pk, late.pk])

    states = dict(Message.objects.values_list("to_email", "state"))
    assert states == {"ada@acme.example": "sent", "unknown.bob@acme.example": "bounced",
                      "full.cy@acme.example": "deferred", "dee@acme.example": "suppressed"}
    assert [r.rcpt for r in sink.received] == ["ada@acme.example"]
    # Only the soft bounce runs again, as its own one-message task at its own time.
    soft.refresh_from_db()
    [(task, args, eta)] = published(broker)
    assert (task, args) == ("campaigns.tasks.message_send", [soft.pk])
    assert abs((eta - soft.next_attempt_at).total_seconds()) < 2
    # The chunk writes its leads' delivery times once, at its end.
    sent.refresh_from_db()
    assert Lead.objects.get(email="ada@acme.example").last_delivered_at == sent.sent_at


def test_a_chunk_that_runs_past_its_budget_hands_the_rest_back_to_the_queue(sink, broker, settings):
    settings.LOCKLINE_SEND_BATCH_BUDGET = 0
    messages = [running_message(f"lead{n}@acme.example") for n in range(3)]

    message_send_many([m.pk for m in messages])

    # The first message is always sent (a chunk makes progress however slow the server is).
    assert [r.rcpt for r in sink.received] == ["lead0@acme.example"]
    assert published(broker) == [("campaigns.tasks.message_send_many", [[m.pk for m in messages[1:]]], None)]
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages[1:]]).values_list("state", flat=True)) == {"queued"}


def test_a_redelivered_chunk_sends_nothing_twice(sink, broker):
    messages = [running_message(f"lead{n}@acme.example") for n in range(3)]
    ids = [m.pk for m in messages]

    message_send_many(ids)
    message_send_many(ids)

    assert sorted(r.rcpt for r in sink.received) == [f"lead{n}@acme.example" for n in range(3)]


def test_the_dispatcher_publishes_chunks_of_the_configured_size(broker, settings):
    settings.LOCKLINE_SEND_BATCH = 2

    message_publish(message_ids=[11, 12, 13, 14, 15])

    assert published(broker) == [("campaigns.tasks.message_send_many", [ids], None)
                                 for ids in ([11, 12], [13, 14], [15])]


def test_a_sent_message_resets_the_soft_bounce_count_even_before_its_lead_is_updated(sink):
    message = running_message("cy@acme.example")
    now = timezone.now()
    for hours in (3, 2):
        BounceEvent.objects.create(email="cy@acme.example", category="soft", source="smtp",
                                   dedupe_key=f"soft-{hours}", occurred_at=now - timedelta(hours=hours))
    assert soft_bounce_count(email="cy@acme.example") == 2

    # Sent as part of a chunk whose worker died before writing the leads' delivery times.
    assert message_send(message_id=message.pk, deliveries={}).action == "sent"

    assert Lead.objects.get(email="cy@acme.example").last_delivered_at is None
    assert soft_bounce_count(email="cy@acme.example") == 0


@pytest.mark.django_db(transaction=True)  # the test closes the connection
@pytest.mark.parametrize("prepared", [True, False])
def test_the_claim_works_with_and_without_prepared_statements_and_after_a_reconnect(sink, settings, prepared):
    settings.LOCKLINE_PREPARED_STATEMENTS = prepared
    first, second = running_message("ada@acme.example"), running_message("bob@acme.example")

    assert message_send(message_id=first.pk).action == "sent"
    # A new database session has none of the old one's prepared statements.
    connection.close()
    assert message_send(message_id=second.pk).action == "sent"

    assert sorted(r.rcpt for r in sink.received) == ["ada@acme.example", "bob@acme.example"]
