"""Each ESP's documented payloads, posted through Django's test client to Anymail's URLs."""
import json

import pytest

from bounces.models import BounceEvent, EngagementEvent, FlaggedWebhookEvent, Suppression
from leads.models import Lead
from tests.factories import LeadFactory, MessageFactory
from tests.webhook_support import (
    AUTH, MANDRILL_URL, brevo_event, esp_settings, mailersend_event, mailersend_signature, mailgun_delivered,
    mailgun_failed, mailjet_bounce, mailtrap_bounce, mandrill_body, mandrill_hard_bounce, only_bounce, post, post_sns,
    postal_failed, postal_signature, postmark_bounce, postmark_delivery, resend_bounce, resend_headers,
    sendgrid_batch, sendgrid_event, ses_bounce, ses_event, sns_envelope, sparkpost_bounce, unisender_body,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("esp_settings")]
Category = BounceEvent.Category
assert esp_settings  # the fixture is used through usefixtures


def test_a_sendgrid_batch_records_each_event_by_what_it_is(client):
    lead = LeadFactory(email="example@test.com")
    response = post(client, "/anymail/sendgrid/tracking/", sendgrid_batch())
    assert response.status_code == 200, response.content
    by_type = {e.esp_event_type: e.category for e in BounceEvent.objects.all()}
    assert by_type == {
        "deferred": Category.TRANSIENT,
        "bounce/bounce": Category.HARD,
        "dropped/Bounced Address": Category.HARD,
        "spamreport": Category.COMPLAINT,
        "unsubscribe": Category.UNSUBSCRIBE,
        "group_unsubscribe": Category.UNSUBSCRIBE,
    }
    assert sorted(EngagementEvent.objects.values_list("event_type", flat=True)) == ["clicked", "delivered", "opened"]
    assert Suppression.objects.active().filter(email="example@test.com").count() == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUPPRESSED and lead.last_delivered_at is not None


def test_a_sendgrid_blocked_bounce_is_soft_even_with_a_generic_5_0_0(client):
    post(client, "/anymail/sendgrid/tracking/", [sendgrid_event("x@example.com", type="blocked", status="5.0.0",
                                                                  reason="550 blocked by policy")])
    event = only_bounce()
    assert (event.category, event.esp_category) == (Category.SOFT, Category.SOFT)
    assert not Suppression.objects.exists()


def test_mailgun_permanent_failure_is_hard_and_temporary_is_transient(client):
    assert post(client, "/anymail/mailgun/tracking/", mailgun_failed("alice@example.com")).status_code == 200
    assert post(client, "/anymail/mailgun/tracking/", mailgun_failed(
        "bob@example.com", severity="temporary", code=452, message="4.2.2 Mailbox full")).status_code == 200
    hard = BounceEvent.objects.get(email="alice@example.com")
    assert (hard.category, hard.status, hard.smtp_code) == (Category.HARD, "5.1.1", "550")
    assert hard.esp_event_type == "failed/permanent/bounce"
    assert BounceEvent.objects.get(email="bob@example.com").category == Category.TRANSIENT
    assert list(Suppression.objects.values_list("email", flat=True)) == ["alice@example.com"]


def test_mailgun_delivery_is_engagement_and_resets_the_soft_count(client):
    lead = LeadFactory(email="alice@example.com")
    assert post(client, "/anymail/mailgun/tracking/", mailgun_delivered("alice@example.com")).status_code == 200
    assert EngagementEvent.objects.get().event_type == "delivered"
    lead.refresh_from_db()
    assert lead.last_delivered_at is not None


@pytest.mark.parametrize("bounce_type, category", [
    ("HardBounce", Category.HARD), ("SoftBounce", Category.SOFT), ("Transient", Category.TRANSIENT),
    ("SpamNotification", Category.SOFT),
])
def test_postmark_bounce_types_map_to_our_categories(client, bounce_type, category):
    response = post(client, "/anymail/postmark/tracking/", postmark_bounce(bounce_type=bounce_type, details="x"))
    assert response.status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (category, f"Bounce/{bounce_type}")


def test_postmark_soft_bounce_with_a_specific_permanent_code_is_hard_and_both_verdicts_are_kept(client):
    post(client, "/anymail/postmark/tracking/", postmark_bounce(bounce_type="SoftBounce"))
    event = only_bounce()
    assert (event.category, event.esp_category, event.status) == (Category.HARD, Category.SOFT, "5.1.1")


def test_postmark_delivery_is_kept_for_analytics(client):
    message = MessageFactory(to_email="john@example.com", lead=LeadFactory(email="john@example.com"),
                             esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483")
    assert post(client, "/anymail/postmark/tracking/", postmark_delivery()).status_code == 200
    engagement = EngagementEvent.objects.get()
    assert (engagement.message, engagement.campaign_id, engagement.prompt_version_id) == (
        message, message.campaign_id, message.prompt_version_id)


def test_ses_permanent_bounce_through_sns_suppresses(client):
    response = post_sns(client, sns_envelope(ses_bounce()))
    assert response.status_code == 200, response.content
    event = only_bounce()
    assert (event.category, event.esp_event_type, event.status) == (Category.HARD, "Permanent/General", "5.1.1")
    assert Suppression.objects.filter(email="recipient@example.com").exists()


@pytest.mark.parametrize("status, category", [("5.4.4", Category.HARD), ("5.3.0", Category.HARD),
                                              ("4.4.7", Category.SOFT), ("", Category.SOFT)])
def test_ses_transient_is_classified_by_its_status_code_first(client, status, category):
    post_sns(client, sns_envelope(ses_bounce(bounce_type="Transient", subtype="General", status=status,
                                             diagnostic="smtp; 554 unable to route" if status else "")))
    event = only_bounce()
    assert (event.category, event.esp_category) == (category, Category.SOFT)


def test_ses_delivery_delay_complaint_and_delivery(client):
    delay = ses_event("DeliveryDelay", deliveryDelay={"delayType": "MailboxFull", "delayedRecipients": [
        {"emailAddress": "recipient@example.com", "status": "4.2.2", "diagnosticCode": "smtp; 452 4.2.2 full"}]})
    complaint = ses_event("Complaint", complaint={"complainedRecipients": [{"emailAddress": "recipient@example.com"}],
                                                   "complaintFeedbackType": "abuse"})
    delivery = ses_event("Delivery", delivery={"recipients": ["recipient@example.com"], "smtpResponse": "250 ok"})
    for message in (delay, complaint, delivery):
        assert post_sns(client, sns_envelope(message)).status_code == 200
    assert sorted(BounceEvent.objects.values_list("category", flat=True)) == [Category.COMPLAINT, Category.TRANSIENT]
    assert EngagementEvent.objects.get().event_type == "delivered"


def test_mailjet_hard_and_soft_bounces(client):
    body = [mailjet_bounce("a@example.com", hard=True), mailjet_bounce("b@example.com", hard=False, error="quota exceeded")]
    assert post(client, "/anymail/mailjet/tracking/", body).status_code == 200
    assert dict(BounceEvent.objects.values_list("email", "category")) == {"a@example.com": "hard", "b@example.com": "soft"}


@pytest.mark.parametrize("event, category", [("hard_bounce", Category.HARD), ("soft_bounce", Category.SOFT),
                                             ("deferred", Category.TRANSIENT), ("spam", Category.COMPLAINT),
                                             ("unsubscribe", Category.UNSUBSCRIBE)])
def test_brevo_events(client, event, category):
    assert post(client, "/anymail/brevo/tracking/", brevo_event(event, reason="")).status_code == 200
    assert only_bounce().category == category


def test_resend_signed_bounce(client):
    body = json.dumps(resend_bounce())
    assert post(client, "/anymail/resend/tracking/", body, **resend_headers(body)).status_code == 200
    assert only_bounce().category == Category.HARD
    unsigned = post(client, "/anymail/resend/tracking/", json.dumps(resend_bounce("other@resend.dev")))
    assert unsigned.status_code == 400 and BounceEvent.objects.count() == 1


def test_resend_transient_bounce_is_soft(client):
    body = json.dumps(resend_bounce(bounce_type="Transient", subtype="MailboxFull"))
    post(client, "/anymail/resend/tracking/", body, **resend_headers(body))
    assert only_bounce().category == Category.SOFT


def test_sparkpost_bounce_class_10_is_hard_and_ping_events_are_skipped(client):
    assert post(client, "/anymail/sparkpost/tracking/", sparkpost_bounce()).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type, event.status) == (Category.HARD, "bounce/10", "5.1.1")


def test_sparkpost_block_class_is_soft(client):
    post(client, "/anymail/sparkpost/tracking/", sparkpost_bounce(bounce_class="50"))
    # 5.1.1 in the reason wins over the block class: status first.
    assert only_bounce().esp_category == Category.SOFT


def test_mandrill_signed_hard_bounce(client):
    body, signature = mandrill_body([mandrill_hard_bounce()])
    response = client.post("/anymail/mandrill/tracking/", body, content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=AUTH,
                           HTTP_X_MANDRILL_SIGNATURE=signature)
    assert response.status_code == 200, response.content
    assert only_bounce().esp_event_type == "hard_bounce/bad_mailbox"
    assert MANDRILL_URL


def test_mailersend_signed_hard_bounce(client):
    body = json.dumps(mailersend_event())
    assert post(client, "/anymail/mailersend/tracking/", body, HTTP_SIGNATURE=mailersend_signature(body)).status_code == 200
    assert only_bounce().category == Category.HARD


def test_postal_signed_delivery_failure(client):
    body = json.dumps(postal_failed())
    assert post(client, "/anymail/postal/tracking/", body, HTTP_X_POSTAL_SIGNATURE=postal_signature(body)).status_code == 200
    event = only_bounce()
    assert (event.category, event.status) == (Category.HARD, "5.1.1")


def test_mailtrap_bounce(client):
    assert post(client, "/anymail/mailtrap/tracking/", mailtrap_bounce()).status_code == 200
    event = only_bounce()
    assert (event.category, event.smtp_code) == (Category.HARD, "550")


def test_unisender_go_signed_hard_bounce(client):
    assert post(client, "/anymail/unisender_go/tracking/", unisender_body()).status_code == 200
    assert only_bounce().category == Category.HARD


def test_an_event_type_nobody_knows_is_flagged_not_lost(client):
    response = post(client, "/anymail/brevo/tracking/", brevo_event("brand_new_event"))
    assert response.status_code == 200
    flagged = FlaggedWebhookEvent.objects.get()
    assert "brand_new_event" in flagged.problem and "brand_new_event" in flagged.raw
    assert not BounceEvent.objects.exists()


def test_a_recipient_without_a_local_part_or_domain_is_flagged_not_stored(client):
    # recipients as a string, not a list: Anymail makes one event per character, one of them "@".
    delivery = ses_event("Delivery", delivery={"recipients": "recipient@example.com", "smtpResponse": "250 ok"})
    assert post_sns(client, sns_envelope(delivery)).status_code == 200
    assert not EngagementEvent.objects.exists()
    assert "no usable recipient" in FlaggedWebhookEvent.objects.get().problem
