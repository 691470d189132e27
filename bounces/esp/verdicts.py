"""What each ESP itself says about an event, read from its raw ``esp_event``.

Anymail normalises every failure to ``bounced``/``rejected``/``failed``/``deferred``; the ESP's
own label says more (SES Permanent vs Transient, SendGrid bounce vs blocked, Mailgun permanent
vs temporary). Each function here returns an ``EspVerdict``: the ESP's label, the category
that label alone implies, and any status code, diagnostic and stable event id the ESP gave.
The status code has the last word later (``normalize``). Functions may raise on a malformed
event; the caller turns that into a flagged event.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from anymail.signals import EventType

from bounces.esp.status import find_smtp_code, find_status
from bounces.models import BounceCategory as Category
from bounces.models import EngagementEventType as Engagement

IGNORE = "ignore"  # known and not about deliverability (queued, sent, subscribed, auto-replies)
UNKNOWN = ""  # not understood: flagged for a human
ALERT = "alert"  # about our sending account (a suspension, a send limit, our DNS): flagged for a human


@dataclass
class EspVerdict:
    label: str  # the ESP's own event label, kept as BounceEvent.esp_event_type
    kind: str  # a BounceCategory or EngagementEventType value, IGNORE or UNKNOWN
    status: str = ""  # an enhanced status code from the ESP's own field
    smtp_code: str = ""
    diagnostic: str = ""
    remote_mta: str = ""
    event_id: str | None = None  # the ESP's id for this event, only where stable across retries
    # Without a stable id, what else tells two events apart when their recipient, type, message
    # id and timestamp are alike (a campaign id, an ESP-internal message id).
    reference: str = ""
    # The label settles the category: the status code in the diagnostic is the ESP's own (its
    # suppression list's "5.7.1"), not a receiving server's, and does not overrule it.
    settled: bool = False


def _dig(value, *keys):
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _ses_recipient(records, recipient) -> dict | None:
    """This recipient's entry in an SES recipient list (bouncedRecipients, delayedRecipients)."""
    if not isinstance(recipient, str) or not recipient:
        return None
    return next((r for r in records or [] if _text(_dig(r, "emailAddress")).lower() == recipient.lower()), None)


def _text(value) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


# Anymail's normalised type, for ESPs without a table and for labels a table does not know.
_FALLBACK = {
    EventType.BOUNCED: Category.SOFT,
    EventType.REJECTED: Category.SOFT,
    EventType.FAILED: Category.SOFT,
    EventType.DEFERRED: Category.TRANSIENT,
    EventType.COMPLAINED: Category.COMPLAINT,
    EventType.UNSUBSCRIBED: Category.UNSUBSCRIBE,
    EventType.DELIVERED: Engagement.DELIVERED,
    EventType.OPENED: Engagement.OPENED,
    EventType.CLICKED: Engagement.CLICKED,
    EventType.QUEUED: IGNORE,
    EventType.SENT: IGNORE,
    EventType.SUBSCRIBED: IGNORE,
    EventType.AUTORESPONDED: IGNORE,
}


def fallback(event) -> EspVerdict:
    return EspVerdict(label=_text(event.event_type), kind=_FALLBACK.get(event.event_type, UNKNOWN),
                      diagnostic=_text(event.mta_response or event.description))


def amazon_ses(event) -> EspVerdict:
    raw = event.esp_event
    kind_of = _text(raw.get("eventType") or raw.get("notificationType"))
    if kind_of == "Bounce":
        bounce = raw["bounce"]
        bounce_type, subtype = _text(bounce.get("bounceType")), _text(bounce.get("bounceSubType"))
        mine = _ses_recipient(bounce.get("bouncedRecipients"), event.recipient) or {}
        return EspVerdict(
            label=f"{bounce_type}/{subtype}",
            # Permanent covers General, NoEmail, Suppressed, OnAccountSuppressionList; Transient
            # covers MailboxFull, MessageTooLarge, ContentRejected, AttachmentRejected, General.
            kind={"Permanent": Category.HARD, "Transient": Category.SOFT, "Undetermined": Category.SOFT}.get(
                bounce_type, Category.SOFT
            ),
            status=_text(mine.get("status")),
            diagnostic=_text(mine.get("diagnosticCode")),
            remote_mta=_text(bounce.get("reportingMTA") or bounce.get("remoteMtaIp")),
            event_id=_text(event.event_id) or None,  # the SNS MessageId: kept across SNS retries
        )
    if kind_of == "DeliveryDelay":
        delay = raw.get("deliveryDelay") or {}
        label = f"DeliveryDelay/{_text(delay.get('delayType'))}"
        mine = _ses_recipient(delay.get("delayedRecipients"), event.recipient)
        if mine is None:
            # Anymail makes one event per recipient of the message; the delay is about the
            # delayedRecipients only, the others were not delayed.
            return EspVerdict(label=label, kind=IGNORE)
        return EspVerdict(label=label, kind=Category.TRANSIENT,
                          status=_text(mine.get("status")), diagnostic=_text(mine.get("diagnosticCode")),
                          remote_mta=_text(delay.get("reportingMTA")), event_id=_text(event.event_id) or None)
    if kind_of == "Subscription":
        # A subscription-management change (an unsubscribe link or List-Unsubscribe header):
        # only "unsubscribe from all" is an unsubscribe; a topic preference change is not ours.
        unsubscribed = _dig(raw, "subscription", "newTopicPreferences", "unsubscribeAll") is True
        return EspVerdict(label="Subscription/unsubscribeAll" if unsubscribed else "Subscription",
                          kind=Category.UNSUBSCRIBE if unsubscribed else IGNORE, event_id=_text(event.event_id) or None)
    if kind_of == "Complaint" and _dig(raw, "complaint", "complaintFeedbackType") == "not-spam":
        # A feedback report saying the message is *not* spam: the opposite of a complaint.
        return EspVerdict(label="Complaint/not-spam", kind=IGNORE)
    simple = {
        "Complaint": Category.COMPLAINT,
        "Delivery": Engagement.DELIVERED,
        "Open": Engagement.OPENED,
        "Click": Engagement.CLICKED,
        # SES refused (a virus) or could not render: nothing the recipient did.
        "Reject": Category.TRANSIENT,
        "Rendering Failure": Category.TRANSIENT,
        "Send": IGNORE,
    }
    label = kind_of
    if kind_of == "Complaint":
        label = f"Complaint/{_text(_dig(raw, 'complaint', 'complaintFeedbackType'))}"
    return EspVerdict(label=label, kind=simple.get(kind_of, UNKNOWN),
                      diagnostic=_text(_dig(raw, "delivery", "smtpResponse")), event_id=_text(event.event_id) or None)


# Postmark's bounce types (its "Bounce types" reference, by TypeCode).
_POSTMARK_BOUNCE = {
    "HardBounce": Category.HARD,
    "BadEmailAddress": Category.HARD,
    "ManuallyDeactivated": Category.HARD,
    "SoftBounce": Category.SOFT,
    "Unknown": Category.SOFT,
    "Blocked": Category.SOFT,
    "Unconfirmed": Category.SOFT,
    # 512: "delivered, but was either blocked by the user, or classified as spam, bulk mail, or
    # had rejected content": the receiving system's filter, not a person's complaint nor a
    # missing mailbox.
    "SpamNotification": Category.SOFT,
    # 100009: rejected for the sending domain's DMARC policy: our authentication, not the address.
    "DMARCPolicy": Category.TRANSIENT,
    "Transient": Category.TRANSIENT,
    "DnsError": Category.TRANSIENT,
    "OpenRelayTest": Category.TRANSIENT,
    "VirusNotification": Category.TRANSIENT,
    "SMTPApiError": Category.TRANSIENT,
    "TemplateRenderingFailed": Category.TRANSIENT,
    "SpamComplaint": Category.COMPLAINT,
    "Unsubscribe": Category.UNSUBSCRIBE,
    "ManualSuppression": Category.UNSUBSCRIBE,
    "AutoResponder": IGNORE,
    "AddressChange": IGNORE,
    "ChallengeVerification": IGNORE,
    "Subscribe": IGNORE,
    "InboundError": IGNORE,
}


def postmark(event) -> EspVerdict:
    raw = event.esp_event
    record = _text(raw.get("RecordType"))
    if record in ("Bounce", "SpamComplaint"):
        bounce_type = _text(raw.get("Type"))
        # Postmark's ID is stable on bounce and complaint records only.
        return EspVerdict(label=f"{record}/{bounce_type}", kind=_POSTMARK_BOUNCE.get(bounce_type, Category.SOFT
                          if record == "Bounce" else Category.COMPLAINT),
                          diagnostic=_text(raw.get("Details") or raw.get("Description")),
                          event_id=_text(raw.get("ID")) or None)
    if record == "SubscriptionChange":
        reason = _text(raw.get("SuppressionReason"))
        if not raw.get("SuppressSending", True):
            return EspVerdict(label=f"SubscriptionChange/reactivated", kind=IGNORE)
        return EspVerdict(label=f"SubscriptionChange/{reason}", kind={
            "HardBounce": Category.HARD, "SpamComplaint": Category.COMPLAINT, "ManualSuppression": Category.UNSUBSCRIBE,
        }.get(reason, Category.UNSUBSCRIBE))
    kind = {"Delivery": Engagement.DELIVERED, "Open": Engagement.OPENED, "Click": Engagement.CLICKED}.get(record, UNKNOWN)
    return EspVerdict(label=record, kind=kind, diagnostic=_text(raw.get("Details")))


# SendGrid's documented dropped reasons, matched case-insensitively by prefix ("Spam Content (if
# spam checker app enabled)", "Bounced Address: ..."), in order: "invalid smtpapi header" (our
# request) before the bare "invalid" (an invalid address).
_SENDGRID_DROPPED = (
    ("bounced address", Category.HARD),
    ("unsubscribed address", Category.UNSUBSCRIBE),
    ("spam reporting address", Category.COMPLAINT),
    ("invalid smtpapi header", Category.TRANSIENT),
    ("spam content", Category.TRANSIENT),
    ("invalid", Category.HARD),
)


def _sendgrid_dropped(reason: str) -> str:
    reason = reason.strip().casefold()
    # Anything else (spam content, package quota) is about our sending, not the address.
    return next((kind for prefix, kind in _SENDGRID_DROPPED if reason.startswith(prefix)), Category.TRANSIENT)


def sendgrid(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("event"))
    diagnostic = _text(raw.get("reason") or raw.get("response"))
    status = _text(raw.get("status"))
    if name == "bounce":
        bounce_type = _text(raw.get("type")) or "bounce"
        # SendGrid's bounce classification: only an invalid address (or a mailbox that is gone)
        # is about the recipient; reputation, content, volume and technical failures are about
        # our sending, so soft, as blocks are. A specific status code still has the last word.
        # (The label stays "bounce/<type>": it is part of the event's key.)
        classification = _text(raw.get("bounce_classification"))
        soft = bounce_type == "blocked" or classification in _SENDGRID_SENDER_SIDE
        return EspVerdict(label=f"bounce/{bounce_type}", kind=Category.SOFT if soft else Category.HARD,
                          status=status, diagnostic=diagnostic)
    if name == "dropped":
        reason = _text(raw.get("reason"))
        return EspVerdict(label=f"dropped/{reason}", kind=_sendgrid_dropped(reason), diagnostic=diagnostic)
    # sg_event_id is not used as a key: it has been seen to change across retries.
    return EspVerdict(label=name, kind=_SENDGRID_KINDS.get(name, UNKNOWN), status=status, diagnostic=diagnostic)


_SENDGRID_SENDER_SIDE = frozenset({"Reputation", "Content", "Frequency or Volume Too High", "Technical Failure"})

_SENDGRID_KINDS = {  # built once: SendGrid posts its events a thousand at a time
    "deferred": Category.TRANSIENT,
    "spamreport": Category.COMPLAINT,
    "unsubscribe": Category.UNSUBSCRIBE,
    "group_unsubscribe": Category.UNSUBSCRIBE,
    "delivered": Engagement.DELIVERED,
    "open": Engagement.OPENED,
    "click": Engagement.CLICKED,
    "processed": IGNORE,
    "group_resubscribe": IGNORE,
    # SendGrid's notice that our account was suspended or reactivated (its compliance team).
    "account_status_change": ALERT,
}


def mailgun(event) -> EspVerdict:
    raw = event.esp_event
    # Legacy form-encoded webhooks arrive as a QueryDict, which *is* a dict: test for the
    # QueryDict's own method, not for dict (that sent every legacy event to the JSON path).
    if hasattr(raw, "getlist"):
        return _mailgun_legacy(event)
    data = raw["event-data"]
    name = _text(data.get("event"))
    delivery = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    diagnostic = _text(delivery.get("message") or delivery.get("description"))
    # Anymail's event_id for Mailgun is the signature token (new on every delivery attempt);
    # Mailgun's own event id is event-data.id.
    event_id = _text(data.get("id")) or None
    common = dict(status=_text(delivery.get("enhanced-code")), smtp_code=find_code(delivery.get("code")),
                  diagnostic=diagnostic, remote_mta=_text(delivery.get("mx-host")), event_id=event_id)
    if name == "failed":
        severity, reason = _text(data.get("severity")), _text(data.get("reason"))
        if severity == "temporary":
            kind = Category.TRANSIENT  # one failed attempt; Mailgun retries
        else:
            kind = {
                "suppress-unsubscribe": Category.UNSUBSCRIBE,
                "suppress-complaint": Category.COMPLAINT,
                "old": Category.SOFT,  # retries ran out: the server kept failing temporarily
                "espblock": Category.SOFT,
            }.get(reason, Category.HARD)
        return EspVerdict(label=f"failed/{severity}/{reason}", kind=kind, **common)
    kind = {
        "delivered": Engagement.DELIVERED,
        "opened": Engagement.OPENED,
        "clicked": Engagement.CLICKED,
        "complained": Category.COMPLAINT,
        "unsubscribed": Category.UNSUBSCRIBE,
        "rejected": Category.TRANSIENT,  # Mailgun refused our send request: not the recipient
        "accepted": IGNORE,
        "stored": IGNORE,
        # Mailing-list uploads (its "list_member_uploaded", "list_member_upload_error", "list_uploaded"):
        # changes to a Mailgun list, not a message to a recipient.
        "list_member_uploaded": IGNORE,
        "list_member_upload_error": IGNORE,
        "list_uploaded": IGNORE,
    }.get(name, UNKNOWN)
    return EspVerdict(label=name, kind=kind, **common)


def find_code(value) -> str:
    return find_smtp_code(value)


# Mailgun's legacy "dropped" codes (its 6xx extensions): the address is on one of our
# domain's suppression lists. Without a code, "hardfail" is one of those three too.
_MAILGUN_LEGACY_DROPPED = {"605": Category.HARD, "606": Category.UNSUBSCRIBE, "607": Category.COMPLAINT}
# Fields that change on every delivery of one legacy event (the signature), left out of its key.
_MAILGUN_SIGNATURE_FIELDS = frozenset({"timestamp", "token", "signature"})


def _mailgun_legacy(event) -> EspVerdict:
    raw = event.esp_event

    def first(field: str) -> str:
        # The first value: Mailgun merges user-variables into the same form, and a variable
        # named like an event field comes after it.
        values = raw.getlist(field)
        return _text(values[0]) if values else ""

    name, code, reason = first("event"), first("code"), first("reason")
    diagnostic = first("error") or first("notification") or first("description")
    if name == "dropped":
        # "old" (retries ran out) and "maxfails" (too many soft failures) are not about the address.
        kind = _MAILGUN_LEGACY_DROPPED.get(code) or (Category.HARD if reason == "hardfail" else Category.SOFT)
    else:
        kind = {
            "bounced": Category.HARD,  # the legacy "bounced" webhook is Mailgun's permanent failure
            "complained": Category.COMPLAINT,
            "unsubscribed": Category.UNSUBSCRIBE,
            "delivered": Engagement.DELIVERED,
            "opened": Engagement.OPENED,
            "clicked": Engagement.CLICKED,
        }.get(name, UNKNOWN)
    if first("severity") == "temporary" and kind in (Category.HARD, Category.SOFT):
        kind = Category.TRANSIENT
    # No Mailgun event id, and the token (Anymail's event_id) and timestamp are new on every
    # delivery: a digest of every other field, all values in order, names the event.
    fields = sorted((key, values) for key, values in raw.lists() if key not in _MAILGUN_SIGNATURE_FIELDS)
    digest = hashlib.sha256(json.dumps(fields).encode()).hexdigest()
    return EspVerdict(label=f"legacy/{name}", kind=kind, status=find_status(code), smtp_code=find_code(code),
                      diagnostic=diagnostic, event_id=f"legacy-{digest}")


def mandrill(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("event") or raw.get("type"))
    msg = raw.get("msg") if isinstance(raw.get("msg"), dict) else {}
    kind = {
        "hard_bounce": Category.HARD,
        "soft_bounce": Category.SOFT,
        "deferral": Category.TRANSIENT,
        "spam": Category.COMPLAINT,
        "unsub": Category.UNSUBSCRIBE,
        "reject": Category.SOFT,  # on Mandrill's rejection list (an earlier bounce or complaint)
        "open": Engagement.OPENED,
        "click": Engagement.CLICKED,
        "send": IGNORE,
        "whitelist": IGNORE,
        "blacklist": IGNORE,
    }.get(name, UNKNOWN)
    label = name + (f"/{msg['bounce_description']}" if _text(msg.get("bounce_description")) else "")
    return EspVerdict(label=label, kind=kind, diagnostic=_text(msg.get("diag")))


def brevo(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("event"))
    kind = {
        "hard_bounce": Category.HARD,
        "invalid_email": Category.HARD,
        "soft_bounce": Category.SOFT,
        "blocked": Category.SOFT,
        "deferred": Category.TRANSIENT,
        "error": Category.TRANSIENT,
        "spam": Category.COMPLAINT,
        "complaint": Category.COMPLAINT,
        "unsubscribe": Category.UNSUBSCRIBE,
        "unsubscribed": Category.UNSUBSCRIBE,  # the marketing webhooks' spelling
        "delivered": Engagement.DELIVERED,
        "opened": Engagement.OPENED,
        "unique_opened": Engagement.OPENED,
        "proxy_open": Engagement.OPENED,
        "unique_proxy_open": Engagement.OPENED,
        "click": Engagement.CLICKED,
        "request": IGNORE,
        # The marketing webhooks' contact list events: a list or a contact's attributes changed.
        "list_addition": IGNORE,
        "contact_updated": IGNORE,
        "contact_deleted": IGNORE,
    }.get(name, UNKNOWN)
    # Marketing-campaign events carry no message id and no ts_epoch: the campaign and the
    # event's own time tell them apart.
    reference = "" if raw.get("message-id") else f"{_text(raw.get('camp_id'))}/{_text(raw.get('ts_event') or raw.get('date_event'))}"
    return EspVerdict(label=name, kind=kind, diagnostic=_text(raw.get("reason")), reference=reference.strip("/"))


# Mailjet's documented bounce and blocked errors (error_related_to / error). Left out, so that
# hard_bounce decides: "no mail host" and "relay/access denied" (a dead domain or a refusal).
_MAILJET_ERRORS = {
    # recipient
    "user unknown": Category.HARD,
    "mailbox inactive": Category.HARD,  # inactive too long: most likely closed
    "quota exceeded": Category.SOFT,
    "blacklisted": Category.UNSUBSCRIBE,  # on our account's exclusion list: we chose not to send
    "spam reporter": Category.COMPLAINT,
    # domain
    "invalid domain": Category.HARD,
    "typofix": Category.HARD,  # a typo in the domain: the address as given does not exist
    "greylisted": Category.TRANSIENT,  # Mailjet retries
    # content: our template, not the address
    "bad or empty template": Category.TRANSIENT,
    "error in template language": Category.TRANSIENT,
    # spam: a block of our sender or content says nothing about the mailbox
    "sender blocked": Category.SOFT,
    "content blocked": Category.SOFT,
    "policy issue": Category.SOFT,
    # system: Mailjet's side, never permanent
    "system issue": Category.TRANSIENT,
    "protocol issue": Category.TRANSIENT,
    "connection issue": Category.TRANSIENT,
    # mailjet
    "preblocked": Category.HARD,  # not sent: the address recently or repeatedly bounced
    "duplicate in campaign": IGNORE,  # X-Mailjet-DeduplicateCampaign: the first copy was sent
}


def mailjet(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("event"))
    error = _text(raw.get("error"))
    label = name + (f"/{raw.get('error_related_to')}/{error}" if error else "")
    if name in ("bounce", "blocked"):
        kind = _MAILJET_ERRORS.get(error.strip().lower())
        if kind is None:  # ambiguous or undocumented: Mailjet's own hard_bounce flag decides
            kind = Category.HARD if raw.get("hard_bounce") is True else Category.SOFT
    else:
        kind = {"spam": Category.COMPLAINT, "unsub": Category.UNSUBSCRIBE, "sent": Engagement.DELIVERED,
                "open": Engagement.OPENED, "click": Engagement.CLICKED}.get(name, UNKNOWN)
    # Grouped events may carry only Mailjet's internal mj_message_id, not the MessageID.
    return EspVerdict(label=label, kind=kind, diagnostic=_text(raw.get("smtp_reply")),
                      reference="" if raw.get("MessageID") else _text(raw.get("mj_message_id")))


_SPARKPOST_CLASSES = {
    # SparkPost's bounce classes: 10, 30 and 90 are its hard classes.
    "10": Category.HARD, "30": Category.HARD, "90": Category.UNSUBSCRIBE,
    "25": Category.TRANSIENT,  # admin failure: SparkPost's policy for our account
    "52": Category.TRANSIENT, "53": Category.TRANSIENT,  # our content or attachment
    "60": IGNORE, "80": IGNORE, "100": IGNORE,  # auto-reply, subscribe, challenge-response
}


# SparkPost's documented event classes that are not about a recipient of our mail: inbound relay,
# A/B test and bulk ingest events. A webhook set to "all events" posts them too.
_SPARKPOST_OTHER_CLASSES = frozenset({"relay_event", "ab_test_event", "ingest_event"})


# SparkPost's reason for a recipient on its suppression list ("... due to customer policy" or
# "... due to system policy").
_SPARKPOST_SUPPRESSED = "recipient address was suppressed due to"


def sparkpost(event) -> EspVerdict:
    ((event_class, payload),) = event.esp_event["msys"].items()
    name = _text(payload.get("type"))
    if event_class in _SPARKPOST_OTHER_CLASSES:
        return EspVerdict(label=f"{event_class}/{name}", kind=IGNORE)
    common = dict(diagnostic=_text(payload.get("raw_reason") or payload.get("reason")),
                  smtp_code=find_code(payload.get("error_code")), event_id=_text(payload.get("event_id")) or None)
    if _SPARKPOST_SUPPRESSED in common["diagnostic"].lower():
        # The address is on SparkPost's suppression list (an earlier hard bounce, complaint or
        # unsubscribe; SparkPost posts it as a class 25 bounce or a policy rejection and does not
        # say which): not sent, and not to be sent to, as Resend's email.suppressed.
        return EspVerdict(label=f"{name}/suppressed", kind=Category.HARD, settled=True, **common)
    if name in ("bounce", "out_of_band"):
        bounce_class = _text(payload.get("bounce_class"))
        return EspVerdict(label=f"{name}/{bounce_class}", kind=_SPARKPOST_CLASSES.get(bounce_class, Category.SOFT), **common)
    kind = {
        "delay": Category.TRANSIENT,
        "policy_rejection": Category.TRANSIENT,
        "generation_failure": Category.TRANSIENT,
        "generation_rejection": Category.TRANSIENT,
        "spam_complaint": Category.COMPLAINT,
        "list_unsubscribe": Category.UNSUBSCRIBE,
        "link_unsubscribe": Category.UNSUBSCRIBE,
        "delivery": Engagement.DELIVERED,
        "open": Engagement.OPENED,
        "initial_open": Engagement.OPENED,
        "amp_open": Engagement.OPENED,
        "amp_initial_open": Engagement.OPENED,
        "click": Engagement.CLICKED,
        "amp_click": Engagement.CLICKED,
        "injection": IGNORE,
    }.get(name, UNKNOWN)
    return EspVerdict(label=name, kind=kind, **common)


def resend(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("type"))
    # No event id: the svix-id header is kept across Svix's own retries, but it names a
    # delivery, not the event: the same event posted under another svix-id would count twice.
    # The digest of the event (its email id, type and created_at) is the same every time.
    if name == "email.bounced":
        # Resend documents email.bounced as a permanent rejection; only a bounce typed Transient or
        # Undetermined says otherwise. Its earlier posts carried no type at all (just a message).
        bounce = _dig(raw, "data", "bounce") or {}
        bounce_type = _text(bounce.get("type"))
        return EspVerdict(label=f"bounced/{bounce_type}/{_text(bounce.get('subType'))}",
                          kind=Category.HARD if bounce_type in ("Permanent", "") else Category.SOFT,
                          diagnostic=_text(bounce.get("message")))
    if name == "email.failed":
        # Resend could not send: "invalid recipients, API key problems, domain verification
        # issues, email quota limits". Only an invalid recipient is about the address.
        reason = _text(_dig(raw, "data", "failed", "reason"))
        invalid = "recipient" in reason.lower()
        return EspVerdict(label=f"failed/{reason}" if reason else "failed",
                          kind=Category.HARD if invalid else Category.TRANSIENT, diagnostic=reason)
    if name.startswith("domain."):  # a sending domain was created, verified or deleted
        return EspVerdict(label=name, kind=IGNORE)
    if name.startswith("contact."):
        # An audience contact was created, updated or deleted: only a contact now marked
        # unsubscribed says anything about sending to that address.
        unsubscribed = name == "contact.updated" and _dig(raw, "data", "unsubscribed") is True
        return EspVerdict(label=f"{name}/unsubscribed" if unsubscribed else name,
                          kind=Category.UNSUBSCRIBE if unsubscribed else IGNORE)
    kind = {
        "email.delivery_delayed": Category.TRANSIENT,
        # Not sent: the address is on Resend's suppression list (an earlier hard bounce or complaint).
        "email.suppressed": Category.HARD,
        "email.complained": Category.COMPLAINT,
        "email.delivered": Engagement.DELIVERED,
        "email.opened": Engagement.OPENED,
        "email.clicked": Engagement.CLICKED,
        "email.sent": IGNORE,
        "email.scheduled": IGNORE,
    }.get(name, UNKNOWN)
    return EspVerdict(label=name, kind=kind)


def mailersend(event) -> EspVerdict:
    data = event.esp_event["data"]
    name = _text(data.get("type"))
    if name.startswith("survey_"):  # survey_opened, survey_submitted: a survey, not the mail
        return EspVerdict(label=name, kind=IGNORE)
    kind = {
        "hard_bounced": Category.HARD,
        "soft_bounced": Category.SOFT,
        "deferred": Category.TRANSIENT,  # not delivered yet; MailerSend retries
        "spam_complaint": Category.COMPLAINT,
        "unsubscribed": Category.UNSUBSCRIBE,
        "delivered": Engagement.DELIVERED,
        "opened": Engagement.OPENED,
        "opened_unique": Engagement.OPENED,
        "clicked": Engagement.CLICKED,
        "clicked_unique": Engagement.CLICKED,
        "sent": IGNORE,
    }.get(name, UNKNOWN)
    morph = data.get("morph") if isinstance(data.get("morph"), dict) else {}
    return EspVerdict(label=name, kind=kind, diagnostic=_text(morph.get("reason") or morph.get("readable_reason")),
                      event_id=_text(data.get("id")) or None)


def postal(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("event"))
    payload = raw.get("payload") if isinstance(raw.get("payload"), dict) else {}
    kind = {
        "MessageDeliveryFailed": Category.HARD,
        "MessageBounced": Category.HARD,
        "MessageDelayed": Category.TRANSIENT,
        "MessageSent": Engagement.DELIVERED,
        "MessageLoaded": Engagement.OPENED,
        "MessageLinkClicked": Engagement.CLICKED,
        "MessageHeld": IGNORE,
        # Postal's server-wide webhooks: our domain's DNS is wrong, or our send limit is near or
        # passed. No recipient is at fault, but a person should know before more mail is held.
        "DomainDNSError": ALERT,
        "SendLimitApproaching": ALERT,
        "SendLimitExceeded": ALERT,
    }.get(name, UNKNOWN)
    if not name:  # older Postal posts carry no event name: use Anymail's reading
        return fallback(event)
    details = _text(payload.get("details"))
    label = name
    lowered = details.lower()
    if name == "MessageDeliveryFailed" and any(text in lowered for text in _POSTAL_OUR_FAILURES):
        # Postal gave up before any recipient server said anything: our message scored as spam
        # in its own outbound check, or our sending domain is gone. Not the address's fault.
        label, kind = f"{name}/ours", Category.TRANSIENT
    elif name == "MessageHeld" and "suppression list" in lowered:
        # Postal holds mail to an address on its suppression list (too many hard fails).
        label, kind = f"{name}/suppressed", Category.HARD
    elif name == "MessageHeld" and "send limit" in lowered:
        label, kind = f"{name}/send limit", ALERT
    return EspVerdict(label=label, kind=kind, diagnostic=_text(payload.get("output")) or details,
                      event_id=_text(raw.get("uuid")) or None)


# What Postal writes in a HardFail's details when it failed on our side (its outbound spam
# check, our domain gone, no recipient in our message), in lower case.
_POSTAL_OUR_FAILURES = ("message is likely spam", "domain no longer exist", "doesn't have an rcpt to")


def mailtrap(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("event"))
    kind = {
        "bounce": Category.HARD,
        # "Temporary failure (will retry)": Mailtrap tries again and reports a delivery or a
        # bounce; like SendGrid's deferred, each attempt says nothing against the address yet.
        "soft bounce": Category.TRANSIENT,
        "reject": Category.SOFT,
        "suspension": Category.TRANSIENT,
        "spam": Category.COMPLAINT,
        "unsubscribe": Category.UNSUBSCRIBE,
        "delivery": Engagement.DELIVERED,
        "open": Engagement.OPENED,
        "click": Engagement.CLICKED,
    }.get(name, UNKNOWN)
    label = name + (f"/{raw['bounce_category']}" if _text(raw.get("bounce_category")) else "")
    return EspVerdict(label=label, kind=kind, diagnostic=_text(raw.get("response") or raw.get("reason")),
                      smtp_code=find_code(raw.get("response_code")), event_id=_text(raw.get("event_id")) or None)


# Unisender Go's delivery_status values for hard_bounced and soft_bounced (its email statuses
# reference): the address, the recipient's choice, or our sending.
_UNISENDER_DELIVERY = {
    "err_user_unknown": Category.HARD,
    "err_user_inactive": Category.HARD,  # exists but disabled by its provider
    "err_mailbox_discarded": Category.HARD,  # the mailbox was deleted
    "err_domain_inactive": Category.HARD,  # the domain takes no mail or does not exist
    "err_skip_letter": Category.HARD,  # not sent: Unisender Go holds the address as unavailable
    "err_unsubscribed": Category.UNSUBSCRIBE,  # not sent: the recipient unsubscribed earlier
    "err_spam_skipped": Category.COMPLAINT,  # not sent: the recipient reported earlier mail as spam
    "err_will_retry": Category.TRANSIENT,  # one attempt failed; Unisender Go retries
    "err_mailbox_full": Category.SOFT,
    "err_over_quota": Category.SOFT,  # the recipient's storage quota, like a full mailbox
    "err_unreachable": Category.SOFT,  # the server could not be reached over the retry period
    "err_destination_misconfigured": Category.SOFT,  # the receiving side's setup, may be fixed
    "err_delivery_failed": Category.SOFT,  # other reasons: the status code, if any, refines it
    # Filters and blocks, not the mailbox.
    "err_spam_rejected": Category.SOFT,
    "err_spam_folder": Category.SOFT,
    "err_blacklisted": Category.SOFT,  # our sending IP or domain is on a block list
    # Our message, our account or Unisender Go's side: the address is not at fault.
    "err_too_large": Category.TRANSIENT,
    "err_not_allowed": Category.TRANSIENT,  # sending refused for our account
    "err_lost": Category.TRANSIENT,
    "err_internal": Category.TRANSIENT,
}


def unisender_go(event) -> EspVerdict:
    raw = event.esp_event
    name = _text(raw.get("status"))
    info = raw.get("delivery_info") if isinstance(raw.get("delivery_info"), dict) else {}
    delivery_status = _text(info.get("delivery_status"))
    kind = {
        # The delivery_status says why (below); without one, the status alone.
        "hard_bounced": _UNISENDER_DELIVERY.get(delivery_status, Category.HARD),
        "soft_bounced": _UNISENDER_DELIVERY.get(delivery_status, Category.SOFT),
        "spam": Category.COMPLAINT,
        "unsubscribed": Category.UNSUBSCRIBE,
        "delivered": Engagement.DELIVERED,
        "opened": Engagement.OPENED,
        "clicked": Engagement.CLICKED,
        "sent": IGNORE,
        "subscribed": IGNORE,
    }.get(name, UNKNOWN)
    return EspVerdict(label=f"{name}/{delivery_status}" if delivery_status else name, kind=kind,
                      diagnostic=_text(info.get("destination_response")))


BY_ESP = {
    "Amazon SES": amazon_ses,
    "Postmark": postmark,
    "SendGrid": sendgrid,
    "Mailgun": mailgun,
    "Mandrill": mandrill,
    "Brevo": brevo,
    "SendinBlue": brevo,
    "Mailjet": mailjet,
    "SparkPost": sparkpost,
    "Resend": resend,
    "MailerSend": mailersend,
    "Postal": postal,
    "Mailtrap": mailtrap,
    "Unisender Go": unisender_go,
}


def esp_verdict(event, esp_name: str) -> EspVerdict:
    """The ESP's own verdict on one AnymailTrackingEvent. May raise on a malformed event."""
    verdict = BY_ESP.get(esp_name, fallback)(event)
    if verdict.kind == UNKNOWN and event.event_type in _FALLBACK:
        # A label this table does not know (an ESP added one): Anymail's reading will do.
        verdict.kind = _FALLBACK[event.event_type]
    return verdict
