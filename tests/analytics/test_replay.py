"""The recorded history replayed under the naive policy and under Lockline's."""
import io
from datetime import datetime, timedelta, timezone as tz

import pytest
from django.core.management import call_command

from analytics.replay import suppression_replay
from tests.analytics.factories import EngagementEventFactory
from tests.factories import BounceEventFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=tz.utc)


def bounce(email, category, hours):
    BounceEventFactory(email=email, category=category, occurred_at=T0 + timedelta(hours=hours))


def life(email, kind, hours):
    EngagementEventFactory(email=email, event_type=kind, occurred_at=T0 + timedelta(hours=hours))


@pytest.fixture
def recorded_history(settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 3
    settings.LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS = 7
    bounce("greylisted@x.test", "transient", 0)
    life("greylisted@x.test", "delivered", 1)  # naive: wrong
    for hours in (0, 24, 48):
        bounce("full@x.test", "soft", hours)  # both policies suppress on the third
    life("full@x.test", "delivered", 100)  # both wrong
    bounce("dead@x.test", "hard", 0)  # both suppress, both right
    bounce("once@x.test", "soft", 0)
    life("once@x.test", "opened", 5)  # naive: wrong
    bounce("angry@x.test", "complaint", 0)
    life("angry@x.test", "delivered", 3)  # a complaint is never a false positive
    # A delivery between soft failures resets the count: Lockline never suppresses.
    bounce("reset@x.test", "soft", 0)
    bounce("reset@x.test", "soft", 10)
    life("reset@x.test", "delivered", 20)
    bounce("reset@x.test", "soft", 30)
    life("reset@x.test", "delivered", 40)  # naive: wrong


def test_replay_counts_suppressions_and_false_positives_under_both_policies(recorded_history):
    result = suppression_replay()
    assert (result.naive.suppressions, result.naive.false_positives) == (6, 4)
    assert (result.lockline.suppressions, result.lockline.false_positives) == (3, 1)
    assert result.naive.by_category == {"transient": 1, "soft": 3, "hard": 1, "complaint": 1}
    assert result.lockline.by_category == {"soft": 1, "hard": 1, "complaint": 1}
    assert result.reduction == pytest.approx(0.75)
    assert result.events == 16


def test_replay_respects_the_period(recorded_history):
    result = suppression_replay(since=T0 + timedelta(hours=60))
    assert result.naive.suppressions == 0 and result.events == 1  # only full@x.test delivered at 100h


def test_soft_failures_older_than_the_window_do_not_add_up(settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 2
    settings.LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS = 1
    bounce("slow@x.test", "soft", 0)
    bounce("slow@x.test", "soft", 30)
    assert suppression_replay().lockline.suppressions == 0
    bounce("slow@x.test", "soft", 40)
    assert suppression_replay().lockline.suppressions == 1


def test_an_empty_history_reports_no_reduction_rather_than_a_made_up_one():
    result = suppression_replay()
    assert result.reduction is None and result.naive.false_positive_rate is None


def test_the_replay_command_prints_both_policies_side_by_side(recorded_history):
    out = io.StringIO()
    call_command("replay_suppressions", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "16 events replayed"
    assert lines[2].split()[-3:] == ["6", "4", "66.7%"]
    assert lines[3].split()[-3:] == ["3", "1", "33.3%"]
    assert lines[4] == "reduction in false positives: 75.0%"
