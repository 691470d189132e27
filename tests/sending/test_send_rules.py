"""What is checked at send time: suppression, pauses, limits, domain throttles; the headers."""
from datetime import timedelta
from email import message_from_bytes

import pytest
from django.utils import timezone

from bounces.models import BounceEvent
from bounces.services import suppression_create
from campaigns.delivery.launch import campaign_launch
from campaigns.delivery.send import message_send
from campaigns.models import Campaign, Message
from campaigns.tokens import find_token, message_token
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, TagFactory
from tests.sending.conftest import both_smtp_dialogues, running_message

pytestmark = pytest.mark.django_db


def test_a_suppression_created_after_enqueue_stops_the_send(sink, django_capture_on_commit_callbacks):
    tag = TagFactory(name="audience")
    for email in ("ada@acme.example", "grace@acme.example"):
        LeadFactory(email=email).tags.add(tag)
    with django_capture_on_commit_callbacks() as callbacks:
        campaign_launch(campaign=CampaignFactory(audience_tag=tag))
    assert len(callbacks) == 1  # the chunk's dispatch, not run here
    suppression_create(email="grace@acme.example", reason="unsubscribe")

    for message in Message.objects.all():
        message_send(message_id=message.pk)

    assert dict(Message.objects.values_list("to_email", "state")) == {
        "ada@acme.example": "sent", "grace@acme.example": "suppressed"}
    assert sink.count_by_rcpt() == {"ada@acme.example": 1}


def test_a_paused_campaign_or_prompt_version_holds_its_messages_without_an_attempt(sink):
    paused = running_message("ada@acme.example")
    Campaign.objects.filter(pk=paused.campaign_id).update(status=Campaign.Status.PAUSED)
    held_prompt = running_message("grace@acme.example")
    held_prompt.prompt_version.paused_at = timezone.now()
    held_prompt.prompt_version.save()

    for message in (paused, held_prompt):
        assert message_send(message_id=message.pk).action == "held"
        message.refresh_from_db()
        assert (message.state, message.attempts, message.enqueued_at) == ("queued", 0, None)
        assert message.next_attempt_at > timezone.now()
    assert sink.received == []


def test_the_hourly_limit_holds_sends_beyond_it(sink):
    campaign = CampaignFactory(status=Campaign.Status.RUNNING, hourly_limit=2)
    messages = [MessageFactory(campaign=campaign, lead=LeadFactory(email=f"l{n}@acme.example"),
                               to_email=f"l{n}@acme.example") for n in range(3)]
    actions = [message_send(message_id=m.pk).action for m in messages]
    assert actions == ["sent", "sent", "held"]
    held = Message.objects.get(pk=messages[2].pk)
    assert held.next_attempt_at >= timezone.now() + timedelta(minutes=59)
    assert len(sink.received) == 2


def test_a_throttle_reply_slows_every_send_to_that_domain_not_only_the_one_message(sink):
    throttled = running_message("throttle.ada@slow.example")
    same_domain = running_message("grace@slow.example")
    other_domain = running_message("grace@fast.example")

    assert message_send(message_id=throttled.pk).action == "deferred"
    outcome = message_send(message_id=same_domain.pk)
    assert outcome.action == "throttled" and outcome.retry_in >= 1
    same_domain.refresh_from_db()
    assert (same_domain.state, same_domain.attempts) == ("queued", 0)
    assert same_domain.next_attempt_at > timezone.now()
    assert message_send(message_id=other_domain.pk).action == "sent"
    assert sink.count_by_rcpt() == {"grace@fast.example": 1}


def test_a_throttle_noted_by_another_worker_process_applies_here_after_the_refresh_interval(sink, settings):
    import time

    from campaigns.delivery import throttle

    settings.LOCKLINE_THROTTLE_REFRESH = 0.2
    message = running_message("grace@slow.example")
    assert throttle.throttle_acquire(domain="other.example") == 0  # this process reads the set now
    # Another worker process draws a throttle reply from slow.example: the shared state in Redis
    # changes, this process's copy of the throttled domains does not.
    ours = dict(throttle._throttled)
    throttle.throttle_note(domain="slow.example")
    throttle._throttled.update(ours)

    time.sleep(0.25)

    outcome = message_send(message_id=message.pk)
    assert outcome.action == "throttled" and outcome.retry_in >= 1
    assert sink.received == []


def test_a_message_that_is_not_yet_due_is_left_for_its_own_task(sink):
    message = running_message("ada@acme.example")
    Message.objects.filter(pk=message.pk).update(state="deferred", next_attempt_at=timezone.now() + timedelta(hours=1))
    assert message_send(message_id=message.pk).action == "skipped"
    assert sink.received == []


def test_a_hard_bounce_arriving_by_webhook_while_deferred_stops_the_retry(sink):
    message = running_message("full.ada@acme.example")
    message_send(message_id=message.pk)
    from bounces.services import bounce_record

    bounce_record(email=message.to_email, source="webhook", category="hard", message=message, reason="userunknown")
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert message_send(message_id=message.pk).action == "skipped"
    assert Message.objects.get(pk=message.pk).state == "bounced"
    assert sink.received == []


def test_every_message_carries_what_bounces_and_complaints_are_matched_by(sink, settings):
    settings.SITE_URL = "https://lockline.example"
    message = running_message("ada@acme.example", sender_name="Lockline Team")
    message_send(message_id=message.pk)
    message.refresh_from_db()

    [received] = sink.received
    mail = message_from_bytes(received.data)
    token = message_token(message.pk)
    assert received.mail_from == f"bounces+{token}@lockline.test"  # VERP Return-Path
    assert find_token(received.mail_from) == message.pk
    assert mail["Message-ID"] == f"<{message.message_id}>" and find_token(mail["Message-ID"]) == message.pk
    assert mail["X-Lockline-Message-ID"] == token
    assert mail["From"] == "Lockline Team <outreach@lockline.test>"
    prompt = message.prompt_version
    assert mail["Feedback-ID"] == f"p{prompt.pk}-{prompt.name}-v{prompt.version}:c{message.campaign_id}:outreach:lockline"
    assert " ".join(mail["List-Unsubscribe"].split()) == (  # unfolded
        f"<https://lockline.example/unsubscribe/{token}/>, "
        f"<mailto:unsubscribe+{token}@lockline.test?subject=unsubscribe>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@both_smtp_dialogues
def test_a_suppression_that_arrives_while_the_message_is_being_sent_stops_it_before_the_final_dot(sink, monkeypatch):
    from campaigns.delivery import send as send_module

    message = running_message("ada@acme.example")
    claim = send_module._message_claim

    def claim_then_unsubscribe(**kwargs):
        claimed = claim(**kwargs)
        # The recipient clicks "unsubscribe" while the worker talks to their server.
        suppression_create(email="ada@acme.example", reason="unsubscribe")
        return claimed

    monkeypatch.setattr(send_module, "_message_claim", claim_then_unsubscribe)
    outcome = message_send(message_id=message.pk)

    assert outcome.action == "suppressed"
    message.refresh_from_db()
    assert message.state == "suppressed" and "while the message was being sent" in message.last_response
    assert sink.received == []


def test_one_click_unsubscribe_suppresses_the_address_at_once_and_get_does_not(client, sink):
    message = running_message("ada@acme.example")
    url = f"/unsubscribe/{message_token(message.pk)}/"

    assert client.get(url).status_code == 200
    assert not BounceEvent.objects.exists()
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent
    event = BounceEvent.objects.get()
    assert (event.category, event.source, event.message_id) == ("unsubscribe", "unsubscribe", message.pk)
    other = MessageFactory(campaign=CampaignFactory(status=Campaign.Status.RUNNING), lead=message.lead)
    assert message_send(message_id=other.pk).action == "suppressed"
    assert client.post("/unsubscribe/1-000000000000/").status_code == 404
