"""The featured-lead rule: weights, recency, exclusions, the tag and the admin order."""
from datetime import datetime, timedelta, timezone as tz

import pytest
from django.urls import reverse
from freezegun import freeze_time

from analytics.featured import lead_feature_all
from analytics.tasks import lead_feature_all as lead_feature_all_task
from bounces.models import Suppression
from leads.models import Lead, Tag
from tests.analytics.factories import EngagementEventFactory
from tests.factories import BounceEventFactory, LeadFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 2, 30, tzinfo=tz.utc)


@pytest.fixture(autouse=True)
def weights(settings):
    settings.LOCKLINE_FEATURED_WEIGHT_OPEN = 1
    settings.LOCKLINE_FEATURED_WEIGHT_CLICK = 3
    settings.LOCKLINE_FEATURED_WEIGHT_REPLY = 10
    settings.LOCKLINE_FEATURED_WINDOW_DAYS = 30
    settings.LOCKLINE_FEATURED_RECENT_DAYS = 7
    settings.LOCKLINE_FEATURED_MIN_SCORE = 6


def engage(lead, kind, days_ago):
    EngagementEventFactory(lead=lead, email=lead.email, event_type=kind, occurred_at=NOW - timedelta(days=days_ago))


@pytest.fixture
def leads():
    made = {name: LeadFactory(email=f"{name}@example.com") for name in
            ("replier", "recent", "stale", "suppressed", "bounced", "ancient", "was_featured", "refused")}
    engage(made["replier"], "replied", 20)  # 10
    engage(made["recent"], "opened", 2)  # (1 + 3) x 2 = 8
    engage(made["recent"], "clicked", 2)
    engage(made["recent"], "delivered", 2)  # deliveries weigh nothing
    engage(made["stale"], "opened", 20)  # 1 + 3 = 4: below 6
    engage(made["stale"], "clicked", 20)
    engage(made["suppressed"], "replied", 1)
    Suppression.objects.create(email="suppressed@example.com", reason="complaint")
    engage(made["bounced"], "replied", 1)
    BounceEventFactory(lead=made["bounced"], email="bounced@example.com", category="hard")
    engage(made["ancient"], "replied", 40)  # outside the 30-day window
    # Once refused as spam (the content's fault, not the lead's; staff reinstated the address).
    engage(made["refused"], "replied", 1)
    BounceEventFactory(lead=made["refused"], email="refused@example.com", category="hard", reason="spamdetected",
                       status="5.7.1")
    made["was_featured"].featured_at = NOW - timedelta(days=3)
    made["was_featured"].save()
    made["was_featured"].tags.add(Tag.objects.get_or_create(name=Tag.FEATURED)[0])
    return made


@freeze_time(NOW)
def test_scores_follow_the_documented_weights_and_recency(leads):
    lead_feature_all()
    scores = dict(Lead.objects.values_list("email", "engagement_score"))
    assert scores == {
        "replier@example.com": 10, "recent@example.com": 8, "stale@example.com": 4,
        "suppressed@example.com": 20, "bounced@example.com": 20, "ancient@example.com": 0,
        "was_featured@example.com": 0, "refused@example.com": 20,
    }


@freeze_time(NOW)
def test_only_engaged_clean_leads_are_tagged_featured_and_the_rest_lose_the_tag(leads):
    result = lead_feature_all()
    featured = set(Lead.objects.filter(tags__name=Tag.FEATURED).values_list("email", flat=True))
    assert featured == {"replier@example.com", "recent@example.com", "refused@example.com"}
    assert set(Lead.objects.filter(featured_at__isnull=False).values_list("email", flat=True)) == featured
    assert (result.featured, result.added, result.removed) == (3, 3, 1)


@freeze_time(NOW)
def test_running_again_changes_nothing_and_keeps_the_first_featured_time(leads):
    lead_feature_all_task()
    first = dict(Lead.objects.filter(featured_at__isnull=False).values_list("email", "featured_at"))
    with freeze_time(NOW + timedelta(hours=1)):
        result = lead_feature_all()
    assert dict(Lead.objects.filter(featured_at__isnull=False).values_list("email", "featured_at")) == first
    assert (result.added, result.removed) == (0, 0)


@freeze_time(NOW)
def test_the_admin_lists_featured_leads_first(leads, staff_client):
    LeadFactory(email="newest@example.com")
    lead_feature_all()
    response = staff_client.get(reverse("admin:leads_lead_changelist"))
    emails = [lead.email for lead in response.context["cl"].result_list]
    assert emails[:3] == ["refused@example.com", "replier@example.com", "recent@example.com"]  # by score
    only = staff_client.get(reverse("admin:leads_lead_changelist"), {"featured": "yes"})
    assert len(only.context["cl"].result_list) == 3


@freeze_time(NOW)
def test_each_kind_of_engagement_counts_once_per_message():
    """SparkPost reports one open as initial_open and open, Brevo as unique_opened and opened:
    the lead opened the message once. Opening two messages is two opens."""
    from tests.factories import MessageFactory

    twice_reported = MessageFactory()
    for label, days_ago in (("initial_open", 2), ("open", 2), ("open", 20)):
        EngagementEventFactory(message=twice_reported, event_type="opened", esp_event_type=label,
                               occurred_at=NOW - timedelta(days=days_ago))
    EngagementEventFactory(message=twice_reported, event_type="clicked", occurred_at=NOW - timedelta(days=20))
    reader = LeadFactory(email="reader@example.com")
    for _ in range(2):
        EngagementEventFactory(message=MessageFactory(lead=reader, to_email=reader.email), event_type="opened",
                               occurred_at=NOW - timedelta(days=20))
    lead_feature_all()
    assert Lead.objects.get(pk=twice_reported.lead_id).engagement_score == 1 * 2 + 3  # the latest open is recent
    assert Lead.objects.get(pk=reader.pk).engagement_score == 2
