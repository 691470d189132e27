import pytest
from django.core.management import call_command

from analytics.aggregates import metrics_total
from bounces.models import BounceEvent, EngagementEvent, Suppression
from campaigns.models import Message
from leads.models import Lead

pytestmark = pytest.mark.django_db


def snapshot():
    return (Message.objects.count(), BounceEvent.objects.count(), EngagementEvent.objects.count(),
            Suppression.objects.count(), Lead.objects.filter(featured_at__isnull=False).count())


def test_seed_history_makes_30_days_of_history_once(capsys):
    call_command("seed_history")
    first = snapshot()
    call_command("seed_history")
    assert snapshot() == first
    total = metrics_total()
    assert total.sends > 500 and total.hard > 0 and total.content_caused > 0 and total.complaints > 0
    assert total.opens > 0 and total.replies > 0
    assert first[3] > 0 and first[4] > 0  # suppressions through the real policy, featured leads
    # Nothing was sent to an address after it was suppressed.
    for suppression in Suppression.objects.filter(reason="hard_bounce", bounce_event__message__isnull=False):
        later = Message.objects.filter(to_email=suppression.email, sent_at__gt=suppression.bounce_event.occurred_at)
        assert not later.exists()
