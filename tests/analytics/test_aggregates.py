"""Aggregates against a small history counted by hand."""
from datetime import datetime, timezone as tz

import pytest

from analytics.aggregates import metrics_by, metrics_total
from analytics.causes import address_caused, content_caused
from bounces.models import BounceEvent
from tests.analytics.factories import EngagementEventFactory, bounce_for
from tests.factories import CampaignFactory, LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 11, 2, 10, 0, tzinfo=tz.utc)
DAY2 = datetime(2026, 11, 3, 10, 0, tzinfo=tz.utc)
OPENED, CLICKED, REPLIED, DELIVERED = "opened", "clicked", "replied", "delivered"


@pytest.fixture
def history():
    """Campaign A (version 1): 4 sent + 1 queued; campaign B (version 2): 2 sent.

    Bounces: a1 hard userunknown (address), a3 hard 5.7.1 spamdetected (content), a4 soft twice
    and transient once, b1 complaint, b2 hard SES ContentRejected (content).
    Engagement: a2 delivered + opened twice + clicked; a4 delivered + opened; b1 delivered + replied.
    """
    a = CampaignFactory(name="A", sender_email="sales@send-a.test")
    b = CampaignFactory(name="B", sender_email="hello@send-b.test")
    m = {}
    for key, campaign, email, sent_at, source in [
        ("a1", a, "a1@x.test", DAY1, "list-1"), ("a2", a, "a2@x.test", DAY1, "list-1"),
        ("a3", a, "a3@y.test", DAY2, "list-2"), ("a4", a, "a4@y.test", DAY2, "list-2"),
        ("b1", b, "b1@x.test", DAY1, "list-1"), ("b2", b, "b2@z.test", DAY2, "list-2"),
    ]:
        m[key] = MessageFactory(campaign=campaign, lead=LeadFactory(email=email, source=source), sent_at=sent_at, state="sent")
    MessageFactory(campaign=a, lead=LeadFactory(email="a5@x.test"), sent_at=None)  # never sent
    bounce_for(m["a1"], category="hard", reason="userunknown", status="5.1.1", occurred_at=DAY1)
    bounce_for(m["a3"], category="hard", reason="spamdetected", status="5.7.1", smtp_code="554", occurred_at=DAY2)
    bounce_for(m["a4"], category="soft", reason="mailboxfull", status="4.2.2", occurred_at=DAY2)
    bounce_for(m["a4"], category="soft", reason="mailboxfull", status="4.2.2", occurred_at=DAY2)
    bounce_for(m["a4"], category="transient", reason="greylisting", status="4.7.1", occurred_at=DAY2)
    bounce_for(m["b1"], category="complaint", reason="feedback", status="", smtp_code="", occurred_at=DAY2)
    bounce_for(m["b2"], category="hard", reason="", status="5.3.0", esp_event_type="ContentRejected", occurred_at=DAY2)
    for key, kind in [("a2", DELIVERED), ("a2", OPENED), ("a2", OPENED), ("a2", CLICKED), ("a4", DELIVERED),
                      ("a4", OPENED), ("b1", DELIVERED), ("b1", REPLIED)]:
        EngagementEventFactory(message=m[key], event_type=kind, occurred_at=m[key].sent_at)
    return {"a": a, "b": b, **m}


def counts(metrics, *names):
    return {name: getattr(metrics, name) for name in names}


ALL = ("sends", "deliveries", "opens", "clicks", "replies", "hard", "soft", "transient", "complaints",
       "address_caused", "content_caused")


def test_metrics_per_campaign_match_the_hand_count(history):
    rows = {m.label: m for m in metrics_by("campaign")}
    assert counts(rows["A"], *ALL) == dict(zip(ALL, (4, 2, 2, 1, 0, 2, 2, 1, 0, 1, 1)))
    assert counts(rows["B"], *ALL) == dict(zip(ALL, (2, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1)))
    assert rows["A"].bounce_rate == 0.5  # hard bounces per send
    assert rows["B"].complaint_rate == 0.5
    assert rows["A"].rate_of("opens") == 0.5  # unique opens: a2 opened twice, counted once


def test_metrics_per_prompt_version_follow_the_messages_version(history):
    rows = {m.key[0]: m for m in metrics_by("prompt_version")}
    assert rows[history["a"].prompt_version_id].sends == 4
    assert rows[history["b"].prompt_version_id].content_caused == 1


def test_metrics_per_recipient_domain_match_the_hand_count(history):
    rows = {m.label: m for m in metrics_by("domain")}
    assert counts(rows["x.test"], "sends", "hard", "complaints", "deliveries", "opens") == {
        "sends": 3, "hard": 1, "complaints": 1, "deliveries": 2, "opens": 1}
    assert counts(rows["y.test"], "sends", "hard", "soft", "transient", "deliveries") == {
        "sends": 2, "hard": 1, "soft": 2, "transient": 1, "deliveries": 1}
    assert counts(rows["z.test"], "sends", "hard", "content_caused") == {"sends": 1, "hard": 1, "content_caused": 1}


def test_metrics_per_day_split_sends_and_events_by_their_own_day(history):
    rows = {m.label: m for m in metrics_by("day")}
    assert counts(rows["2026-11-02"], "sends", "hard", "deliveries") == {"sends": 3, "hard": 1, "deliveries": 2}
    assert counts(rows["2026-11-03"], "sends", "hard", "soft", "complaints") == {"sends": 3, "hard": 2, "soft": 2, "complaints": 1}


def test_dead_addresses_count_against_the_source_list_and_refusals_against_the_sending_domain(history):
    by_source = {m.label: m for m in metrics_by("source")}
    assert by_source["list-1"].address_caused == 1 and by_source["list-1"].content_caused == 0
    assert by_source["list-2"].address_caused == 0 and by_source["list-2"].content_caused == 2
    by_sender = {m.label: m for m in metrics_by("sending_domain")}
    assert by_sender["send-a.test"].content_caused == 1 and by_sender["send-a.test"].address_caused == 1
    assert by_sender["send-b.test"].content_caused == 1


def test_a_content_refusal_is_never_an_address_failure():
    both = BounceEvent.objects.filter(address_caused() & content_caused())
    assert "userunknown" in str(address_caused()) and not both.exists()
    event = bounce_for(MessageFactory(sent_at=DAY1), category="hard", reason="userunknown", status="5.7.1")
    # A 5.7.x refusal wins even when the text looked like an unknown user.
    assert BounceEvent.objects.filter(content_caused(), pk=event.pk).exists()
    assert not BounceEvent.objects.filter(address_caused(), pk=event.pk).exists()


def test_window_filters_are_half_open_and_totals_add_up(history):
    day2 = metrics_total(since=DAY2.replace(hour=0))
    assert (day2.sends, day2.hard) == (3, 2)
    whole = metrics_total()
    assert whole.sends == 6 and whole.bounces == 6 and whole.complaints == 1
    assert metrics_total(until=DAY1).sends == 0


def test_per_day_and_version_grouping_gives_one_row_per_pair(history):
    rows = metrics_by("day", "prompt_version")
    assert sum(m.sends for m in rows) == 6
    assert len({m.key for m in rows}) == len(rows)


def test_an_unknown_dimension_is_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="prompt_version"):
        metrics_by("colour")


def test_rates_are_none_without_sends_rather_than_zero():
    assert metrics_total().bounce_rate is None
