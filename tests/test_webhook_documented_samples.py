"""The ESPs' documented sample payloads (as django-anymail's tests and the ESPs' docs give them)
that the other webhook tests do not already carry, posted through the real endpoints. Timestamps
are made current, as everywhere in these tests: the samples' own dates are years old."""
import json
import time
import uuid

import pytest
from django.urls import reverse

from bounces.models import BounceCategory as Category
from bounces.models import BounceEvent, FlaggedWebhookEvent, Suppression
from tests.webhook_support import (
    esp_settings, mailgun_sign, mailtrap_bounce, now_epoch, now_iso, only_bounce, post, post_resend, postal_failed,
    postal_signature, post_sns, sendgrid_event, sns_envelope, sparkpost_bounce,
)

pytestmark = [pytest.mark.usefixtures("esp_settings"), pytest.mark.django_db]
assert esp_settings


# --- Resend: email.bounced without a bounce type ----------------------------------------------
# Resend's docs: email.bounced "occurs whenever the recipient's mail server permanently rejected
# the email". Its earlier posts (the samples django-anymail captured) carry only a message.

def resend_untyped_bounce(email: str, message: str) -> dict:
    return {"created_at": now_iso(), "type": "email.bounced", "data": {
        "bounce": {"message": message}, "created_at": now_iso(), "email_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "from": "Sender <from@example.com>", "subject": "Sending test", "to": [email]}}


def test_a_resend_bounce_without_a_type_is_a_hard_bounce(client):
    message = ("The recipient's email provider sent a hard bounce message, but didn't specify the reason for the "
               "hard bounce. We recommend removing the recipient's email address from your mailing list.")
    response = post_resend(client, resend_untyped_bounce("bounced@resend.dev", message))
    assert response.status_code == 200, response.content
    event = BounceEvent.objects.get()
    assert (event.category, event.esp_category, event.esp_event_type) == (Category.HARD, Category.HARD, "bounced//")
    assert not FlaggedWebhookEvent.objects.exists()


def test_a_resend_bounce_typed_transient_or_undetermined_stays_soft(client):
    for n, bounce_type in enumerate(("Transient", "Undetermined")):
        body = resend_untyped_bounce(f"soft{n}@resend.dev", "The recipient's mailbox is full.")
        body["data"]["bounce"].update(type=bounce_type, subType="MailboxFull")
        assert post_resend(client, body).status_code == 200
    assert set(BounceEvent.objects.values_list("category", flat=True)) == {Category.SOFT}


# --- SparkPost: event classes that are not about our mail -------------------------------------
# SparkPost's webhook event types include inbound relay, A/B test and bulk ingest events (its
# event samples); a webhook subscribed to all events posts them beside the message events.

def sparkpost_other_events(ts: str) -> list[dict]:
    common = {"customer_id": "1", "subaccount_id": "101", "timestamp": ts}
    return [
        {"msys": {"relay_event": {**common, "type": "relay_injection", "event_id": "12345678901234567890",
                                  "relay_id": "my-relay", "msg_from": "me@here.com", "rcpt_to": "you@there.com",
                                  "origination": "1.2.3.4", "ingest_ip": "5.6.7.8"}}},
        {"msys": {"relay_event": {**common, "type": "relay_delivery", "event_id": "12345678901234567891",
                                  "relay_id": "my-relay", "msg_from": "me@here.com", "rcpt_to": "you@there.com",
                                  "origination": "1.2.3.4", "webhook_id": "wh-1"}}},
        {"msys": {"ab_test_event": {**common, "type": "ab_test_completed", "event_id": "12345678901234567892",
                                    "ab_test": {"id": "password-reset", "name": "Password Reset", "version": 1,
                                                "test_mode": "bayesian", "winning_template_id": "fancy-template"}}}},
        {"msys": {"ingest_event": {**common, "type": "success", "event_id": "12345678901234567893",
                                   "batch_id": "032d330540298f54f0e8bcc1373f3cfd", "number_succeeded": 10,
                                   "expiration_timestamp": ts}}},
    ]


def test_sparkpost_relay_ab_test_and_ingest_events_are_ignored_not_flagged(client):
    body = sparkpost_other_events(str(now_epoch())) + [{"msys": {}}]
    response = post(client, "/anymail/sparkpost/tracking/", body)
    assert response.status_code == 200, response.content
    assert "4 ignored, 0 flagged" in response.content.decode()
    assert not (FlaggedWebhookEvent.objects.exists() or BounceEvent.objects.exists())


def test_an_unknown_sparkpost_event_class_is_still_flagged(client):
    body = [{"msys": {"future_event": {"type": "something_new", "event_id": "1", "timestamp": str(now_epoch()),
                                       "rcpt_to": "someone@example.com"}}}]
    assert post(client, "/anymail/sparkpost/tracking/", body).status_code == 200
    assert FlaggedWebhookEvent.objects.get().esp_event_type == "something_new"


# --- Brevo: the marketing webhooks' contact events ---------------------------------------------
# Brevo's "Marketing webhooks" page documents Contact Updated and Contact Deleted beside the email
# events; a marketing webhook subscribed to them posts them to the same URL.

def brevo_contact_event(event: str) -> dict:
    body = {"id": 1, "email": "example@domain.com", "event": event, "key": "xxxxxxxx",
            "date": "2020-10-09 00:00:00", "ts": now_epoch()}
    if event == "contact_updated":
        body["content"] = [{"email": "example@domain.com", "FIRSTNAME": "John", "LASTNAME": "Doe"}]
    return body


@pytest.mark.parametrize("event", ["contact_updated", "contact_deleted"])
def test_brevo_marketing_contact_events_are_ignored_not_flagged(client, event):
    response = post(client, "/anymail/brevo/tracking/", brevo_contact_event(event))
    assert response.status_code == 200, response.content
    assert "1 ignored, 0 flagged" in response.content.decode()
    assert not (FlaggedWebhookEvent.objects.exists() or BounceEvent.objects.exists())


# --- Resend: contact and domain events ---------------------------------------------------------
# Resend's event types include contact.created/updated/deleted (audience contacts) and
# domain.created/updated/deleted beside the email events; its changelog's contact.updated sample
# is the one to "store ... when the user unsubscribes".

def resend_contact(kind: str, *, unsubscribed: bool) -> dict:
    return {"type": kind, "created_at": now_iso(), "data": {
        "id": "e169aa45-1ecf-4183-9955-b1499d5701d3", "audience_id": "78261eea-8f8b-4381-83c6-79fa7120f1cf",
        "created_at": now_iso(), "updated_at": now_iso(), "email": "steve.wozniak@gmail.com",
        "first_name": "Steve", "last_name": "Wozniak", "unsubscribed": unsubscribed}}


def resend_domain(kind: str) -> dict:
    return {"type": kind, "created_at": now_iso(), "data": {
        "id": "d91cd9bd-1176-453e-8fc1-35364d380206", "name": "example.com", "status": "not_started",
        "created_at": now_iso(), "region": "us-east-1", "records": [
            {"record": "SPF", "name": "send", "type": "MX", "ttl": "Auto", "status": "not_started",
             "value": "feedback-smtp.us-east-1.amazonses.com", "priority": 10}]}}


def test_a_resend_contact_updated_as_unsubscribed_unsubscribes_that_address(client):
    response = post_resend(client, resend_contact("contact.updated", unsubscribed=True))
    assert response.status_code == 200, response.content
    event = BounceEvent.objects.get()
    assert (event.email, event.category, event.esp_event_type) == (
        "steve.wozniak@gmail.com", Category.UNSUBSCRIBE, "contact.updated/unsubscribed")
    assert not FlaggedWebhookEvent.objects.exists()


@pytest.mark.parametrize("body", [
    resend_contact("contact.created", unsubscribed=False), resend_contact("contact.updated", unsubscribed=False),
    resend_contact("contact.deleted", unsubscribed=False), resend_domain("domain.created"),
    resend_domain("domain.updated"), resend_domain("domain.deleted"),
], ids=lambda body: body["type"] + ("/unsubscribed" if body["data"].get("unsubscribed") else ""))
def test_resend_contact_and_domain_events_are_ignored_not_flagged(client, body):
    response = post_resend(client, body)
    assert response.status_code == 200, response.content
    assert "1 ignored, 0 flagged" in response.content.decode()
    assert not (FlaggedWebhookEvent.objects.exists() or BounceEvent.objects.exists())


# --- Resend: inbound mail posted to the tracking URL ------------------------------------------
# Resend's email.received sample (its inbound mail): like the other ESPs' inbound posts on a
# tracking URL, a configuration error the ESP's dashboard shows (400), with the body kept.

def test_a_resend_email_received_event_on_the_tracking_url_is_a_400_and_kept(client):
    body = {"type": "email.received", "created_at": now_iso(), "data": {
        "email_id": "56761188-7520-42d8-8898-ff6fc54ce618", "created_at": now_iso(),
        "from": "Acme <onboarding@resend.dev>", "to": ["delivered@resend.dev"], "cc": [], "bcc": [],
        "message_id": "<example+123>", "subject": "Sending this example", "attachments": []}}
    response = post_resend(client, body)
    assert response.status_code == 400
    assert b"*inbound* (email.received)" in response.content
    flagged = FlaggedWebhookEvent.objects.get()
    assert flagged.esp_name == "Resend" and json.loads(flagged.raw)["type"] == "email.received"
    assert not BounceEvent.objects.exists()


# --- Mailgun: mailing-list upload events ------------------------------------------------------
# Mailgun's event types include list_member_uploaded, list_member_upload_error and list_uploaded
# (changes to a Mailgun mailing list); the fields are those Mailgun's own clients read.

def mailgun_list_event(event: str) -> dict:
    data = {"event": event, "id": "ncV2XwymRUKbPek_MIM-Gw", "timestamp": time.time(), "log-level": "info",
            "mailing-list": {"address": "devs@example.com", "list-id": "devs@example.com", "sid": "a1b2c3"},
            "task-id": {"id": "4f8a3c"}}
    if event != "list_uploaded":
        data["member"] = {"address": "member@example.com", "name": "Member", "subscribed": True, "vars": {}}
    if event == "list_member_upload_error":
        data["error"] = "invalid address"
    return mailgun_sign({"event-data": data})


@pytest.mark.parametrize("event", ["list_member_uploaded", "list_member_upload_error", "list_uploaded"])
def test_mailgun_mailing_list_upload_events_are_ignored_not_flagged(client, event):
    response = post(client, "/anymail/mailgun/tracking/", mailgun_list_event(event))
    assert response.status_code == 200, response.content
    assert "1 ignored, 0 flagged" in response.content.decode()
    assert not (FlaggedWebhookEvent.objects.exists() or BounceEvent.objects.exists())


# --- Account alerts: events about our sending account, not a recipient ------------------------
# SendGrid's "Account status change" event (its compliance team suspended or reactivated the
# account) and Postal's server-wide webhooks (send limit near or passed, the domain's DNS wrong).
# No recipient is at fault, so nothing is suppressed; a person reads them among the flagged.

def test_a_sendgrid_account_status_change_is_flagged_as_an_account_alert(client):
    body = [{"event": "account_status_change", "sg_event_id": "MjEzNTg5OTcyOC10ZXJtaW5hdGUtMTcwNzg1MTUzMQ",
             "timestamp": now_epoch(), "type": "compliance_suspend"}]
    response = post(client, "/anymail/sendgrid/tracking/", body)
    assert response.status_code == 200, response.content
    flagged = FlaggedWebhookEvent.objects.get()
    assert flagged.esp_event_type == "account_status_change"
    assert flagged.problem.startswith("account alert 'account_status_change'")
    assert "compliance_suspend" in flagged.raw
    assert not BounceEvent.objects.exists()


def postal_server_event(name: str, payload: dict) -> dict:
    server = {"uuid": "54529725-8807-4069-ab29-a3746c1bbd98", "name": "AwesomeApp Mail Server",
              "permalink": "awesomeapp-mail-server", "organization": "awesomeapp"}
    return {"event": name, "timestamp": time.time(), "uuid": "0c2d5e7b-46b4-4f71-9a34-0d0d1b0a5f6e",
            "payload": {"server": server, **payload}}


@pytest.mark.parametrize("name, payload", [
    ("SendLimitApproaching", {"volume": 450, "limit": 500}),
    ("SendLimitExceeded", {"volume": 501, "limit": 500}),
    ("DomainDNSError", {"domain": "lockline.example", "uuid": "820b47a4-4dfd-42e4-ae6a-1e5bed5a33fd",
                        "dns_checked_at": 1477945711.5502, "spf_status": "OK", "spf_error": None,
                        "dkim_status": "Invalid", "dkim_error": "The DKIM record at example.com does not match",
                        "mx_status": "Missing", "mx_error": None, "return_path_status": "OK",
                        "return_path_error": None}),
])
def test_postal_server_events_are_flagged_as_account_alerts(client, name, payload):
    text = json.dumps(postal_server_event(name, payload))
    response = post(client, "/anymail/postal/tracking/", text, HTTP_X_POSTAL_SIGNATURE=postal_signature(text))
    assert response.status_code == 200, response.content
    flagged = FlaggedWebhookEvent.objects.get()
    assert (flagged.esp_event_type, flagged.problem) == (
        name, f"account alert {name!r}: about the sending account, not a recipient")
    assert not BounceEvent.objects.exists()


def test_staff_can_list_account_alerts_apart_from_what_was_not_understood(client, staff_client):
    alert = [{"event": "account_status_change", "sg_event_id": "MjEzNTg5OTcyOC10ZXJtaW5hdGUtMTcwNzg1MTUzMQ",
              "timestamp": now_epoch(), "type": "compliance_suspend"}]
    unknown = [{"event": "something_new", "email": "x@example.com", "timestamp": now_epoch()}]
    for body in (alert, unknown):
        assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 200
    url = reverse("admin:bounces_flaggedwebhookevent_changelist")
    listed = {kind: [row.esp_event_type for row in staff_client.get(url, {"kind": kind}).context["cl"].result_list]
              for kind in ("alert", "unreadable")}
    assert listed == {"alert": ["account_status_change"], "unreadable": ["something_new"]}


# --- Postal: failures on our side, and held messages ------------------------------------------
# Postal's outgoing message processor writes these HardFail details when it gives up before any
# recipient server answered, and holds mail to suppressed addresses and over the send limit.

def postal_post(client, name: str, status: str, details: str, output: str = ""):
    body = postal_failed("held@example.com")
    body.update(event=name, uuid=str(uuid.uuid4()))
    body["payload"].update(status=status, details=details, output=output)
    text = json.dumps(body)
    return post(client, "/anymail/postal/tracking/", text, HTTP_X_POSTAL_SIGNATURE=postal_signature(text))


@pytest.mark.parametrize("details", [
    "Message is likely spam. Threshold is 5.0 and the message scored 7.2.",
    "Message's domain no longer exist",
])
def test_a_postal_failure_of_our_own_message_suppresses_no_one(client, details):
    assert postal_post(client, "MessageDeliveryFailed", "HardFail", details).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (Category.TRANSIENT, "MessageDeliveryFailed/ours")
    assert not Suppression.objects.exists()


def test_postal_holding_mail_to_a_suppressed_address_suppresses_it_here_too(client):
    details = "Recipient (held@example.com) is on the suppression list (reason: too many hard fails)"
    assert postal_post(client, "MessageHeld", "Held", details).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (Category.HARD, "MessageHeld/suppressed")
    assert Suppression.objects.get().email == "held@example.com"


def test_postal_holding_mail_over_the_send_limit_is_an_account_alert_and_other_holds_are_ignored(client):
    assert postal_post(client, "MessageHeld", "Held", "Message held because send limit (500) has been reached.")\
        .status_code == 200
    assert FlaggedWebhookEvent.objects.get().problem.startswith("account alert 'MessageHeld/send limit'")
    assert postal_post(client, "MessageHeld", "Held", "Credential is configured to hold all messages.")\
        .status_code == 200
    assert FlaggedWebhookEvent.objects.count() == 1 and not BounceEvent.objects.exists()


# --- SparkPost: recipients on its suppression list --------------------------------------------
# SparkPost ("Preparing for asynchronous suppressions"): a suppressed recipient is reported as a
# bounce of class 25, error 554, "Recipient address was suppressed due to customer policy" (or
# system policy); earlier as a policy_rejection with the same reason.

@pytest.mark.parametrize("event_type, policy", [("bounce", "customer"), ("policy_rejection", "system")])
def test_a_sparkpost_suppressed_recipient_is_a_hard_bounce(client, event_type, policy):
    body = sparkpost_bounce("suppressed@example.com", bounce_class="25")
    reason = f"554 5.7.1 [internal] recipient address was suppressed due to {policy} policy"
    body[0]["msys"]["message_event"].update(type=event_type, raw_reason=reason, reason=reason)
    assert post(client, "/anymail/sparkpost/tracking/", body).status_code == 200
    event = only_bounce()
    assert (event.category, event.esp_event_type) == (Category.HARD, f"{event_type}/suppressed")


# --- Mailtrap: a soft bounce is retried -------------------------------------------------------
# Mailtrap's event docs: "soft bounce" is a temporary failure ("will retry"), followed by a
# delivery or a bounce.

def test_a_mailtrap_soft_bounce_is_transient_and_never_counts(client):
    body = mailtrap_bounce("later@example.com")
    body["events"][0].update(event="soft bounce", response="soft bounce (450 4.2.0 mailbox busy)",
                             response_code=450, bounce_category="unavailable")
    assert post(client, "/anymail/mailtrap/tracking/", body).status_code == 200
    assert only_bounce().category == Category.TRANSIENT


# --- SendGrid: bounce classifications ----------------------------------------------------------
# SendGrid's "Bounce and Block Classifications": only Invalid Address is what is usually called a
# hard bounce; Reputation, Content, Frequency or Volume Too High and Technical Failure are about
# the sending. With SendGrid's generic 5.0.0 the classification decides; a specific code still wins.

@pytest.mark.parametrize("classification, status, category", [
    ("Reputation", "5.0.0", Category.SOFT),
    ("Content", "5.0.0", Category.SOFT),
    ("Invalid Address", "5.0.0", Category.HARD),
    ("Mailbox Unavailable", "5.0.0", Category.HARD),
    ("Technical Failure", "5.1.1", Category.HARD),
])
def test_sendgrid_bounce_classification_decides_a_generic_bounce(client, classification, status, category):
    event = sendgrid_event("classified@example.com", type="bounce", status=status,
                           bounce_classification=classification, reason=f"550 {status} rejected")
    assert post(client, "/anymail/sendgrid/tracking/", [event]).status_code == 200
    assert only_bounce().category == category


# --- Amazon SNS: our endpoint unsubscribed from the topic -------------------------------------
# SNS posts a signed UnsubscribeConfirmation when the subscription is deleted; Anymail ignores
# it, and SES events stop arriving: a person should hear of it.

def test_an_sns_unsubscribe_confirmation_is_kept_as_an_account_alert_once(client):
    envelope = sns_envelope("You have chosen to deactivate subscription arn:aws:sns:us-east-1:123:ses-events:1.",
                            sns_type="UnsubscribeConfirmation")
    for _ in range(2):  # SNS redelivers
        assert post_sns(client, envelope).status_code == 200
    flagged = FlaggedWebhookEvent.objects.get()
    assert flagged.esp_event_type == "UnsubscribeConfirmation"
    assert flagged.problem.startswith("account alert 'UnsubscribeConfirmation'")
    assert not BounceEvent.objects.exists()
