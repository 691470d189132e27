"""How each ESP's own labels become our categories: documented payloads through the real endpoints."""

import pytest

from bounces.models import BounceEvent, EngagementEvent, FlaggedWebhookEvent, Suppression
from tests.webhook_support import (
    brevo_event, esp_settings, mailersend_event, mailgun_failed, mailgun_legacy, mailjet_bounce, now_epoch, only_bounce,
    post, post_form, post_mailersend, post_resend, post_sns, postmark_bounce, resend_bounce, sendgrid_event, ses_bounce,
    ses_event, sns_envelope, unisender_body,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("esp_settings")]
Category = BounceEvent.Category
assert esp_settings  # the fixture is used through usefixtures


# --- 1. A 4.x.x status is never permanent, whatever the ESP's label ---------------------------------

@pytest.mark.parametrize("status", ["4.4.7", "4.0.0", "4.2.2", "4.7.1"])
def test_ses_permanent_with_an_enhanced_4_x_x_status_is_soft_and_suppresses_nothing(client, status):
    post_sns(client, sns_envelope(ses_bounce(bounce_type="Permanent", subtype="General", status=status,
                                             diagnostic=f"smtp; 451 {status} try again later")))
    event = only_bounce()
    assert (event.category, event.esp_category, event.status) == (Category.SOFT, Category.HARD, status)
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("message", ["4.0.0 Temporary failure", "4.4.7 Delivery time expired", "4.2.2 Mailbox full"])
def test_mailgun_permanent_failure_with_an_enhanced_4_x_x_status_is_soft(client, message):
    post(client, "/anymail/mailgun/tracking/", mailgun_failed("alice@example.com", code=452, message=message))
    event = only_bounce()
    assert (event.category, event.esp_category) == (Category.SOFT, Category.HARD)
    assert not Suppression.objects.exists()


def test_mailgun_permanent_failure_with_a_bare_4xx_reply_keeps_the_esp_label(client):
    post(client, "/anymail/mailgun/tracking/", mailgun_failed("alice@example.com", code=421, message="Service busy"))
    assert only_bounce().category == Category.HARD


# --- 2. Mailgun's legacy (form-encoded) webhooks ------------------------------------------------------

MAILGUN = "/anymail/mailgun/tracking/"


@pytest.mark.parametrize("event, fields, category, suppressed", [
    ("bounced", dict(code=550, error="5.1.1 The email account that you tried to reach does not exist",
                     notification=""), Category.HARD, True),
    ("bounced", dict(code=552, error="5.2.2 Mailbox full", notification=""), Category.SOFT, False),
    ("dropped", dict(reason="hardfail", code=605, description="Not delivering to previously bounced address"),
     Category.HARD, True),
    ("dropped", dict(reason="hardfail", code=606, description="Not delivering to unsubscribed address"),
     Category.UNSUBSCRIBE, True),
    ("dropped", dict(reason="hardfail", code=607, description="Not delivering to a user who marked you as spam"),
     Category.COMPLAINT, True),
    ("dropped", dict(reason="old", description="Too old"), Category.SOFT, False),
    ("dropped", dict(reason="maxfails", description="Too many soft bounces"), Category.SOFT, False),
    ("complained", dict(), Category.COMPLAINT, True),
    ("unsubscribed", dict(), Category.UNSUBSCRIBE, True),
])
def test_mailgun_legacy_events_are_classified_end_to_end(client, event, fields, category, suppressed):
    response = post_form(client, MAILGUN, mailgun_legacy(event, "alice@example.com", **fields))
    assert response.status_code == 200, response.content
    assert not FlaggedWebhookEvent.objects.exists()
    stored = only_bounce()
    assert (stored.category, stored.esp_event_type) == (category, f"legacy/{event}")
    assert Suppression.objects.active().filter(email="alice@example.com").exists() == suppressed


def test_mailgun_legacy_temporary_severity_is_transient(client):
    post_form(client, MAILGUN, mailgun_legacy("bounced", code=421, error="4.4.1 try later", severity="temporary"))
    assert only_bounce().category == Category.TRANSIENT


def test_mailgun_legacy_delivery_is_engagement(client):
    assert post_form(client, MAILGUN, mailgun_legacy("delivered")).status_code == 200
    assert EngagementEvent.objects.get().event_type == "delivered"
    assert not FlaggedWebhookEvent.objects.exists()


def test_a_mailgun_legacy_event_redelivered_with_a_new_signature_is_one_event(client):
    fields = dict(code=550, error="5.1.1 no such user", notification="")
    first = post_form(client, MAILGUN, mailgun_legacy("bounced", timestamp=now_epoch() - 600, **fields))
    again = post_form(client, MAILGUN, mailgun_legacy("bounced", **fields))
    assert (first.status_code, again.status_code) == (200, 200)
    assert "1 duplicates" in again.content.decode()
    assert BounceEvent.objects.count() == 1
    other = post_form(client, MAILGUN, mailgun_legacy("bounced", "bob@example.com", **fields))
    assert other.status_code == 200 and BounceEvent.objects.count() == 2


# --- 3. Amazon SES: subscriptions, delays, not-spam feedback ------------------------------------------

def ses_subscription(email="recipient@example.com", *, unsubscribe_all=True):
    # SES's documented "Subscription" event (event publishing, subscription object).
    return ses_event("Subscription", email, subscription={
        "contactList": "ContactListName", "timestamp": "2022-01-12T01:00:14.340Z", "source": "UnsubscribeHeader",
        "newTopicPreferences": {"unsubscribeAll": unsubscribe_all, "topicSubscriptionStatus": [
            {"topicName": "ExampleTopicName", "subscriptionStatus": "OptOut"}]},
        "oldTopicPreferences": {"unsubscribeAll": False, "topicSubscriptionStatus": [
            {"topicName": "ExampleTopicName", "subscriptionStatus": "OptOut"}]}})


def test_an_ses_subscription_event_with_unsubscribe_all_suppresses_the_address(client):
    assert post_sns(client, sns_envelope(ses_subscription())).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (Category.UNSUBSCRIBE, "Subscription/unsubscribeAll")
    assert Suppression.objects.active().filter(email="recipient@example.com").exists()


def test_an_ses_topic_preference_change_is_ignored(client):
    assert post_sns(client, sns_envelope(ses_subscription(unsubscribe_all=False))).status_code == 200
    assert not BounceEvent.objects.exists() and not FlaggedWebhookEvent.objects.exists()


def test_an_ses_delivery_delay_counts_only_for_its_delayed_recipients(client):
    delay = ses_event("DeliveryDelay", "slow@example.com", deliveryDelay={
        "delayType": "TransientCommunicationFailure", "expirationTime": "2020-06-01T20:00:00.000Z",
        "delayedRecipients": [{"emailAddress": "Slow@example.com", "status": "4.4.1",
                               "diagnosticCode": "smtp; 421 4.4.1 Unable to connect"}],
        "timestamp": "2020-06-01T00:00:00.000Z", "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"})
    delay["mail"]["destination"] = ["slow@example.com", "fine@example.com"]
    assert post_sns(client, sns_envelope(delay)).status_code == 200
    event = only_bounce()
    assert (event.email, event.category, event.status) == ("slow@example.com", Category.TRANSIENT, "4.4.1")


def test_an_ses_not_spam_feedback_report_is_not_a_complaint(client):
    feedback = ses_event("Complaint", complaint={"complainedRecipients": [{"emailAddress": "recipient@example.com"}],
                                                  "complaintFeedbackType": "not-spam", "feedbackId": "x"})
    assert post_sns(client, sns_envelope(feedback)).status_code == 200
    assert not BounceEvent.objects.exists() and not Suppression.objects.exists()
    assert not FlaggedWebhookEvent.objects.exists()


# --- 4. Postmark: spam notifications and DMARC rejections ---------------------------------------------

@pytest.mark.parametrize("bounce_type, type_code, category", [
    ("SpamNotification", 512, Category.SOFT),  # a filter at the receiver, not a person's complaint
    ("DMARCPolicy", 100009, Category.TRANSIENT),  # our domain's authentication, not the address
    ("HardBounce", 1, Category.HARD),
    ("SpamComplaint", 512, Category.COMPLAINT),
])
def test_postmark_bounce_types_follow_postmarks_reference(client, bounce_type, type_code, category):
    body = {**postmark_bounce(bounce_type=bounce_type, details="smtp; 550 rejected"), "TypeCode": type_code}
    assert post(client, "/anymail/postmark/tracking/", body).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (category, f"Bounce/{bounce_type}")
    assert Suppression.objects.exists() == (category in (Category.HARD, Category.COMPLAINT))


# --- 5. SendGrid dropped reasons ----------------------------------------------------------------------

@pytest.mark.parametrize("reason, category", [
    ("Bounced Address", Category.HARD),
    ("BOUNCED ADDRESS: previously bounced", Category.HARD),
    ("Unsubscribed Address", Category.UNSUBSCRIBE),
    ("unsubscribed address (group 10)", Category.UNSUBSCRIBE),
    ("Spam Reporting Address", Category.COMPLAINT),
    ("Spam Reporting Address: reported by the recipient", Category.COMPLAINT),
    ("Invalid", Category.HARD),
    ("Invalid SMTPAPI header", Category.TRANSIENT),
    ("Spam Content (if spam checker app enabled)", Category.TRANSIENT),
    ("Recipient List over Package Quota", Category.TRANSIENT),
])
def test_sendgrid_dropped_reasons_match_case_insensitively_by_prefix(client, reason, category):
    event = sendgrid_event("x@example.com", event="dropped", reason=reason, status="5.0.0")
    assert post(client, "/anymail/sendgrid/tracking/", [event]).status_code == 200
    assert only_bounce().category == category


# --- 6. Brevo ---------------------------------------------------------------------------------------

def test_a_brevo_marketing_unsubscribed_event_suppresses_the_address(client):
    # Brevo's marketing webhook payload: a campaign id and list ids, no message id.
    body = {"id": 1, "camp_id": 45, "email": "example@domain.com", "campaign name": "My First Campaign",
            "date_sent": "2020-10-09 00:00:00", "date_event": "2020-10-09 00:00:00", "event": "unsubscribed",
            "tag": "", "ts_sent": now_epoch(), "ts_event": now_epoch(), "list_id": [3, 42]}
    transactional = brevo_event("unsubscribed", "other@domain.com", reason="")
    for event in (body, transactional):
        assert post(client, "/anymail/brevo/tracking/", event).status_code == 200
    assert set(BounceEvent.objects.values_list("email", "category")) == {
        ("example@domain.com", Category.UNSUBSCRIBE), ("other@domain.com", Category.UNSUBSCRIBE)}
    assert Suppression.objects.active().count() == 2 and not FlaggedWebhookEvent.objects.exists()


# --- 7. Mailjet's error table ----------------------------------------------------------------------

@pytest.mark.parametrize("event, related, error, hard, category", [
    ("bounce", "recipient", "user unknown", True, Category.HARD),
    ("bounce", "recipient", "mailbox inactive", False, Category.HARD),
    ("bounce", "recipient", "quota exceeded", True, Category.SOFT),
    ("blocked", "recipient", "blacklisted", False, Category.UNSUBSCRIBE),
    ("blocked", "recipient", "spam reporter", False, Category.COMPLAINT),
    ("bounce", "domain", "invalid domain", True, Category.HARD),
    ("bounce", "domain", "no mail host", True, Category.HARD),
    ("bounce", "domain", "no mail host", False, Category.SOFT),
    ("bounce", "domain", "relay/access denied", False, Category.SOFT),
    ("bounce", "domain", "greylisted", False, Category.TRANSIENT),
    ("blocked", "content", "error in template language", False, Category.TRANSIENT),
    ("blocked", "spam", "content blocked", True, Category.SOFT),
    ("blocked", "spam", "sender blocked", False, Category.SOFT),
    ("bounce", "system", "connection issue", True, Category.TRANSIENT),
    ("blocked", "mailjet", "preblocked", False, Category.HARD),
])
def test_mailjet_errors_map_by_mailjets_table(client, event, related, error, hard, category):
    body = {**mailjet_bounce("a@example.com", hard=hard, error=error), "event": event,
            "error_related_to": related, "blocked": event == "blocked"}
    assert post(client, "/anymail/mailjet/tracking/", [body]).status_code == 200
    stored = only_bounce()
    assert (stored.category, stored.esp_event_type) == (category, f"{event}/{related}/{error}")


def test_a_mailjet_duplicate_in_campaign_is_ignored(client):
    body = {**mailjet_bounce("a@example.com", hard=False, error="duplicate in campaign"), "event": "blocked",
            "error_related_to": "mailjet"}
    assert post(client, "/anymail/mailjet/tracking/", [body]).status_code == 200
    assert not BounceEvent.objects.exists() and not FlaggedWebhookEvent.objects.exists()


# --- 8. Unisender Go's delivery_status ------------------------------------------------------------

@pytest.mark.parametrize("status, delivery_status, response, category", [
    ("hard_bounced", "err_user_unknown", "550 5.1.1 Mailbox does not exist", Category.HARD),
    ("hard_bounced", "err_user_inactive", "", Category.HARD),
    ("hard_bounced", "err_domain_inactive", "", Category.HARD),
    ("hard_bounced", "err_skip_letter", "", Category.HARD),
    ("hard_bounced", "err_unsubscribed", "", Category.UNSUBSCRIBE),
    ("hard_bounced", "err_spam_skipped", "", Category.COMPLAINT),
    ("soft_bounced", "err_will_retry", "451 4.7.1 Try again later", Category.TRANSIENT),
    ("hard_bounced", "err_mailbox_full", "", Category.SOFT),
    ("hard_bounced", "err_over_quota", "", Category.SOFT),
    ("hard_bounced", "err_unreachable", "", Category.SOFT),
    ("hard_bounced", "err_spam_rejected", "", Category.SOFT),
    ("hard_bounced", "err_spam_folder", "", Category.SOFT),
    ("hard_bounced", "err_blacklisted", "", Category.SOFT),
    ("hard_bounced", "err_delivery_failed", "", Category.SOFT),
    ("hard_bounced", "err_too_large", "", Category.TRANSIENT),
    ("hard_bounced", "err_not_allowed", "", Category.TRANSIENT),
    ("hard_bounced", "err_lost", "", Category.TRANSIENT),
    ("hard_bounced", "err_internal", "", Category.TRANSIENT),
    ("hard_bounced", "err_something_new", "", Category.HARD),
])
def test_unisender_go_delivery_status_decides_the_category(client, status, delivery_status, response, category):
    body = unisender_body(status=status, delivery_status=delivery_status, response=response)
    assert post(client, "/anymail/unisender_go/tracking/", body).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (category, f"{status}/{delivery_status}")


# --- 9. MailerSend ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, category", [
    ("deferred", Category.TRANSIENT), ("soft_bounced", Category.SOFT), ("hard_bounced", Category.HARD),
])
def test_mailersend_deferred_is_transient(client, kind, category):
    body = mailersend_event(kind)
    body["data"]["morph"] = {"object": "recipient_bounce", "reason": "Temporary failure, will retry"}
    assert post_mailersend(client, body).status_code == 200
    assert (only_bounce().category, only_bounce().esp_event_type) == (category, kind)


@pytest.mark.parametrize("kind", ["survey_opened", "survey_submitted"])
def test_mailersend_survey_events_are_ignored_not_flagged(client, kind):
    body = mailersend_event(kind)
    body["data"]["morph"] = {"object": "survey", "id": "abc"}
    response = post_mailersend(client, body)
    assert response.status_code == 200 and "1 ignored" in response.content.decode()
    assert not BounceEvent.objects.exists() and not FlaggedWebhookEvent.objects.exists()


# --- 10. Resend -------------------------------------------------------------------------------------

def resend_event(kind, email="delivered@resend.dev", **data):
    body = resend_bounce(email)
    del body["data"]["bounce"]
    return {**body, "type": kind, "data": {**body["data"], **data}}


def test_a_resend_suppressed_email_is_a_hard_bounce(client):
    body = resend_event("email.suppressed", suppressed={
        "message": "Resend has suppressed sending to this address because it is on the suppression list.",
        "type": "OnAccountSuppressionList"})
    assert post_resend(client, body).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (Category.HARD, "email.suppressed")
    assert Suppression.objects.active().filter(email="delivered@resend.dev").exists()


@pytest.mark.parametrize("reason, category", [
    ("reached_daily_quota", Category.TRANSIENT),
    ("invalid_api_key", Category.TRANSIENT),
    ("domain_not_verified", Category.TRANSIENT),
    ("invalid_recipient", Category.HARD),
])
def test_a_resend_failed_email_is_labelled_by_its_reason(client, reason, category):
    assert post_resend(client, resend_event("email.failed", failed={"reason": reason})).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (category, f"failed/{reason}")
