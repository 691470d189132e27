"""The staff pages: dashboard, review queue, CSV exports, guard actions in the admin."""
import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import GuardAction, ReviewDecision
from bounces.models import Suppression
from bounces.services import bounce_record
from campaigns.models import Campaign, PromptVersion
from tests.analytics.factories import EngagementEventFactory
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, PromptVersionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def some_history():
    message = MessageFactory(sent_at=timezone.now(), state="sent", lead=LeadFactory(email="x@dead.test"))
    bounce_record(email=message.to_email, source="dsn", category="hard", reason="userunknown", status="5.1.1",
                  message=message, raw="Final-Recipient: rfc822; x@dead.test\nStatus: 5.1.1")
    blocked = MessageFactory(sent_at=timezone.now(), state="sent", lead=LeadFactory(email="y@blocked.test"))
    bounce_record(email=blocked.to_email, source="dsn", category="hard", reason="blocked", status="5.7.1",
                  message=blocked, raw="Diagnostic-Code: smtp; 554 5.7.1 listed at a DNSBL")
    EngagementEventFactory(message=MessageFactory(sent_at=timezone.now()), event_type="opened")
    return message


def test_the_dashboard_shows_its_charts_to_staff(staff_client, some_history):
    response = staff_client.get(reverse("analytics:dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="ll-chart"') == 5
    assert 'data-chart="line"' in body and 'data-chart="bar"' in body
    assert "dead.test" in body and "Hard bounce" in body  # domain chart and reasons chart
    assert "<script" not in body.split('id="ll-dashboard"')[1]  # drawn on the server


def test_the_dashboard_is_linked_from_the_admin_index(staff_client):
    body = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("analytics:dashboard") in body and reverse("analytics:review") in body


@pytest.mark.parametrize("name", ["dashboard", "review"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(f"analytics:{name}"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_non_staff_users_cannot_see_the_dashboard(client):
    client.force_login(UserFactory(username="visitor"))
    assert client.get(reverse("analytics:dashboard")).status_code == 302


def test_the_dashboard_accepts_only_its_periods(staff_client):
    assert staff_client.get(reverse("analytics:dashboard"), {"days": "7"}).context["days"] == 7
    assert staff_client.get(reverse("analytics:dashboard"), {"days": "x"}).context["days"] == 30
    assert staff_client.get(reverse("analytics:dashboard"), {"days": "3650"}).context["days"] == 30


def test_the_review_queue_shows_raw_evidence_and_reinstates_in_one_step(staff_client, some_history):
    body = staff_client.get(reverse("analytics:review")).content.decode()
    assert "y@blocked.test" in body and "listed at a DNSBL" in body
    assert "x@dead.test" not in body  # a plain user-unknown is not doubtful
    suppression = Suppression.objects.get(email="y@blocked.test")
    response = staff_client.post(reverse("analytics:review_decide", args=[suppression.pk]),
                                 {"decision": "reinstate", "note": "our IP was on a blocklist"})
    assert response.status_code == 302
    suppression.refresh_from_db()
    assert suppression.lifted_at is not None and suppression.lifted_by.username == "staff"
    assert ReviewDecision.objects.get(suppression=suppression).flags == ["reputation_block"]


def test_a_decision_without_a_note_changes_nothing(staff_client, some_history):
    suppression = Suppression.objects.get(email="y@blocked.test")
    staff_client.post(reverse("analytics:review_decide", args=[suppression.pk]), {"decision": "reinstate", "note": ""})
    suppression.refresh_from_db()
    assert suppression.lifted_at is None and not ReviewDecision.objects.exists()


@pytest.mark.parametrize("name,expected", [
    ("leads", "x@dead.test"), ("bounce_events", "5.7.1"), ("suppressions", "y@blocked.test"),
])
def test_full_table_csv_exports_stream_every_row(staff_client, some_history, name, expected):
    response = staff_client.get(reverse("analytics:export", args=[name]))
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "id" and len(rows) > 2
    assert expected in text


def test_csv_export_of_an_unknown_table_is_not_found(staff_client):
    assert staff_client.get(reverse("analytics:export", args=["users"])).status_code == 404


def test_admin_export_action_streams_only_the_selected_rows(staff_client, some_history):
    suppression = Suppression.objects.get(email="x@dead.test")
    response = staff_client.post(reverse("admin:bounces_suppression_changelist"),
                                 {"action": "export_csv", "_selected_action": [suppression.pk]})
    text = b"".join(response.streaming_content).decode()
    assert "x@dead.test" in text and "y@blocked.test" not in text


def test_evidence_on_a_suppression_shows_the_raw_dsn(staff_client, some_history):
    suppression = Suppression.objects.get(email="x@dead.test")
    body = staff_client.get(reverse("admin:bounces_suppression_change", args=[suppression.pk])).content.decode()
    assert "Final-Recipient: rfc822; x@dead.test" in body


def test_pausing_and_resuming_a_prompt_version_from_the_admin_is_recorded(staff_client):
    version = PromptVersionFactory()
    url = reverse("admin:campaigns_promptversion_changelist")
    staff_client.post(url, {"action": "pause", "_selected_action": [version.pk], "confirmed": "1", "reason": "spammy subject"})
    version.refresh_from_db()
    assert version.paused_at is not None and "spammy subject" in version.paused_reason
    staff_client.post(url, {"action": "resume", "_selected_action": [version.pk], "confirmed": "1", "reason": "rewritten"})
    version.refresh_from_db()
    assert version.paused_at is None
    assert list(GuardAction.objects.filter(prompt_version=version).values_list("kind", flat=True).order_by("created_at", "pk")) == ["paused", "resumed"]
    assert PromptVersion.objects.count() == 1


def test_resuming_a_campaign_from_the_admin_is_recorded_for_the_guard(staff_client):
    campaign = CampaignFactory(status=Campaign.Status.PAUSED, launched_at=timezone.now())
    staff_client.post(reverse("admin:campaigns_campaign_changelist"),
                      {"action": "resume", "_selected_action": [campaign.pk], "confirmed": "1", "reason": "checked"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert GuardAction.objects.get(campaign=campaign).reason == "checked"


@pytest.mark.parametrize("model", ["guardaction", "reviewdecision"])
def test_audit_records_are_listed_read_only(staff_client, model):
    assert staff_client.get(reverse(f"admin:analytics_{model}_changelist")).status_code == 200
    assert staff_client.get(reverse(f"admin:analytics_{model}_add")).status_code == 403
