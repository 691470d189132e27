"""The one-statement claim takes only what the checked claim would send, and leaves the rest to it."""
from datetime import timedelta

import pytest
from django.utils import timezone

from bounces.services import suppression_create
from campaigns.delivery.send import _message_claim_fast, message_send
from campaigns.delivery.throttle import throttle_clear, throttle_note
from campaigns.models import Campaign, Message
from campaigns.tokens import rfc_message_id
from tests.sending.conftest import running_message

pytestmark = pytest.mark.django_db


def test_a_due_message_of_a_running_campaign_is_claimed_by_the_fast_path():
    message = running_message("ada@acme.example")

    claimed = _message_claim_fast(message_id=message.pk)

    assert claimed.pk == message.pk
    assert (claimed.state, claimed.attempts, claimed.campaign.pk) == ("sending", 1, message.campaign_id)
    message.refresh_from_db()
    assert (message.state, message.attempts, message.enqueued_at) == ("sending", 1, None)
    assert message.message_id == rfc_message_id(message.pk)


@pytest.mark.parametrize("case", ["suppressed", "campaign paused", "prompt paused", "hourly limit", "not due",
                                  "already sending"])
def test_the_fast_path_declines_every_case_the_checked_claim_must_decide(case):
    message = running_message("ada@acme.example")
    if case == "suppressed":
        suppression_create(email="ada@acme.example", reason="unsubscribe")
    elif case == "campaign paused":
        Campaign.objects.filter(pk=message.campaign_id).update(status=Campaign.Status.PAUSED)
    elif case == "prompt paused":
        message.prompt_version.paused_at = timezone.now()
        message.prompt_version.save()
    elif case == "hourly limit":
        Campaign.objects.filter(pk=message.campaign_id).update(hourly_limit=100)
    elif case == "not due":
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    else:
        Message.objects.filter(pk=message.pk).update(state=Message.State.SENDING, attempts=1)
    before = Message.objects.values("state", "attempts").get(pk=message.pk)

    assert _message_claim_fast(message_id=message.pk) is None

    assert Message.objects.values("state", "attempts").get(pk=message.pk) == before


def test_a_throttled_domain_hands_the_fast_claim_back_postponed_and_nothing_is_sent(sink):
    message = running_message("ada@acme.example")
    throttle_note(domain="acme.example")
    try:
        outcome = _message_claim_fast(message_id=message.pk)
        again = message_send(message_id=message.pk)  # before it is due again: left alone
    finally:
        throttle_clear(domain="acme.example")

    assert outcome.action == "throttled" and outcome.retry_in >= 1
    message.refresh_from_db()
    # Back in its state with no attempt counted, due when the countdown ends, its task counted
    # as published (the caller publishes it with that countdown).
    assert (message.state, message.attempts) == ("queued", 0)
    assert message.next_attempt_at == message.enqueued_at
    assert abs((message.next_attempt_at - timezone.now()).total_seconds() - outcome.retry_in) < 2
    assert again.action == "skipped"
    assert sink.received == []
