from datetime import timedelta

import random

import pytest
from django.utils import timezone
from freezegun import freeze_time

from bounces.models import BounceEvent, Suppression
from bounces import services
from bounces.services import (
    SuppressionRequest, bounce_record, suppression_create, suppression_create_many, suppression_expire_due,
    suppression_lift,
)
from leads.models import Lead
from tests.factories import BounceEventFactory, CampaignFactory, LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
Category = BounceEvent.Category


def record(email, category, **kwargs):
    return bounce_record(email=email, source=BounceEvent.Source.DSN, category=category, **kwargs)


def test_a_hard_bounce_suppresses_the_lead_and_marks_the_message_bounced():
    message = MessageFactory(state="sent")
    result = record(message.to_email, Category.HARD, message=message, status="5.1.1", reason="userunknown")
    assert result.created and result.suppression.reason == Suppression.Reason.HARD_BOUNCE
    assert result.suppression.bounce_event == result.event
    message.refresh_from_db()
    assert message.state == "bounced"
    assert Lead.objects.get(pk=message.lead_id).status == Lead.Status.SUPPRESSED
    assert result.event.campaign_id == message.campaign_id
    assert result.event.prompt_version_id == message.prompt_version_id


def test_the_same_bounce_recorded_twice_is_one_event():
    first = record("a@example.com", Category.HARD, dedupe_key="dsn:abc")
    second = record("a@example.com", Category.HARD, dedupe_key="dsn:abc")
    assert first.created and not second.created
    assert second.event.pk == first.event.pk
    assert BounceEvent.objects.count() == 1
    assert Suppression.objects.count() == 1


@pytest.mark.parametrize("category", [Category.COMPLAINT, Category.UNSUBSCRIBE])
def test_complaints_and_unsubscribes_suppress_at_once(category):
    result = record("b@example.com", category)
    assert result.suppression is not None and result.suppression.expires_at is None


def test_transient_failures_never_suppress():
    for minute in range(10):
        record("c@example.com", Category.TRANSIENT, occurred_at=timezone.now() + timedelta(minutes=minute))
    assert not Suppression.objects.exists()


def test_soft_bounces_suppress_only_when_they_persist_within_the_window(settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 3
    settings.LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS = 7
    start = timezone.now()
    assert record("d@example.com", Category.SOFT, occurred_at=start).suppression is None
    assert record("d@example.com", Category.SOFT, occurred_at=start + timedelta(days=1)).suppression is None
    third = record("d@example.com", Category.SOFT, occurred_at=start + timedelta(days=2))
    assert third.suppression.reason == Suppression.Reason.PERSISTENT_SOFT
    assert third.suppression.expires_at is not None


def test_soft_bounces_older_than_the_window_start_the_count_again(settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 3
    settings.LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS = 7
    start = timezone.now() - timedelta(days=30)
    record("e@example.com", Category.SOFT, occurred_at=start)
    record("e@example.com", Category.SOFT, occurred_at=start + timedelta(days=1))
    result = record("e@example.com", Category.SOFT, occurred_at=start + timedelta(days=20))
    assert result.suppression is None


def test_a_successful_delivery_resets_the_soft_count(settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 2
    lead = LeadFactory(email="f@example.com")
    start = timezone.now() - timedelta(days=3)
    record(lead.email, Category.SOFT, occurred_at=start)
    Lead.objects.filter(pk=lead.pk).update(last_delivered_at=start + timedelta(hours=1))
    assert record(lead.email, Category.SOFT, occurred_at=start + timedelta(days=1)).suppression is None


def test_soft_counts_in_one_statement_agree_with_the_rule_written_out():
    """PostgreSQL counts soft failures in one statement; SQLite (make run) with three queries and
    the count in Python. Both, run here on PostgreSQL, give the same counts for addresses with
    and without leads, deliveries, sent messages and failures inside, outside and on the edges
    of the window."""
    rng = random.Random(20261129)
    start = timezone.now() - timedelta(days=30)
    moments = [start + timedelta(days=day, hours=hour) for day in range(30) for hour in (0, 7, 13)]
    first, second, third = CampaignFactory(), CampaignFactory(), CampaignFactory()
    emails = [f"soft{i}@example.com" for i in range(8)]
    latest_sent = {}
    for i, email in enumerate(emails):
        if i % 4 == 3:
            continue  # an address that is no lead (an ESP reported a recipient we never imported)
        if i % 2 == 0:
            LeadFactory(email=email, last_delivered_at=rng.choice([None, *moments]))
            continue
        # Two messages still `sent` (deliveries: the later one counts) and a later one that
        # bounced (no delivery); the lead's own delivery time unknown or before them.
        sent_at = latest_sent[email] = moments[36 + 3 * i]
        lead = LeadFactory(email=email, last_delivered_at=None if i == 1 else sent_at - timedelta(days=2))
        MessageFactory(campaign=first, lead=lead, state="sent", sent_at=sent_at - timedelta(days=1))
        MessageFactory(campaign=second, lead=lead, state="sent", sent_at=sent_at)
        MessageFactory(campaign=third, lead=lead, state="bounced", sent_at=sent_at + timedelta(days=3))
    window = timedelta(days=7)
    at = [(email, moment) for email in emails for moment in rng.sample(moments[30:], 12)]
    delivered = dict(Lead.objects.values_list("email", "last_delivered_at"))
    for email, moment in at:
        # Failures on the edges (at the moment, at the window's start, at a delivery, at and
        # just before the latest send) and anywhere; some of other categories, which never count.
        sent = latest_sent.get(email, moment)
        edges = [moment, moment - window, delivered.get(email) or moment, sent, sent - timedelta(hours=12)]
        for occurred_at in rng.sample(edges, 3) + [rng.choice(moments), rng.choice(moments)]:
            BounceEventFactory(email=email, occurred_at=occurred_at,
                               category=rng.choice([Category.SOFT, Category.SOFT, Category.HARD, Category.TRANSIENT]))
    written_out = services._soft_bounce_counts_orm(at, window)
    assert services._soft_bounce_counts_sql(at, window) == written_out
    assert any(written_out) and not all(written_out)  # the scenarios reach both answers


def test_a_complaint_during_a_temporary_suppression_makes_it_permanent():
    suppression_create(email="g@example.com", reason=Suppression.Reason.PERSISTENT_SOFT,
                       expires_at=timezone.now() + timedelta(days=5))
    result = record("g@example.com", Category.COMPLAINT)
    assert result.suppression.reason == Suppression.Reason.COMPLAINT
    assert result.suppression.expires_at is None
    assert Suppression.objects.filter(email="g@example.com").count() == 2


def test_one_batch_settles_new_and_already_suppressed_addresses_by_the_same_rule():
    """New addresses are inserted at once; addresses with a stored suppression keep it or have
    it replaced, and requests for one address apply in order, as one request at a time would."""
    now = timezone.now()
    Reason = Suppression.Reason
    permanent = suppression_create(email="kept@example.com", reason=Reason.HARD_BOUNCE)
    temporary = suppression_create(email="temp@example.com", reason=Reason.PERSISTENT_SOFT,
                                   expires_at=now + timedelta(days=5))
    lapsed = suppression_create(email="lapsed@example.com", reason=Reason.PERSISTENT_SOFT,
                                expires_at=now + timedelta(days=5))
    Suppression.objects.filter(pk=lapsed.pk).update(expires_at=now - timedelta(minutes=1))
    results = suppression_create_many(requests=[
        SuppressionRequest(email="New@example.com", reason=Reason.PERSISTENT_SOFT, expires_at=now + timedelta(days=5)),
        SuppressionRequest(email="kept@example.com", reason=Reason.UNSUBSCRIBE),
        SuppressionRequest(email="temp@example.com", reason=Reason.COMPLAINT),
        SuppressionRequest(email="lapsed@example.com", reason=Reason.PERSISTENT_SOFT,
                           expires_at=now + timedelta(days=5)),
        SuppressionRequest(email="new@example.com", reason=Reason.COMPLAINT),
    ])
    new_temp, kept, replaced, renewed, new_final = results
    assert kept == permanent  # the first evidence stands
    assert replaced.reason == Reason.COMPLAINT and replaced.pk != temporary.pk
    assert renewed.pk != lapsed.pk and renewed.expires_at > now
    assert new_temp == new_final and new_final.reason == Reason.COMPLAINT and new_final.expires_at is None
    assert set(Suppression.objects.active().values_list("email", "reason")) == {
        ("kept@example.com", Reason.HARD_BOUNCE), ("temp@example.com", Reason.COMPLAINT),
        ("lapsed@example.com", Reason.PERSISTENT_SOFT), ("new@example.com", Reason.COMPLAINT),
    }
    assert dict(Suppression.objects.filter(lifted_at__isnull=False).values_list("pk", "lift_reason")) == {
        temporary.pk: "superseded by complaint", lapsed.pk: "expired",
    }


def test_lifting_keeps_history_and_reactivates_the_lead(staff_user):
    lead = LeadFactory(email="h@example.com")
    suppression = record(lead.email, Category.HARD).suppression
    with pytest.raises(ValueError):
        suppression_lift(suppression=suppression, reason="  ")
    suppression_lift(suppression=suppression, reason="typo fixed by the lead", by=staff_user)
    suppression.refresh_from_db()
    assert suppression.lifted_by == staff_user and suppression.lift_reason == "typo fixed by the lead"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ACTIVE


def test_expired_soft_suppressions_are_lifted_by_the_sweep():
    lead = LeadFactory(email="i@example.com")
    suppression_create(email=lead.email, reason=Suppression.Reason.PERSISTENT_SOFT,
                       expires_at=timezone.now() + timedelta(days=1))
    assert suppression_expire_due() == 0
    with freeze_time(timezone.now() + timedelta(days=2)):
        assert suppression_expire_due() == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ACTIVE
    assert not Suppression.objects.active().exists()


@pytest.mark.parametrize("parts", [
    ["webhook", "SendGrid", "a@example.com", "bounce:bounce", "<m1@x>", "5.1.1", "", "2024-01-01T00:00:00+00:00"],
    ["dsn", "", 'q"uo\\te@exa\tmple.com', "hard", "ünï ✓ 🙂 \ud800", "", "550", ""],
    ["", "", "", "", "", "", "", ""],
    ["webhook", None, "a@example.com", "x", 42, "", "", ""],  # not all text: json.dumps itself
])
def test_dedupe_keys_are_digests_of_exactly_what_json_dumps_writes(parts):
    """Stored keys must not change between versions, or a redelivery after an upgrade would be
    recorded twice: the fast path writes the same text as json.dumps."""
    import json

    from bounces.services import _json_list

    assert _json_list(parts) == json.dumps(parts)


def test_dedupe_keys_keep_each_timestamps_own_offset():
    from datetime import datetime, timezone

    from bounces.services import bounce_dedupe_key

    utc = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    keys = [bounce_dedupe_key(source="dsn", email="a@example.com", category="hard", occurred_at=at)
            for at in (utc, paris, utc)]
    assert keys[0] == keys[2] != keys[1]  # as before: the key digests the timestamp as written
