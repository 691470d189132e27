"""The delivery schedule: exponential backoff with jitter, a cap, and give-up rules."""
import random
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from freezegun import freeze_time

from bounces.models import BounceEvent, Suppression
from campaigns.delivery.classify import classify_reply
from campaigns.delivery.errors import delivery_error
from campaigns.delivery.retry_policy import retry_countdown, retry_gives_up, retry_longest_countdown
from campaigns.delivery.send import _message_failed
from campaigns.models import Campaign, Message
from leads.models import Lead
from tests.test_settings import run_django
from tests.factories import CampaignFactory, LeadFactory, MessageFactory
from tests.sending.conftest import running_message

START = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)


def test_the_schedule_starts_near_five_minutes_doubles_and_caps_near_four_hours(settings):
    settings.LOCKLINE_RETRY_JITTER = 0
    assert [retry_countdown(failures=n) for n in range(1, 9)] == [300, 600, 1200, 2400, 4800, 9600, 14400, 14400]
    assert retry_countdown(failures=500) == 14400


def test_jitter_spreads_retries_within_its_fraction_and_never_picks_zero(settings):
    rng = random.Random(7)
    picks = [retry_countdown(failures=1, rng=rng) for _ in range(500)]
    assert min(picks) >= 240 and max(picks) <= 360
    assert len(set(picks)) > 50
    assert retry_longest_countdown() == round(14400 * 1.2)


def test_a_failure_count_below_one_is_refused():
    with pytest.raises(ValueError):
        retry_countdown(failures=0)


def test_start_up_refuses_a_redis_visibility_timeout_below_the_longest_countdown():
    env = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/2", "CELERY_VISIBILITY_TIMEOUT": "3600"}
    refused = run_django("print('started')", env)
    assert refused.returncode != 0 and "CELERY_VISIBILITY_TIMEOUT must exceed" in refused.stderr
    started = run_django("print('started')", {**env, "CELERY_VISIBILITY_TIMEOUT": str(6 * 3600)})
    assert started.returncode == 0, started.stderr


def test_give_up_after_the_lifetime_or_n_soft_failures(settings):
    assert not retry_gives_up(first_queued_at=START, now=START + timedelta(days=4, hours=23))
    assert retry_gives_up(first_queued_at=START, now=START + timedelta(days=5))
    assert retry_gives_up(first_queued_at=START, now=START, soft_failures=settings.LOCKLINE_RETRY_MAX_SOFT_FAILURES)


def fail(message: Message, reply: str):
    """Record a failed attempt of ``message`` as a worker would after the SMTP reply."""
    Message.objects.filter(pk=message.pk).update(state="sending", attempts=message.attempts + 1)
    message.refresh_from_db()
    code, _, text = reply.partition(" ")
    return _message_failed(message=message, error=delivery_error(classify_reply(code, text)))


@pytest.mark.django_db
def test_a_transient_failure_is_retried_on_the_schedule_and_on_give_up_fails_leaving_the_lead_clean(settings):
    settings.LOCKLINE_RETRY_JITTER = 0
    with freeze_time(START) as clock:
        message = running_message("greylist.ada@acme.example")
        waits = []
        while True:
            outcome = fail(message, "450 4.7.1 Greylisted, try again later")
            message.refresh_from_db()
            if outcome.retry_in is None:
                break
            assert message.state == "deferred"
            assert message.next_attempt_at == START + timedelta(seconds=sum(waits) + outcome.retry_in)
            waits.append(outcome.retry_in)
            clock.tick(timedelta(seconds=outcome.retry_in))
    assert waits[:4] == [300, 600, 1200, 2400] and max(waits) == 14400
    assert sum(waits) >= 5 * 24 * 3600 and sum(waits) - waits[-1] < 5 * 24 * 3600
    assert message.state == "failed" and "gave up" in message.last_response
    assert not Suppression.objects.exists()
    assert Lead.objects.get(pk=message.lead_id).status == "active"
    assert BounceEvent.objects.filter(category="transient").count() == message.attempts


@pytest.mark.django_db
def test_soft_failures_give_up_after_n_and_suppress_as_persistent_soft(settings):
    settings.LOCKLINE_RETRY_JITTER = 0
    with freeze_time(START) as clock:
        message = running_message("full.ada@acme.example")
        actions = []
        for _ in range(settings.LOCKLINE_RETRY_MAX_SOFT_FAILURES):
            outcome = fail(message, "552 5.2.2 Mailbox full")
            actions.append(outcome.action)
            if outcome.retry_in:
                clock.tick(timedelta(seconds=outcome.retry_in))
    assert actions == ["deferred", "deferred", "failed"]
    message.refresh_from_db()
    assert message.state == "failed"
    suppression = Suppression.objects.active(at=START + timedelta(hours=1)).get(email="full.ada@acme.example")
    assert suppression.reason == "persistent_soft" and suppression.expires_at is not None


@pytest.mark.django_db
def test_soft_failures_older_than_the_window_start_the_count_again(settings):
    settings.LOCKLINE_RETRY_JITTER = 0
    settings.LOCKLINE_RETRY_MAX_SOFT_FAILURES = 10  # only the address's window decides here
    lead = LeadFactory(email="full.grace@acme.example")
    with freeze_time(START) as clock:
        old = MessageFactory(campaign=CampaignFactory(status=Campaign.Status.RUNNING), lead=lead)
        fail(old, "552 5.2.2 Mailbox full")
        fail(old, "552 5.2.2 Mailbox full")
        clock.tick(timedelta(days=8))
        new = MessageFactory(campaign=CampaignFactory(status=Campaign.Status.RUNNING), lead=lead)
        assert fail(new, "552 5.2.2 Mailbox full").action == "deferred"
    assert not Suppression.objects.exists()
