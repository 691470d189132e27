import html
import json

import pytest
from django.urls import reverse

from bounces.models import InboundMail, Suppression
from campaigns.models import Campaign
from tests.factories import (
    BounceEventFactory,
    CampaignFactory,
    LeadFactory,
    MessageFactory,
    SuppressionFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    ("leads", "lead", LeadFactory),
    ("leads", "tag", TagFactory),
    ("campaigns", "promptversion", lambda: CampaignFactory().prompt_version),
    ("campaigns", "campaign", CampaignFactory),
    ("campaigns", "message", MessageFactory),
    ("bounces", "bounceevent", BounceEventFactory),
    ("bounces", "suppression", lambda: SuppressionFactory(bounce_event=BounceEventFactory(raw="Status: 5.1.1"))),
]


@pytest.mark.parametrize("app,model,factory", MODELS)
def test_staff_see_every_changelist_and_change_form(staff_client, app, model, factory):
    obj = factory()
    changelist = staff_client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert changelist.status_code == 200
    assert str(obj).split(" ")[0] in changelist.content.decode()
    change = staff_client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))
    assert change.status_code == 200


@pytest.mark.parametrize("app,model,factory", MODELS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, app, model, factory):
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_changelist_filters_work(staff_client):
    BounceEventFactory(category="soft", reason="mailboxfull", email="full@example.org", recipient_domain="example.org")
    BounceEventFactory(category="hard", reason="userunknown")
    url = reverse("admin:bounces_bounceevent_changelist")
    response = staff_client.get(url, {"category": "soft", "recipient_domain": "example.org"})
    assert response.status_code == 200
    assert [event.email for event in response.context["cl"].result_list] == ["full@example.org"]


def test_suppression_evidence_is_shown_read_only(staff_client):
    event = BounceEventFactory(raw="Final-Recipient: rfc822; gone@example.com\nStatus: 5.1.1")
    suppression = SuppressionFactory(email="gone@example.com", bounce_event=event)
    body = staff_client.get(reverse("admin:bounces_suppression_change", args=[suppression.pk])).content.decode()
    assert "Final-Recipient: rfc822; gone@example.com" in body
    assert 'name="email"' not in body  # evidence is not an input


def test_an_esp_events_compact_json_evidence_is_shown_indented_and_a_dsn_as_stored(staff_client):
    raw = json.dumps({"event": "bounce", "reason": "550 5.1.1 <gone@example.com>: unknown", "n": [1, 2]},
                     separators=(",", ":"))
    event = BounceEventFactory(raw=raw, email="gone@example.com")
    suppression = SuppressionFactory(email="gone@example.com", bounce_event=event)
    for url in (reverse("admin:bounces_suppression_change", args=[suppression.pk]),
                reverse("admin:bounces_bounceevent_change", args=[event.pk])):
        body = html.unescape(staff_client.get(url).content.decode())
        assert '\n  "event": "bounce",\n  "reason": "550 5.1.1 <gone@example.com>: unknown",' in body
        assert raw not in body
        assert 'name="raw"' not in body  # evidence is not an input
    not_json = BounceEventFactory(raw="{not json: 5.1.1")
    body = html.unescape(staff_client.get(reverse("admin:bounces_bounceevent_change", args=[not_json.pk])).content.decode())
    assert ">{not json: 5.1.1</pre>" in body


def test_an_inbound_bounce_mail_is_shown_as_received_and_read_only(staff_client):
    mail = InboundMail.objects.create(digest="d" * 64, raw=b"From: MAILER-DAEMON\r\n\r\n550 5.1.1 <gone@example.com>",
                                      origin="file", status=InboundMail.Status.NEEDS_REVIEW)
    body = html.unescape(staff_client.get(reverse("admin:bounces_inboundmail_change", args=[mail.pk])).content.decode())
    assert "raw message" in body and "From: MAILER-DAEMON\r\n\r\n550 5.1.1 <gone@example.com></pre>" in body
    assert 'name="raw"' not in body and 'name="digest"' not in body


def test_lifting_a_suppression_asks_for_confirmation_and_a_reason(staff_client):
    suppression = SuppressionFactory(email="lift@example.com")
    url = reverse("admin:bounces_suppression_changelist")
    data = {"action": "lift", "_selected_action": [suppression.pk]}
    confirm = staff_client.post(url, data)
    assert confirm.status_code == 200 and b"Yes, lift suppressions" in confirm.content
    suppression.refresh_from_db()
    assert suppression.lifted_at is None  # nothing happens before confirmation

    missing_reason = staff_client.post(url, {**data, "confirmed": "1", "reason": ""})
    assert b"This field is required" in missing_reason.content
    suppression.refresh_from_db()
    assert suppression.lifted_at is None

    done = staff_client.post(url, {**data, "confirmed": "1", "reason": "lead replied from this address"})
    assert done.status_code == 302
    suppression.refresh_from_db()
    assert suppression.lifted_at is not None
    assert suppression.lift_reason == "lead replied from this address"
    assert suppression.lifted_by.username == "staff"
    assert Suppression.objects.filter(email="lift@example.com").count() == 1  # kept, not deleted


def test_pausing_and_resuming_a_campaign_goes_through_confirmation(staff_client):
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    url = reverse("admin:campaigns_campaign_changelist")
    data = {"action": "pause", "_selected_action": [campaign.pk]}
    assert b"Yes, pause campaigns" in staff_client.post(url, data).content
    staff_client.post(url, {**data, "confirmed": "1", "reason": "complaint spike"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED and "complaint spike" in campaign.status_reason

    staff_client.post(url, {"action": "resume", "_selected_action": [campaign.pk], "confirmed": "1", "reason": "fixed"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT  # never launched, so back to draft


def test_anonymous_users_cannot_run_admin_actions(client):
    suppression = SuppressionFactory()
    response = client.post(
        reverse("admin:bounces_suppression_changelist"),
        {"action": "lift", "_selected_action": [suppression.pk], "confirmed": "1", "reason": "x"},
    )
    assert response.status_code == 302
    suppression.refresh_from_db()
    assert suppression.lifted_at is None
