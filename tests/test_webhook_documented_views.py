"""Documented payloads through the real endpoints: one unreadable event in a batch is flagged
alone, and the shapes each ESP documents (or is seen to send) are recorded, not refused."""
import json
from datetime import datetime, timezone

import pytest
from django.test import Client

from bounces.models import BounceEvent, EngagementEvent, FlaggedWebhookEvent
from campaigns.tokens import message_token
from tests.factories import MessageFactory
from tests.test_webhook_idempotency import failing_table
from tests.webhook_support import (
    brevo_event, esp_settings, mandrill_body, mandrill_hard_bounce, now_epoch, post, post_mailersend, post_sns,
    postal_failed, postal_signature, sendgrid_event, ses_event, sns_envelope, sparkpost_bounce, unisender_body,
    unisender_sign,
)

pytestmark = [pytest.mark.usefixtures("esp_settings"), pytest.mark.django_db]
assert esp_settings and failing_table


def _sendgrid_batch_with_one_bad_event():
    bad = sendgrid_event("bad@example.com", timestamp="2026-11-29T04:00:00Z")  # a string, not epoch seconds
    return [sendgrid_event("gone@example.com", status="5.1.1", reason="550 5.1.1 unknown"), bad,
            sendgrid_event("reader@example.com", event="open")]


def test_one_wrong_shaped_sendgrid_event_is_flagged_alone_and_the_rest_of_the_batch_recorded(client):
    response = post(client, "/anymail/sendgrid/tracking/", _sendgrid_batch_with_one_bad_event())
    assert response.status_code == 200, response.content
    assert list(BounceEvent.objects.values_list("email", flat=True)) == ["gone@example.com"]
    assert list(EngagementEvent.objects.values_list("email", flat=True)) == ["reader@example.com"]
    flagged = FlaggedWebhookEvent.objects.get()
    assert flagged.problem.startswith("unreadable event: TypeError") and flagged.esp_name == "SendGrid"
    assert json.loads(flagged.raw)["email"] == "bad@example.com"


def test_a_sendgrid_event_without_its_event_field_is_flagged_alone(client):
    bad = sendgrid_event("bad@example.com")
    del bad["event"]
    response = post(client, "/anymail/sendgrid/tracking/", [bad, sendgrid_event("gone@example.com", status="5.1.1")])
    assert response.status_code == 200
    assert BounceEvent.objects.get().email == "gone@example.com"
    assert "KeyError" in FlaggedWebhookEvent.objects.get().problem


def test_a_sparkpost_event_with_two_event_classes_is_flagged_alone(client):
    (bounce, ping) = sparkpost_bounce("gone@example.com")
    twice = {"msys": {"message_event": bounce["msys"]["message_event"], "track_event": {"type": "open"}}}
    response = post(client, "/anymail/sparkpost/tracking/", [bounce, twice, ping])
    assert response.status_code == 200, response.content
    assert BounceEvent.objects.get().email == "gone@example.com"
    flagged = FlaggedWebhookEvent.objects.get()
    assert "multiple event classes" in flagged.problem and "track_event" in flagged.raw


def test_an_ses_bounce_without_its_recipients_list_is_flagged_not_refused(client):
    notification = ses_event("Bounce", bounce={"bounceType": "Permanent", "bounceSubType": "General"})
    response = post_sns(client, sns_envelope(notification))
    assert response.status_code == 200, response.content
    flagged = FlaggedWebhookEvent.objects.get()
    assert "KeyError" in flagged.problem and json.loads(flagged.raw)["eventType"] == "Bounce"


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_still_fails_a_batch_holding_an_unreadable_event(failing_table):
    failing_table("bounces_bounceevent", "gone@example.com")
    client = Client(raise_request_exception=False)
    body = _sendgrid_batch_with_one_bad_event()
    assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 500  # the ESP retries
    assert not (BounceEvent.objects.exists() or EngagementEvent.objects.exists()
                or FlaggedWebhookEvent.objects.exists())
    failing_table.disarm()
    assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 200
    stored = (BounceEvent.objects.count(), EngagementEvent.objects.count(), FlaggedWebhookEvent.objects.count())
    assert stored == (1, 1, 1)


# --- MailerSend: only activity.* posts carry an email event (docs: "Webhooks") ----------------

@pytest.mark.parametrize("body", [
    {"type": "webhook.test", "message": "This is a ping test message"},  # sent when a webhook is saved
    {"type": "sender_identity.verified", "created_at": "2026-11-29T04:00:00.000000Z",
     "data": {"object": "sender_identity", "id": "7z3m5jgrogdpyo6n", "email": "sender@example.com"}},
    {"type": "maintenance.start", "data": {"object": "maintenance", "type": "scheduled"}},
])
def test_a_mailersend_post_that_is_not_an_activity_event_is_flagged_with_its_type(client, body):
    response = post_mailersend(client, body)
    assert response.status_code == 200, response.content
    flagged = FlaggedWebhookEvent.objects.get()
    assert flagged.problem == f"not a MailerSend activity event: {body['type']!r}"
    assert flagged.esp_event_type == body["type"] and json.loads(flagged.raw) == body


# --- Postal: the event's "timestamp" is epoch seconds (docs: "Webhooks", message events) ----------

@pytest.mark.parametrize("timestamp", [1e17, -1e18])  # datetime.fromtimestamp raises OSError on these
def test_a_postal_timestamp_out_of_range_is_a_400_and_the_body_is_kept_flagged(timestamp):
    body = postal_failed("gone@example.com")
    body["timestamp"] = timestamp
    text = json.dumps(body)
    client = Client(raise_request_exception=False)
    response = post(client, "/anymail/postal/tracking/", text, HTTP_X_POSTAL_SIGNATURE=postal_signature(text))
    assert response.status_code == 400 and b"OSError" in response.content
    assert not BounceEvent.objects.exists()
    assert json.loads(FlaggedWebhookEvent.objects.get().raw)["timestamp"] == timestamp


# --- Brevo (docs: "Transactional webhooks"; ts_epoch in milliseconds) ------------------------------

BREVO_PATHS = ["/anymail/brevo/tracking/", "/anymail/sendinblue/tracking/"]


@pytest.mark.parametrize("path", BREVO_PATHS)
def test_a_brevo_event_whose_x_mailin_custom_is_not_json_is_recorded_without_metadata(client, path):
    body = {**brevo_event("hard_bounce", "gone@example.com"), "X-Mailin-custom": "campaign=spring; not json"}
    response = post(client, path, body)
    assert response.status_code == 200, response.content
    bounce = BounceEvent.objects.get()
    assert bounce.email == "gone@example.com" and json.loads(bounce.raw)["X-Mailin-custom"] == body["X-Mailin-custom"]
    assert not FlaggedWebhookEvent.objects.exists()


@pytest.mark.parametrize("path", BREVO_PATHS)
def test_a_brevo_x_mailin_custom_json_object_still_carries_our_signed_token(client, path):
    ours = MessageFactory(state="sent", to_email="gone@example.com")
    custom = json.dumps({"lockline_token": message_token(ours.pk)})
    body = {**brevo_event("hard_bounce", "gone@example.com"), "X-Mailin-custom": custom}
    assert post(client, path, body).status_code == 200
    assert BounceEvent.objects.get().message_id == ours.pk


@pytest.mark.parametrize("path", BREVO_PATHS)
def test_a_brevo_ts_epoch_in_seconds_is_read_as_seconds(client, path):
    seconds = now_epoch() - 60
    body = {**brevo_event("hard_bounce", "gone@example.com"), "ts_epoch": seconds}
    response = post(client, path, body)
    assert response.status_code == 200, response.content
    assert BounceEvent.objects.get().occurred_at == datetime.fromtimestamp(seconds, tz=timezone.utc)


def test_a_brevo_ts_epoch_in_milliseconds_is_still_read_as_milliseconds(client):
    millis = (now_epoch() - 60) * 1000 + 250
    body = {**brevo_event("hard_bounce", "gone@example.com"), "ts_epoch": millis}
    assert post(client, "/anymail/brevo/tracking/", body).status_code == 200
    assert BounceEvent.objects.get().occurred_at == datetime.fromtimestamp(millis / 1000, tz=timezone.utc)


# --- Unisender Go (docs: "Callback format"; transactional_spam_block among the event names) -------

SPAM_BLOCK = {"event_name": "transactional_spam_block", "event_data": {
    "block_time": "2026-11-29 04:00:00", "block_type": "one_smtp", "domain": "example.com",
    "SMTP_blocks_count": 8, "domain_status": "blocked"}}


def test_a_unisender_go_spam_block_among_status_events_is_flagged_and_the_status_event_recorded(client):
    payload = json.loads(unisender_body("gone@example.com"))
    payload["events_by_user"][0]["events"].append(SPAM_BLOCK)
    response = post(client, "/anymail/unisender_go/tracking/", unisender_sign(payload))
    assert response.status_code == 200, response.content
    assert BounceEvent.objects.get().email == "gone@example.com"
    flagged = FlaggedWebhookEvent.objects.get()
    assert flagged.problem == "not an email status event: 'transactional_spam_block'"
    assert flagged.esp_event_type == "transactional_spam_block" and json.loads(flagged.raw) == SPAM_BLOCK


def test_a_unisender_go_single_event_spam_block_is_flagged(client):
    # "Use single event": event_data's fields flattened next to event_name.
    payload = {"auth": "", "event_name": "transactional_spam_block", "user_id": 456,
               "project_id": "6432890213745872", **SPAM_BLOCK["event_data"]}
    response = post(client, "/anymail/unisender_go/tracking/", unisender_sign(payload))
    assert response.status_code == 200, response.content
    assert FlaggedWebhookEvent.objects.get().esp_event_type == "transactional_spam_block"


# --- Mandrill (docs: "Webhooks", mandrill_events is a JSON array of events) -------------------------

@pytest.mark.parametrize("events, bounces", [
    (["not an event"], 0),
    ([mandrill_hard_bounce("gone@example.com"), "not an event"], 1),
])
def test_a_mandrill_event_that_is_not_an_object_is_flagged_even_alone(client, events, bounces):
    body, signature = mandrill_body(events)
    response = post(client, "/anymail/mandrill/tracking/", body, content_type="application/x-www-form-urlencoded",
                    HTTP_X_MANDRILL_SIGNATURE=signature)
    assert response.status_code == 200, response.content
    assert BounceEvent.objects.count() == bounces
    assert json.loads(FlaggedWebhookEvent.objects.get().raw) == "not an event"
