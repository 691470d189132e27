"""The false-positive review queue: what is surfaced, reinstating in one step, the reported rate."""
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import ReviewDecision
from analytics.review import (
    false_positive_stats,
    suppression_confirm,
    suppression_flags,
    suppression_reinstate,
    suppression_review_queue,
)
from bounces.models import Suppression
from bounces.services import bounce_record, suppression_expire_due
from leads.models import Lead
from tests.analytics.factories import EngagementEventFactory
from tests.factories import LeadFactory, StaffFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def hard(email, *, at=None, **fields):
    fields = {"reason": "userunknown", "status": "5.1.1", "smtp_code": "550",
              "diagnostic": "550 5.1.1 User unknown", **fields}
    result = bounce_record(email=email, source="dsn", category="hard", occurred_at=at or timezone.now(), **fields)
    return result.suppression


def flags_of(email):
    return suppression_flags(Suppression.objects.get(email=email, lifted_at__isnull=True))


def test_a_plain_hard_bounce_is_not_surfaced():
    hard(LeadFactory(email="gone@example.com").email)
    assert list(suppression_review_queue()) == []


def test_a_delivery_after_the_bounce_contradicts_the_suppression():
    lead = LeadFactory(email="alive@example.com")
    at = timezone.now() - 3 * HOUR
    hard(lead.email, at=at)
    EngagementEventFactory(email=lead.email, lead=lead, event_type="opened", occurred_at=at - HOUR)  # before: no
    assert flags_of(lead.email) == []
    EngagementEventFactory(email=lead.email, lead=lead, event_type="delivered", occurred_at=at + HOUR)
    assert flags_of(lead.email) == ["contradicted"]


def test_a_complaint_is_not_contradicted_by_later_deliveries():
    lead = LeadFactory(email="angry@example.com")
    at = timezone.now() - 3 * HOUR
    bounce_record(email=lead.email, source="webhook", category="complaint", occurred_at=at)
    EngagementEventFactory(email=lead.email, event_type="delivered", occurred_at=at + HOUR)
    assert flags_of(lead.email) == []


def test_a_suppression_resting_only_on_soft_failures_is_surfaced(settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 2
    lead = LeadFactory(email="full@example.com")
    for minutes in (0, 10):
        bounce_record(email=lead.email, source="smtp", category="soft", reason="mailboxfull", status="4.2.2",
                      smtp_code="452", occurred_at=timezone.now() - timedelta(minutes=60 - minutes))
    assert flags_of(lead.email) == ["soft_only"]


@pytest.mark.parametrize("fields,flag", [
    ({"esp_event_type": "Undetermined", "reason": "", "esp_name": "amazon_ses"}, "undetermined"),
    ({"esp_event_type": "Permanent", "status": "4.2.2", "smtp_code": "452", "reason": "mailboxfull"}, "label_contradicts"),
    ({"esp_event_type": "Transient", "status": "5.1.1"}, "label_contradicts"),
    ({"status": "", "smtp_code": "", "diagnostic": "The account you tried to reach does not exist"}, "phrase_only"),
    ({"status": "5.7.1", "smtp_code": "554", "reason": "blocked", "diagnostic": "554 5.7.1 client host blocked"}, "reputation_block"),
])
def test_suppressions_of_doubtful_origin_are_surfaced_with_their_reason(fields, flag):
    lead = LeadFactory()
    hard(lead.email, **fields)
    assert flag in flags_of(lead.email)
    assert [s.email for s in suppression_review_queue()] == [lead.email]


def test_reinstating_lifts_in_one_step_and_leaves_an_audit_record():
    staff = StaffFactory(username="reviewer")
    lead = LeadFactory(email="blocked@example.com")
    suppression = hard(lead.email, status="5.7.1", reason="blocked", raw="Status: 5.7.1\nDiagnostic-Code: blocklist")
    with pytest.raises(ValueError):
        suppression_reinstate(suppression=suppression, note="", by=staff)

    decision = suppression_reinstate(suppression=suppression, note="our IP was listed, not their address", by=staff)

    suppression.refresh_from_db()
    lead.refresh_from_db()
    assert suppression.lifted_at is not None and suppression.lifted_by == staff
    assert "our IP was listed" in suppression.lift_reason
    assert lead.status == Lead.Status.ACTIVE
    assert (decision.kind, decision.flags, decision.by) == ("reinstated", ["reputation_block"], staff)
    assert list(suppression_review_queue()) == []


def test_confirming_keeps_the_suppression_and_takes_it_out_of_the_queue():
    suppression = hard(LeadFactory().email, status="5.7.1", reason="blocked")
    suppression_confirm(suppression=suppression, note="sender is fine; they block everyone", by=None)
    suppression.refresh_from_db()
    assert suppression.lifted_at is None
    assert list(suppression_review_queue()) == []


def test_the_false_positive_rate_counts_reinstated_and_contradicted_suppressions():
    at = timezone.now() - 5 * HOUR
    plain = [hard(LeadFactory().email, at=at) for _ in range(6)]
    contradicted_lead = LeadFactory()
    hard(contradicted_lead.email, at=at)
    EngagementEventFactory(email=contradicted_lead.email, event_type="replied", occurred_at=at + HOUR)
    reinstated = hard(LeadFactory().email, at=at, status="5.7.1", reason="blocked")
    suppression_reinstate(suppression=reinstated, note="blocklist", by=None)
    doubtful = hard(LeadFactory().email, at=at, status="", smtp_code="")
    Suppression.objects.create(email="manual@example.com", reason=Suppression.Reason.MANUAL)

    stats = false_positive_stats()

    assert (stats.suppressions, stats.false_positives, stats.doubtful) == (9, 2, 1)
    assert stats.rate == pytest.approx(2 / 9)
    assert plain and doubtful


def test_persistent_soft_suppressions_expire_and_hard_ones_never(settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 1
    settings.LOCKLINE_SOFT_SUPPRESSION_DAYS = 10
    soft = bounce_record(email="soft@example.com", source="smtp", category="soft", status="4.2.2").suppression
    permanent = hard("hard@example.com")
    assert suppression_expire_due(at=timezone.now() + timedelta(days=11)) == 1
    soft.refresh_from_db()
    permanent.refresh_from_db()
    assert soft.lifted_at is not None and permanent.lifted_at is None
    assert ReviewDecision.objects.count() == 0
