"""The Wilson interval and the prompt-version comparison built on it."""
from datetime import datetime, timezone as tz

import pytest

from analytics.compare import prompt_version_compare
from analytics.stats import significantly_above, wilson_interval
from tests.analytics.factories import bounce_for, send_messages
from tests.factories import CampaignFactory, PromptVersionFactory

SENT = datetime(2026, 11, 2, 10, 0, tzinfo=tz.utc)


def test_wilson_interval_matches_published_values():
    # 10 of 100 at 95%: 0.0552 to 0.1744 (Wilson 1927; also Newcombe 1998, table I method 3).
    low, high = wilson_interval(10, 100)
    assert low == pytest.approx(0.0552, abs=5e-4) and high == pytest.approx(0.1744, abs=5e-4)
    # No successes still gives a non-zero upper bound: 0 of 10 -> 0 to 0.2775.
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=5e-4))
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_a_small_sample_is_not_significantly_above_a_baseline_that_a_large_one_is():
    assert not significantly_above(1, 10, baseline=0.05)  # 10% of 10: could be chance
    assert significantly_above(100, 1000, baseline=0.05)  # 10% of 1000: is not


@pytest.mark.django_db
def test_a_version_bouncing_well_above_its_campaign_is_flagged_and_a_normal_one_is_not():
    campaign = CampaignFactory()
    good, bad = PromptVersionFactory(name="good"), PromptVersionFactory(name="bad")
    good_messages = send_messages(campaign, 200, SENT, good)
    bad_messages = send_messages(campaign, 200, SENT, bad)
    for message in good_messages[:4]:
        bounce_for(message, category="hard", occurred_at=SENT)
    for message in bad_messages[:40]:
        bounce_for(message, category="hard", reason="spamdetected", status="5.7.1", occurred_at=SENT)
    rows = {row.prompt_version: row for row in prompt_version_compare()}
    assert rows["bad v1"].baseline_bounce_rate == pytest.approx(44 / 400)
    assert rows["bad v1"].bounce_flag and rows["bad v1"].flagged
    assert not rows["good v1"].bounce_flag
    assert rows["bad v1"].bounce.count == 40 and rows["bad v1"].bounce.sends == 200
    assert rows["bad v1"].content.count == 40
    low, high = rows["bad v1"].bounce.interval
    assert low < 0.2 < high
