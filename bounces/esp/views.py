"""Anymail's tracking views, wrapped so that one request's events are written in one batch.

Each view here is Anymail's own view class with ``BatchedTrackingMixin`` in front, served at
Anymail's standard URL (``/anymail/<esp>/tracking/``). The mixin:

1. answers 503 with the missing setting when the ESP is not configured (Anymail would raise
   ImproperlyConfigured: a bare 500), and 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE;
2. checks basic auth (WEBHOOK_SECRET) before anything else, then the ESP's signature;
3. turns what Anymail cannot parse (malformed JSON, wrong shapes) into a 400 with the reason
   instead of a 500, keeping the body in FlaggedWebhookEvent when the request authenticated;
4. wraps Anymail's per-event conversion, so that one event of the wrong shape in a batch is
   flagged alone (``tracking_event_flag``) and the rest of the batch is recorded;
5. collects the events Anymail signals and records them with one call of
   ``tracking_events_record``; a database failure there propagates (5xx: the ESP retries).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from anymail.exceptions import AnymailConfigurationError, AnymailError, AnymailWebhookValidationFailure
from anymail.signals import tracking
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.base import AnymailBaseWebhookView, AnymailBasicAuthMixin
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailersend import MailerSendTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from anymail.webhooks.mailtrap import MailtrapTrackingWebhookView
from anymail.webhooks.mandrill import MandrillCombinedWebhookView
from anymail.webhooks.postal import PostalTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.resend import ResendTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from anymail.webhooks.sendinblue import SendinBlueTrackingWebhookView
from anymail.webhooks.sparkpost import SparkPostTrackingWebhookView
from anymail.webhooks.unisender_go import UnisenderGoTrackingWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError

from bounces.esp import sns
from bounces.esp.normalize import UnreadableEvent, account_alert_problem, flag_draft, signed_timestamp_ok
from bounces.tracking import tracking_collect, tracking_event_flag, tracking_events_record

logger = logging.getLogger(__name__)

# What Anymail's parsers raise on a body of the wrong shape. Anything else (a database error
# while recording) is ours and must stay a 5xx so the ESP retries. OSError: datetime.fromtimestamp
# on a timestamp out of the platform's range (Postal's, Brevo's), which Anymail does not catch.
_BAD_INPUT = (
    ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError, OverflowError, OSError,
    RecursionError, AnymailError, AnymailConfigurationError, MultiPartParserError,
)

# What one event's conversion may raise and still be flagged alone. A configuration error (an
# inbound event posted to a tracking URL) stays a 400 for the whole request: the ESP shows it.
_EVENT_BAD_INPUT = tuple(exc for exc in _BAD_INPUT if exc is not AnymailConfigurationError)


def _answer(status: int, text: str) -> HttpResponse:
    return HttpResponse(text[:500] + "\n", status=status, content_type="text/plain; charset=utf-8")


class BatchedTrackingMixin:
    config_error: str | None = None

    def __init__(self, **kwargs):
        try:
            super().__init__(**kwargs)
        except ImproperlyConfigured as exc:
            self.config_error = str(exc)
            return
        if isinstance(self, MandrillCombinedWebhookView) and self.webhook_key is None:
            self.config_error = "set ANYMAIL_MANDRILL_WEBHOOK_KEY"
        # Basic auth first: a request without the shared secret gets no further (and never
        # makes us fetch an SNS certificate).
        first = AnymailBasicAuthMixin.validate_request
        self.validators = [first] + [v for v in self.validators if v is not first]

    def post(self, request, *args, **kwargs):
        if self.config_error:
            logger.error("%s webhook not configured: %s", self.esp_name, self.config_error)
            return _answer(503, f"{self.esp_name} webhooks are not configured")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return _answer(413, f"body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
        try:
            with tracking_collect() as drafts:
                response = super().post(request, *args, **kwargs)
        except RequestDataTooBig:
            return _answer(413, f"body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
        except SuspiciousOperation as exc:  # AnymailWebhookValidationFailure among them
            logger.warning("%s webhook refused: %s", self.esp_name, exc)
            return _answer(400, f"refused: {exc}")
        except sns.SnsHttpError as exc:
            logger.error("%s webhook: AWS unreachable: %s", self.esp_name, exc)
            return _answer(503, "could not reach AWS to verify the SNS signature; retry later")
        except _BAD_INPUT as exc:
            reason = f"unreadable {self.esp_name} webhook payload: {type(exc).__name__}: {exc}"
            self._flag_body(request, reason)
            return _answer(400, reason)
        if response.status_code != 200:
            return response  # SNS's 401 basic-auth challenge
        summary = tracking_events_record(drafts=drafts)
        if summary.stale and not summary.accepted:
            return _answer(400, "every event's timestamp is outside the tolerance window")
        return _answer(
            200,
            f"ok: {summary.bounces} bounces, {summary.engagement} engagement, {summary.duplicates} duplicates, "
            f"{summary.ignored} ignored, {summary.flagged + summary.stale} flagged",
        )

    # Per-event conversion. Anymail's parse_events converts every event of a batch before any is
    # signalled, so one wrong-shaped event used to fail the whole request. This wrapper (and the
    # SES and SparkPost mixins' own, for their other signatures) turns what one event raises into
    # an UnreadableEvent, flagged with its raw event; anything not in _EVENT_BAD_INPUT (a database
    # error, a configuration error) still propagates.

    def esp_to_anymail_event(self, esp_event, *rest):
        try:
            return super().esp_to_anymail_event(esp_event, *rest)
        except _EVENT_BAD_INPUT as exc:
            return self._unreadable(esp_event, exc)

    def _unreadable(self, esp_event, exc: BaseException) -> UnreadableEvent:
        if self.signal is None:  # Mandrill picks its signal per event: the stand-in is a tracking event
            self.signal = tracking
        return tracking_event_flag(esp_name=self.esp_name, esp_event=esp_event,
                                   problem=f"unreadable event: {type(exc).__name__}: {exc}")

    def _flag_body(self, request, reason: str) -> None:
        """Keep an authenticated body that could not be parsed, for a human to look at."""
        if not getattr(self, "basic_auth", None):
            return
        try:
            AnymailBasicAuthMixin.validate_request(self, request)
            body = request.body
        except (SuspiciousOperation, OSError):
            return
        tracking_events_record(drafts=[flag_draft(esp_name=self.esp_name, problem=reason[:2000],
                                                  raw=body.decode("utf-8", "replace"))])


def _timestamp_failure(esp_name: str, value) -> AnymailWebhookValidationFailure | None:
    try:
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return AnymailWebhookValidationFailure(f"{esp_name} signature timestamp missing or malformed")
    if not signed_timestamp_ok(moment):
        return AnymailWebhookValidationFailure(f"{esp_name} signature timestamp outside the tolerance window")
    return None


class MailgunFreshnessMixin:
    """Anymail checks Mailgun's HMAC over timestamp+token but not how old the timestamp is."""

    def validate_request(self, request):
        try:
            if request.content_type == "application/json":
                value = json.loads(request.body.decode("utf-8"))["signature"]["timestamp"]
            else:
                value = request.POST["timestamp"]
        except (KeyError, TypeError, ValueError, RecursionError) as exc:
            raise AnymailWebhookValidationFailure("Mailgun webhook called with invalid payload format") from exc
        failure = _timestamp_failure("Mailgun", value)
        if failure:
            raise failure


class SendGridFreshnessMixin:
    """With a verification key, SendGrid signs a timestamp header: refuse stale ones."""

    def validate_request(self, request):
        if self.webhook_verification_key:
            failure = _timestamp_failure("SendGrid", request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp"))
            if failure:
                raise failure


class BrevoLenientMixin:
    """Brevo (and its old SendinBlue URL): two things its posts are seen to do that Anymail's
    conversion does not expect.

    - ``X-Mailin-custom`` is the sender's header echoed back; when it is not a JSON object the
      event is recorded without metadata (Anymail would raise on text that is not JSON).
    - ``ts_epoch`` is documented in milliseconds, but some posts give seconds. Below 1e11 it is
      seconds: 1e11 ms is 1973, 1e11 s is the year 5138, so no current timestamp is ambiguous.
    """

    def esp_to_anymail_event(self, esp_event):
        custom = esp_event.get("X-Mailin-custom")
        event = super().esp_to_anymail_event({k: v for k, v in esp_event.items() if k != "X-Mailin-custom"})
        event.esp_event = esp_event
        event.metadata = _json_object(custom)
        ts_epoch = esp_event.get("ts_epoch")
        if isinstance(ts_epoch, (int, float)) and not isinstance(ts_epoch, bool) and ts_epoch < 1e11:
            event.timestamp = datetime.fromtimestamp(ts_epoch, tz=timezone.utc)
        return event


def _json_object(text) -> dict:
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


class MailerSendActivityMixin:
    """MailerSend posts more than email activity to a webhook (its ``webhook.test`` ping when one is
    saved, sender identity and maintenance events): only ``activity.*`` posts are email events;
    the others are flagged with their type instead of failing Anymail's conversion."""

    def esp_to_anymail_event(self, esp_event):
        kind = esp_event.get("type")
        if isinstance(kind, str) and kind.startswith("activity."):
            return super().esp_to_anymail_event(esp_event)
        return tracking_event_flag(esp_name=self.esp_name, esp_event=esp_event,
                                   problem=f"not a MailerSend activity event: {kind!r}", esp_event_type=kind)


class ResendEventsMixin:
    """Two kinds of Resend events that Anymail's tracking conversion does not expect.

    - ``email.received`` is Resend's inbound mail: posted to the tracking URL it is a configuration
      error (400, as Anymail answers the other ESPs' inbound posts there), not an unknown event.
    - ``contact.*`` events (audience contacts) name the contact in ``data.email``; Anymail takes
      the recipient from ``data.to`` only, which they do not have.
    """

    def esp_to_anymail_event(self, esp_event, request):
        if esp_event.get("type") == "email.received":
            raise AnymailConfigurationError(
                "You seem to have set Resend's *inbound* (email.received) events to the Resend *tracking* webhook URL."
            )
        event = super().esp_to_anymail_event(esp_event, request)
        kind, data = esp_event.get("type"), esp_event.get("data")
        if event.recipient is None and isinstance(kind, str) and kind.startswith("contact.") and isinstance(data, dict):
            event.recipient = data.get("email")
        return event


class UnisenderGoAllEventsMixin:
    """Anymail converts Unisender Go's ``transactional_email_status`` events and silently drops the
    other event names its callbacks carry (``transactional_spam_block``): those are flagged."""

    status_event = "transactional_email_status"

    def parse_events(self, request):
        events = super().parse_events(request)
        parsed = self.parse_json_body(request)  # cached on the request by Anymail
        if "events_by_user" in parsed:
            others = [e for user in parsed["events_by_user"] for e in user["events"]
                      if e["event_name"] != self.status_event]
        else:  # "use single event": one flat event
            others = [parsed] if parsed["event_name"] != self.status_event else []
        return events + [
            tracking_event_flag(esp_name=self.esp_name, esp_event=other,
                                problem=f"not an email status event: {other['event_name']!r}",
                                esp_event_type=other["event_name"])
            for other in others
        ]


class SparkPostPerEventMixin:
    """SparkPost converts in two steps, ``unwrap_event`` then ``esp_to_anymail_event(event_class,
    event, raw_event)``: either may fail for one event, which is flagged with its raw event."""

    def unwrap_event(self, raw_event):  # {"msys": {event_class: event}}
        try:
            return super().unwrap_event(raw_event)
        except _EVENT_BAD_INPUT as exc:
            return None, self._unreadable(raw_event, exc), raw_event

    def esp_to_anymail_event(self, event_class, event, raw_event):
        if isinstance(event, UnreadableEvent):  # unwrap_event already flagged it
            return event
        try:
            return super().esp_to_anymail_event(event_class, event, raw_event)
        except _EVENT_BAD_INPUT as exc:
            return self._unreadable(raw_event, exc)


class SnsVerifiedMixin:
    """Amazon SES over SNS: verify the SNS signature, and confirm subscriptions without boto3."""

    def __init__(self, **kwargs):
        # Anymail's SES view builds boto3 parameters here to auto-confirm subscriptions; Lockline
        # confirms by fetching the (verified, pinned) SubscribeURL, so boto3 is not needed.
        self.auto_confirm_enabled = True
        self.session_params, self.client_params = {}, {}
        AnymailBaseWebhookView.__init__(self, **kwargs)

    def validate_request(self, request):
        sns.verify(self._parse_sns_message(request))

    def esp_to_anymail_events(self, ses_event, sns_message):
        """One SES notification is one event per recipient: a notification that cannot be
        converted is flagged whole."""
        try:
            return super().esp_to_anymail_events(ses_event, sns_message)
        except _EVENT_BAD_INPUT as exc:
            return [self._unreadable(ses_event, exc)]

    def parse_events(self, request):
        sns_message = self._parse_sns_message(request)  # verified, and cached on the request
        if sns_message.get("Type") == "UnsubscribeConfirmation":
            # Our endpoint was unsubscribed from the topic (Anymail ignores the message): no more
            # SES events will arrive until someone subscribes it again, so a person should know.
            return [tracking_event_flag(esp_name=self.esp_name, esp_event=sns_message,
                                        problem=account_alert_problem("UnsubscribeConfirmation"),
                                        esp_event_type="UnsubscribeConfirmation")]
        return super().parse_events(request)

    def auto_confirm_sns_subscription(self, sns_message):
        if not self.basic_auth:
            raise AnymailWebhookValidationFailure("SNS SubscriptionConfirmation without WEBHOOK_SECRET")
        sns.confirm_subscription(sns_message)


def _batched(anymail_view, *mixins):
    return type(f"Lockline{anymail_view.__name__}", (BatchedTrackingMixin, *mixins, anymail_view), {})


# URL (under /anymail/) -> view class. Mandrill's one URL also carries inbound events; those
# pass through untouched (no tracking events to collect).
TRACKING_VIEWS = {
    "amazon_ses/tracking/": _batched(AmazonSESTrackingWebhookView, SnsVerifiedMixin),
    "brevo/tracking/": _batched(BrevoTrackingWebhookView, BrevoLenientMixin),
    "mailersend/tracking/": _batched(MailerSendTrackingWebhookView, MailerSendActivityMixin),
    "mailgun/tracking/": _batched(MailgunTrackingWebhookView, MailgunFreshnessMixin),
    "mailjet/tracking/": _batched(MailjetTrackingWebhookView),
    "mailtrap/tracking/": _batched(MailtrapTrackingWebhookView),
    "mandrill/": _batched(MandrillCombinedWebhookView),
    "mandrill/tracking/": _batched(MandrillCombinedWebhookView),
    "postal/tracking/": _batched(PostalTrackingWebhookView),
    "postmark/tracking/": _batched(PostmarkTrackingWebhookView),
    "resend/tracking/": _batched(ResendTrackingWebhookView, ResendEventsMixin),
    "sendgrid/tracking/": _batched(SendGridTrackingWebhookView, SendGridFreshnessMixin),
    "sendinblue/tracking/": _batched(SendinBlueTrackingWebhookView, BrevoLenientMixin),
    "sparkpost/tracking/": _batched(SparkPostTrackingWebhookView, SparkPostPerEventMixin),
    "unisender_go/tracking/": _batched(UnisenderGoTrackingWebhookView, UnisenderGoAllEventsMixin),
}
