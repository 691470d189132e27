"""Shared helpers for the ESP webhook tests: credentials, signers and documented payloads.

Payloads follow each ESP's documented examples; timestamps are made current by the builders
because Lockline refuses events outside LOCKLINE_WEBHOOK_MAX_AGE.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from bounces.esp import sns
from bounces.models import BounceEvent

WEBHOOK_SECRET = "lockline:webhook-test-secret"
AUTH = "Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode()
MAILGUN_KEY = "mailgun-signing-key-for-tests"
MANDRILL_KEY = "mandrill-webhook-key-for-tests"
MANDRILL_URL = "https://hooks.lockline.test/anymail/mandrill/tracking/"
MAILERSEND_SECRET = "mailersend-signing-secret-for-tests"
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-signing-secret-for-tests!").decode()
UNISENDER_KEY = "unisender-go-api-key-for-tests"

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
POSTAL_PUBLIC_KEY = "".join(
    _RSA.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode().strip().splitlines()[1:-1]
)
_EC = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC_KEY = "".join(
    _EC.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode().strip().splitlines()[1:-1]
)

REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:ses-events"
SNS_CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"


def _self_signed(key, name: str, days: int = 30) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


SNS_CERT_PEM = _self_signed(_RSA, "sns.amazonaws.com")


class FakeAws:
    """Stands in for AWS's HTTPS endpoints: serves the test certificate at SNS_CERT_URL and
    records every SubscribeURL fetched. Any other URL is a 404, as AWS would answer."""

    certificates: dict[str, bytes] = {}
    fetched: list[str] = []

    @classmethod
    def fetch(cls, url: str) -> bytes:
        cls.fetched.append(url)
        if url in cls.certificates:
            return cls.certificates[url]
        if "SubscribeURL" in url or "Action=ConfirmSubscription" in url:
            return b"<ConfirmSubscriptionResponse/>"
        from anymail.exceptions import AnymailWebhookValidationFailure

        raise AnymailWebhookValidationFailure(f"SNS URL {url} answered HTTP 404")


def fake_aws_fetch(url: str) -> bytes:
    return FakeAws.fetch(url)


def only_bounce() -> BounceEvent:
    """The one BounceEvent stored (fails when there are none or several)."""
    (event,) = BounceEvent.objects.all()
    return event


@pytest.fixture
def esp_settings(settings):
    """Every ESP configured with test keys; SNS certificates come from FakeAws."""
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "MANDRILL_WEBHOOK_KEY": MANDRILL_KEY,
        "MANDRILL_WEBHOOK_URL": MANDRILL_URL,
        "MAILERSEND_SIGNING_SECRET": MAILERSEND_SECRET,
        "POSTAL_WEBHOOK_KEY": POSTAL_PUBLIC_KEY,
        "RESEND_SIGNING_SECRET": RESEND_SECRET,
        "UNISENDER_GO_API_KEY": UNISENDER_KEY,
    }
    settings.LOCKLINE_SNS_CERTIFICATE_FETCHER = "tests.webhook_support.fake_aws_fetch"
    FakeAws.certificates = {SNS_CERT_URL: SNS_CERT_PEM}
    FakeAws.fetched = []
    sns.clear_certificate_cache()
    return settings


def now_epoch() -> int:
    return int(time.time())


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def post(client, path: str, body, *, content_type="application/json", auth: str | None = AUTH, **headers):
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    extra.update(headers)
    return client.post(path, body, content_type=content_type, **extra)


# --- SendGrid (docs: "Event Webhook reference", the example batch) -----------------------------

def sendgrid_batch(email="example@test.com", *, smtp_id="<14c5d75ce93.dfd.64b469@ismtpd-555>", ts=None):
    ts = ts or now_epoch()
    base = {"email": email, "timestamp": ts, "smtp-id": smtp_id, "category": "cat facts",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}

    def ev(i, **kw):
        return {**base, "sg_event_id": f"sg-{uuid.uuid4()}", **kw}

    return [
        ev(0, event="processed"),
        ev(1, event="deferred", response="400 try again later", attempt="5"),
        ev(2, event="delivered", response="250 OK"),
        ev(3, event="open", useragent="Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)", ip="255.255.255.255"),
        ev(4, event="click", url="http://www.sendgrid.com/"),
        ev(5, event="bounce", reason="500 unknown recipient", status="5.0.0", type="bounce"),
        ev(6, event="dropped", reason="Bounced Address", status="5.0.0"),
        ev(7, event="spamreport"),
        ev(8, event="unsubscribe"),
        ev(9, event="group_unsubscribe", asm_group_id=10),
        ev(10, event="group_resubscribe", asm_group_id=10),
    ]


def sendgrid_event(email, event="bounce", **kw):
    return {"email": email, "timestamp": now_epoch(), "event": event, "sg_event_id": f"sg-{uuid.uuid4()}",
            "sg_message_id": kw.pop("sg_message_id", "sgmsg-1"), "smtp-id": "<sgmsg-1@ismtpd>", **kw}


# --- Mailgun (docs: webhooks, "failed" event sample) ----------------------------------------------

def mailgun_sign(payload: dict, *, timestamp=None, token=None, key=MAILGUN_KEY) -> dict:
    timestamp = str(timestamp if timestamp is not None else now_epoch())
    token = token or uuid.uuid4().hex
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**payload, "signature": {"timestamp": timestamp, "token": token, "signature": signature}}


def mailgun_failed(email="alice@example.com", *, severity="permanent", reason="bounce", code=550,
                   message="5.1.1 The email account that you tried to reach does not exist.", event_id=None,
                   message_id="20130503182626.18666.16540@sandbox.mailgun.org", user_variables=None):
    return mailgun_sign({"event-data": {
        "event": "failed", "id": event_id or uuid.uuid4().hex[:22], "timestamp": time.time(),
        "log-level": "error", "severity": severity, "reason": reason,
        "envelope": {"sender": "bob@sandbox.mailgun.org", "transport": "smtp", "targets": email},
        "recipient-domain": email.split("@")[1], "recipient": email,
        "message": {"headers": {"to": f"Alice <{email}>", "message-id": message_id,
                                "from": "Bob <bob@sandbox.mailgun.org>", "subject": "Test permanent_fail webhook"},
                    "attachments": [], "size": 111},
        "campaigns": [], "tags": ["my_tag_1"], "user-variables": user_variables or {"my_var_1": "Mailgun Variable #1"},
        "delivery-status": {"attempt-no": 1, "message": message, "code": code,
                            "description": "", "session-seconds": 0.0, "mx-host": "mx.example.com"},
    }})


def mailgun_delivered(email="alice@example.com"):
    return mailgun_sign({"event-data": {
        "event": "delivered", "id": uuid.uuid4().hex[:22], "timestamp": time.time(), "recipient": email,
        "message": {"headers": {"message-id": "20130503182626.18666.16540@sandbox.mailgun.org"}},
        "delivery-status": {"code": 250, "message": "OK", "attempt-no": 1},
    }})


def mailgun_legacy(event="bounced", email="alice@example.com", *, timestamp=None, token=None, **fields) -> list:
    """A legacy (pre-2018) Mailgun webhook's form fields, signed: Mailgun's documented "bounced"
    and "dropped" payloads put the event's fields and the signature side by side."""
    timestamp = str(timestamp if timestamp is not None else now_epoch())
    token = token or uuid.uuid4().hex
    message_id = "<20130503182626.18666.16540@sandbox.mailgun.org>"
    headers = [["Message-Id", message_id], ["To", f"Alice <{email}>"],
               ["X-Mailgun-Variables", json.dumps({"my_var_1": "Mailgun Variable #1"})]]
    pairs = [("event", event), ("recipient", email), ("domain", "sandbox.mailgun.org"),
             ("message-headers", json.dumps(headers)), ("Message-Id", message_id)]
    pairs += [(key.replace("_", "-"), str(value)) for key, value in fields.items()]
    signature = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return pairs + [("timestamp", timestamp), ("token", token), ("signature", signature)]


def post_form(client, path: str, fields, *, auth: str | None = AUTH, **headers):
    """POST form fields (a dict or a list of pairs, repeats allowed) url-encoded, as legacy webhooks do."""
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    extra.update(headers)
    pairs = fields.items() if isinstance(fields, dict) else fields
    return client.post(path, urlencode(list(pairs)), content_type="application/x-www-form-urlencoded", **extra)


# --- Postmark (docs: bounce, delivery, spam complaint webhooks) ------------------------------------

def postmark_bounce(email="john@example.com", bounce_type="HardBounce", *, bounce_id=None,
                    details="smtp;550 5.1.1 The email account that you tried to reach does not exist.", metadata=None):
    return {
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": bounce_id or int(time.time() * 1000),
        "Type": bounce_type, "TypeCode": 1, "Name": "Hard bounce", "Tag": "Invitation",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Metadata": metadata or {"a_key": "a_value"},
        "ServerID": 23, "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": details, "Email": email, "From": "sender@example.com", "BouncedAt": now_iso(),
        "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Test subject",
    }


def postmark_delivery(email="john@example.com"):
    return {"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": email, "Tag": "welcome-email",
            "DeliveredAt": now_iso(), "Details": "Test delivery webhook details", "Metadata": {"a_key": "a_value"}}


# --- Amazon SES through SNS (docs: SES event publishing / notification contents) -------------------

def ses_bounce(email="recipient@example.com", bounce_type="Permanent", subtype="General", status="5.1.1",
               diagnostic="smtp; 550 5.1.1 user unknown", message_id="EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"):
    return {
        "eventType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bounceSubType": subtype,
                   "bouncedRecipients": [{"emailAddress": email, "action": "failed", "status": status,
                                          "diagnosticCode": diagnostic}],
                   "timestamp": now_iso(), "feedbackId": "0100015dab0e7e60-8e0f-4e7b", "reportingMTA": "dsn; mta.example.com"},
        "mail": {"timestamp": now_iso(), "source": "Sender Name <sender@example.com>", "sendingAccountId": "123456789012",
                 "messageId": message_id, "destination": [email], "headersTruncated": False,
                 "headers": [{"name": "From", "value": "Sender Name <sender@example.com>"}]},
    }


def ses_event(kind: str, email="recipient@example.com", **extra):
    base = {"eventType": kind, "mail": {"timestamp": now_iso(), "source": "sender@example.com",
                                        "messageId": "EXAMPLE-ses-message", "destination": [email], "headers": []}}
    base.update(extra)
    return base


def sns_envelope(message: dict | str, *, sns_type="Notification", cert_url=SNS_CERT_URL, version="1",
                 timestamp=None, topic_arn=TOPIC_ARN, key=_RSA, **extra) -> dict:
    envelope = {
        "Type": sns_type, "MessageId": str(uuid.uuid4()), "TopicArn": topic_arn,
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": timestamp or now_iso(), "SignatureVersion": version, "SigningCertURL": cert_url,
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
        **extra,
    }
    if sns_type != "Notification":
        envelope.setdefault("Token", "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a")
        envelope.setdefault("SubscribeURL", f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token=x")
    return sns_sign(envelope, key=key)


def sns_sign(envelope: dict, *, key=_RSA) -> dict:
    digest = hashes.SHA1() if envelope["SignatureVersion"] == "1" else hashes.SHA256()
    signature = key.sign(sns.string_to_sign(envelope), padding.PKCS1v15(), digest)
    return {**envelope, "Signature": base64.b64encode(signature).decode()}


def post_sns(client, envelope: dict, *, auth: str | None = AUTH, path="/anymail/amazon_ses/tracking/"):
    return post(client, path, envelope, content_type="text/plain", auth=auth,
                HTTP_X_AMZ_SNS_MESSAGE_TYPE=envelope.get("Type", ""),
                HTTP_X_AMZ_SNS_MESSAGE_ID=envelope.get("MessageId", ""))


# --- Others -------------------------------------------------------------------------------------------

def mailjet_bounce(email="bounce@mailjet.com", hard=True, error="user unknown"):
    return {"event": "bounce", "time": now_epoch(), "MessageID": 13792286917004336,
            "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j", "email": email, "mj_campaign_id": 0,
            "mj_contact_id": 0, "customcampaign": "", "CustomID": "helloworld", "Payload": "",
            "blocked": False, "hard_bounce": hard, "error_related_to": "recipient", "error": error}


def brevo_event(event="hard_bounce", email="example@domain.com", reason="Unknown user"):
    return {"event": event, "email": email, "id": 26224, "date": "2020-08-28 19:08:29", "ts": now_epoch(),
            "message-id": "<202008281908.93571418441@smtp-relay.mailin.fr>", "ts_event": now_epoch(),
            "subject": "Subject Line", "tag": "[\"transactionalTag\"]", "sending_ip": "185.41.28.109",
            "ts_epoch": now_epoch() * 1000, "tags": ["myFirstTransactional"], "reason": reason}


def resend_bounce(email="delivered@resend.dev", bounce_type="Permanent", subtype="Suppressed"):
    return {"type": "email.bounced", "created_at": now_iso(), "data": {
        "broadcast_id": "8b146471-e88e-4322-86af-016cd36fd216", "created_at": now_iso(),
        "email_id": "56761188-7520-42d8-8898-ff6fc54ce618", "from": "Acme <onboarding@resend.dev>",
        "to": [email], "subject": "Sending this example",
        "bounce": {"message": "The recipient's email address is on the suppression list because it has a recent history of producing hard bounces.",
                   "subType": subtype, "type": bounce_type}}}


def resend_headers(body: str, *, msg_id=None, secret=RESEND_SECRET) -> dict:
    from svix.webhooks import Webhook

    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = datetime.now(timezone.utc)
    signature = Webhook(secret).sign(msg_id, stamp, body)
    return {"HTTP_SVIX_ID": msg_id, "HTTP_SVIX_TIMESTAMP": str(int(stamp.timestamp())), "HTTP_SVIX_SIGNATURE": signature}


def post_resend(client, body: dict):
    """A Resend event, signed, to the tracking URL."""
    text = json.dumps(body)
    return post(client, "/anymail/resend/tracking/", text, **resend_headers(text))


def sparkpost_bounce(email="recipient@example.com", bounce_class="10", event_id=None):
    return [{"msys": {"message_event": {
        "type": "bounce", "bounce_class": bounce_class, "campaign_id": "Example Campaign Name", "customer_id": "1",
        "delv_method": "esmtp", "error_code": "554", "event_id": event_id or str(uuid.uuid4().int)[:17],
        "friendly_from": "sender@example.com", "ip_address": "127.0.0.1", "message_id": "000443ee14578172be22",
        "msg_from": "sender@example.com", "num_retries": "2", "rcpt_meta": {"customKey": "customValue"},
        "rcpt_tags": ["male", "US"], "rcpt_to": email, "raw_rcpt_to": email,
        "raw_reason": "550 5.1.1 <recipient@example.com>: Recipient address rejected: User unknown",
        "reason": "550 5.1.1 ...: Recipient address rejected: User unknown", "recipient_domain": "example.com",
        "subject": "Summer deals are here!", "timestamp": str(now_epoch()), "transmission_id": "65832150921904138",
    }}}, {"msys": {}}]


def mandrill_body(events: list[dict], url=MANDRILL_URL, key=MANDRILL_KEY):
    params = {"mandrill_events": json.dumps(events)}
    signed = url + "".join(k + params[k] for k in sorted(params))
    signature = base64.b64encode(hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    return urlencode(params), signature


def mandrill_hard_bounce(email="example.webhook@mandrillapp.com"):
    return {"event": "hard_bounce", "_id": uuid.uuid4().hex, "ts": now_epoch(), "msg": {
        "ts": now_epoch(), "subject": "This an example webhook message", "email": email,
        "sender": "example.sender@mandrillapp.com", "tags": ["webhook-example"], "state": "bounced",
        "metadata": {"user_id": 111}, "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa", "bounce_description": "bad_mailbox",
        "diag": "smtp;550 5.1.1 The email account that you tried to reach does not exist."}}


def mailersend_event(kind="hard_bounced", email="recipient@example.com"):
    return {"type": f"activity.{kind}", "domain_id": "7z3m5jgrogdpyo6n", "created_at": now_iso(),
            "webhook_id": "7z3m5jgrogdpyo6n", "url": "https://hooks.lockline.test/", "data": {
                "object": "activity", "id": uuid.uuid4().hex[:24], "type": kind, "created_at": now_iso(),
                "email": {"object": "email", "id": "62f5f1c87f9b9b3de0067c26", "created_at": now_iso(),
                          "from": "sender@example.com", "subject": "Test", "status": "rejected", "tags": None,
                          "message": {"object": "message", "id": "62f5f1c74ab1b2b4d1043ba9", "created_at": now_iso()},
                          "recipient": {"object": "recipient", "email": email, "created_at": now_iso()}},
                "morph": {"object": "recipient_bounce", "reason": "Host or domain name not found"}}}


def mailersend_signature(body: str) -> str:
    return hmac.new(MAILERSEND_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()


def post_mailersend(client, body: dict):
    """A MailerSend post, signed, to the tracking URL."""
    text = json.dumps(body)
    return post(client, "/anymail/mailersend/tracking/", text, HTTP_SIGNATURE=mailersend_signature(text))


def postal_failed(email="test@example.com"):
    return {"event": "MessageDeliveryFailed", "timestamp": time.time(), "uuid": str(uuid.uuid4()), "payload": {
        "message": {"id": 12345, "token": "abcdef123", "direction": "outgoing",
                    "message_id": "5817a64332f44_4ec93ff59e79d154565eb@app34.mail", "to": email,
                    "from": "sales@awesomeapp.com", "subject": "Welcome to AwesomeApp", "timestamp": time.time(),
                    "spam_status": "NotSpam", "tag": "welcome"},
        "status": "HardFail", "details": "Message failed to deliver to mx.example.com",
        "output": "550 5.1.1 No such user", "sent_with_ssl": False, "timestamp": time.time(), "time": 0.1}}


def postal_signature(body: str) -> str:
    return base64.b64encode(_RSA.sign(body.encode(), padding.PKCS1v15(), hashes.SHA1())).decode()


def mailtrap_bounce(email="receiver@example.com"):
    return {"events": [{"event": "bounce", "message_id": "1df37d17-0286-4d8b-8edf-bc4ec5be86e6",
                        "sending_stream": "transactional", "email": email, "timestamp": now_epoch(),
                        "event_id": str(uuid.uuid4()), "category": "Password reset",
                        "custom_variables": {"var": "val"}, "response": "550 5.1.1 Email was not delivered: invalid recipient",
                        "response_code": 550, "bounce_category": "badmailbox"}]}


def unisender_body(email="recipient@example.com", status="hard_bounced", delivery_status="err_user_unknown",
                   response="550 5.1.1 Mailbox does not exist"):
    return unisender_sign({"auth": "", "events_by_user": [{"user_id": 456, "project_id": "6432890213745872", "events": [
        {"event_name": "transactional_email_status", "event_data": {
            "job_id": "1a3Q2V-0000OZ-S0", "metadata": {"key1": "val1"}, "email": email, "status": status,
            "event_time": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "delivery_info": {"delivery_status": delivery_status,
                              "destination_response": response, "user_agent": None}}}]}]})


def unisender_sign(payload: dict) -> str:
    """The JSON body as Unisender Go signs it: "auth" is the MD5 of the body with the API key in its place."""
    unsigned = json.dumps({**payload, "auth": UNISENDER_KEY})
    digest = hashlib.md5(unsigned.encode()).hexdigest()
    return unsigned.replace(f'"auth": "{UNISENDER_KEY}"', f'"auth": "{digest}"')


def sendgrid_signed_headers(body: str, *, timestamp=None) -> dict:
    timestamp = str(timestamp if timestamp is not None else now_epoch())
    signature = _EC.sign(timestamp.encode() + body.encode(), ec.ECDSA(hashes.SHA256()))
    return {"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp}
