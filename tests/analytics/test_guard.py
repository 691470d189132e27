"""The reputation guard fires just above its thresholds, not at or below, and is resumed with a reason."""
from datetime import datetime, timedelta, timezone as tz

import pytest
from freezegun import freeze_time

from analytics import guard
from analytics.guard import guard_evaluate, guard_resume, reputation_guard_run
from analytics.models import GuardAction
from campaigns.models import Campaign
from campaigns.services import CampaignStateError
from tests.analytics.factories import bounce_for, send_messages
from tests.factories import CampaignFactory, PromptVersionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=tz.utc)


@pytest.fixture(autouse=True)
def guard_settings(settings):
    settings.LOCKLINE_GUARD_BOUNCE_RATE = 0.05
    settings.LOCKLINE_GUARD_COMPLAINT_RATE = 0.01
    settings.LOCKLINE_GUARD_SHORT_WINDOW_HOURS = 24
    settings.LOCKLINE_GUARD_SHORT_MIN_SENDS = 100
    settings.LOCKLINE_GUARD_LONG_WINDOW_DAYS = 7
    settings.LOCKLINE_GUARD_LONG_MIN_SENDS = 300


def send(campaign, count, at, version=None):
    return send_messages(campaign, count, at, version)


def fail(messages, category="hard", at=None):
    for message in messages:
        bounce_for(message, category=category, occurred_at=at or message.sent_at)


def running_campaign(**kwargs):
    return CampaignFactory(status=Campaign.Status.RUNNING, launched_at=NOW - timedelta(days=30), **kwargs)


@freeze_time(NOW)
def test_a_bounce_rate_just_above_the_threshold_pauses_the_campaign_and_records_why():
    campaign = running_campaign()
    messages = send(campaign, 100, NOW - timedelta(hours=2))
    fail(messages[:6])  # 6% of 100 sends, threshold 5%

    actions = reputation_guard_run()

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert "bounce_rate/24h 6.00% (6 of 100 sends) above 5.00%" in campaign.status_reason
    action = GuardAction.objects.get(campaign=campaign)
    assert [action] == [a for a in actions if a.campaign_id == campaign.pk]
    assert (action.kind, action.rule, action.sends, action.events) == ("paused", "bounce_rate/24h", 100, 6)
    assert action.rate == pytest.approx(0.06) and action.threshold == 0.05


@freeze_time(NOW)
def test_a_bounce_rate_at_the_threshold_does_not_pause():
    campaign = running_campaign()
    fail(send(campaign, 100, NOW - timedelta(hours=2))[:5])  # exactly 5%: not above
    reputation_guard_run()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert not GuardAction.objects.exists()


@freeze_time(NOW)
def test_too_few_sends_never_trip_the_guard_however_bad_the_rate():
    campaign = running_campaign()
    fail(send(campaign, 99, NOW - timedelta(hours=2))[:50])
    assert guard_evaluate() == []


@freeze_time(NOW)
def test_complaints_just_above_their_threshold_pause_and_at_it_do_not():
    noisy, calm = running_campaign(name="noisy"), running_campaign(name="calm")
    fail(send(noisy, 100, NOW - timedelta(hours=1))[:2], category="complaint")  # 2% > 1%
    fail(send(calm, 100, NOW - timedelta(hours=1))[:1], category="complaint")  # 1%: not above
    breaches = guard_evaluate()
    assert [(b.target, b.rule.name) for b in breaches if isinstance(b.target, Campaign)] == [(noisy, "complaint_rate/24h")]


@freeze_time(NOW)
def test_the_long_window_catches_a_slow_drift_the_short_window_cannot_see():
    campaign = running_campaign()
    for day in range(1, 4):  # 3 days x 100 sends, 6% bouncing, nothing in the last 24 hours
        fail(send(campaign, 100, NOW - timedelta(days=day, hours=1))[:6])
    [breach] = [b for b in guard_evaluate() if isinstance(b.target, Campaign)]
    assert breach.rule.name == "bounce_rate/7d" and (breach.sends, breach.events) == (300, 18)


@freeze_time(NOW)
def test_a_prompt_version_is_paused_on_its_own_rates_across_campaigns():
    version = PromptVersionFactory(name="shouty")
    other = PromptVersionFactory(name="calm")
    one, two = running_campaign(prompt_version=version), running_campaign(prompt_version=other)
    fail(send(one, 50, NOW - timedelta(hours=3), version=version)[:3])
    fail(send(two, 50, NOW - timedelta(hours=3), version=version)[:3])  # 6/100 for the version
    send(two, 200, NOW - timedelta(hours=3), version=other)
    reputation_guard_run()
    version.refresh_from_db()
    other.refresh_from_db()
    assert version.paused_at is not None and "bounce_rate/24h" in version.paused_reason
    assert other.paused_at is None
    assert GuardAction.objects.filter(prompt_version=version, kind="paused").count() == 1


@freeze_time(NOW)
def test_staff_resume_with_a_reason_and_the_old_bounces_do_not_pause_it_again():
    campaign = running_campaign()
    fail(send(campaign, 100, NOW - timedelta(hours=2))[:10])
    reputation_guard_run()
    with pytest.raises(ValueError):
        guard_resume(campaign=campaign, reason=" ")
    with freeze_time(NOW + timedelta(minutes=30)):
        action = guard_resume(campaign=campaign, reason="list cleaned", by=None)
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.RUNNING and "list cleaned" in campaign.status_reason
        assert action.kind == "resumed"
    with freeze_time(NOW + timedelta(hours=1)):
        assert reputation_guard_run() == []
        # New trouble after the resume still counts.
        fail(send(campaign, 100, NOW + timedelta(minutes=45))[:7])
        assert [a.rule for a in reputation_guard_run()] == ["bounce_rate/24h"]


@freeze_time(NOW)
def test_resuming_something_that_is_not_paused_is_refused():
    with pytest.raises(CampaignStateError):
        guard_resume(campaign=running_campaign(), reason="why not")
    assert not GuardAction.objects.exists()


@freeze_time(NOW)
def test_a_campaign_that_finished_before_the_pause_is_left_alone_and_the_rest_still_run(monkeypatch):
    # Another process finishes the campaign between the guard's evaluation and its pause.
    finished = running_campaign(name="done")
    fail(send(finished, 100, NOW - timedelta(hours=2))[:10])
    real = guard.guard_evaluate

    def evaluate_then_finish(**kwargs):
        breaches = real(**kwargs)
        Campaign.objects.filter(pk=finished.pk).update(status=Campaign.Status.FINISHED)
        return breaches

    monkeypatch.setattr(guard, "guard_evaluate", evaluate_then_finish)
    actions = reputation_guard_run()
    finished.refresh_from_db()
    assert finished.status == Campaign.Status.FINISHED
    # Its prompt version broke the same rule and is still paused.
    assert [a.prompt_version_id for a in actions] == [finished.prompt_version_id]
