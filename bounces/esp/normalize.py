"""One AnymailTrackingEvent -> one ``TrackingDraft``: classified, keyed, never raising.

The category rule (issue 5): the ESP's label gives ``esp_category``; a *specific* RFC 3463
status code (from the ESP's field or its diagnostic) overrides it where the two disagree (SES
labels 5.4.4 and 5.3.0 "Transient"); both are stored so disagreements per ESP can be counted.
Deferrals stay transient whatever their code; complaints and unsubscribes have no code.
"""
from __future__ import annotations

import json
import logging
from json.encoder import c_make_encoder, encode_basestring_ascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from anymail.signals import AnymailTrackingEvent, EventType
from django.conf import settings
from django.utils import timezone

from bounces.bulk import storable_text
from bounces.esp.status import find_smtp_code, find_status, generic_verdict, status_verdict
from bounces.esp.verdicts import ALERT, IGNORE, UNKNOWN, esp_verdict
from bounces.models import BounceCategory as Category
from bounces.models import EngagementEventType as Engagement
from bounces.services import bounce_dedupe_key
from campaigns.tokens import find_token, message_pk_from_token
from leads.models import normalize_email

logger = logging.getLogger(__name__)

BOUNCE = "bounce"
ENGAGEMENT = "engagement"
FLAG = "flag"
STALE = "stale"  # understood, but its timestamp is outside the tolerance window
ACCOUNT_ALERT = "account alert"  # how a flagged account alert's problem begins (the admin filters on it)

# Failure categories the status code may refine (not complaints, unsubscribes or deferrals).
_REFINABLE = {Category.HARD, Category.SOFT}
# Computed once: ``Engagement.values`` builds a new list (through the lazy labels) per call.
_ENGAGEMENT_KINDS = frozenset(Engagement.values)


@dataclass(slots=True)
class TrackingDraft:
    kind: str  # BOUNCE, ENGAGEMENT, IGNORE, FLAG or STALE
    esp_name: str
    esp_event_type: str = ""
    category: str = ""  # BounceCategory for bounces, EngagementEventType for engagement
    esp_category: str = ""
    email: str = ""
    occurred_at: datetime | None = None
    status: str = ""
    smtp_code: str = ""
    reason: str = ""
    diagnostic: str = ""
    remote_mta: str = ""
    esp_event_id: str | None = None
    esp_message_id: str = ""
    message_pk: int | None = None  # from our signed token (trusted)
    claimed_message_pk: int | None = None  # from unsigned metadata (checked against the recipient)
    click_url: str = ""
    user_agent: str = ""
    dedupe_key: str = ""
    raw: str = ""
    problem: str = ""


# json.dumps(value, default=str, separators=(",", ":")), with the C encoder built once instead
# of per call (a webhook batch encodes a thousand events). Compact: the spaces json.dumps puts
# after every comma and colon were a tenth of a stored event, written to the table and the WAL
# for every row (4 % of a 1,000-event batch, paired rounds, 2026-11-29); the admin indents the
# JSON when it shows it. ASCII escapes keep a lone surrogate as received. No cycle check: parsed
# JSON has no cycles, and a cycle would still end in RecursionError, which raw_text handles.
_RAW_JSON = json.JSONEncoder(default=str, separators=(",", ":"))
_raw_json_c = c_make_encoder and c_make_encoder(
    None, str, encode_basestring_ascii, None, _RAW_JSON.key_separator, _RAW_JSON.item_separator, False, False, True
)


def raw_text(esp_event) -> str:
    """The ESP's event as JSON text (QueryDicts keep every value of a repeated field)."""
    if hasattr(esp_event, "lists"):
        esp_event = {key: values if len(values) > 1 else values[0] for key, values in esp_event.lists()}
    try:
        if _raw_json_c is not None and isinstance(esp_event, dict):
            return "".join(_raw_json_c(esp_event, 0))  # in the ESP's own key order, as received
        return _RAW_JSON.encode(esp_event)
    except (TypeError, ValueError, RecursionError):
        return repr(esp_event)[:100_000]


@dataclass(frozen=True)
class Window:
    """The tolerance window for event timestamps, fixed at one moment (``now``)."""

    now: datetime
    earliest: datetime
    latest: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.earliest <= moment <= self.latest


def tolerance_window(now: datetime | None = None) -> Window:
    """LOCKLINE_WEBHOOK_MAX_AGE back and LOCKLINE_WEBHOOK_MAX_SKEW ahead of ``now``. A webhook
    request takes one for all its events (a batch is one delivery): the settings are read
    once per request, not once per event."""
    now = now or timezone.now()
    return Window(now=now, earliest=now - timedelta(seconds=settings.LOCKLINE_WEBHOOK_MAX_AGE),
                  latest=now + timedelta(seconds=settings.LOCKLINE_WEBHOOK_MAX_SKEW))


class UnreadableEvent(AnymailTrackingEvent):
    """Stands in a batch for one ESP event that Anymail could not convert; becomes a FLAG draft."""

    def __init__(self, *, esp_event, problem: str, esp_event_type: str = ""):
        super().__init__(event_type=EventType.UNKNOWN, esp_event=esp_event)
        self.problem = problem
        self.esp_event_type = esp_event_type


def tracking_draft(*, event, esp_name: str, window: Window | None = None) -> TrackingDraft:
    """Classify one event. Never raises: anything it cannot use comes back as a FLAG draft."""
    if isinstance(event, UnreadableEvent):
        return flag_draft(esp_name=esp_name, problem=event.problem, raw=raw_text(event.esp_event),
                          esp_event_type=event.esp_event_type)
    try:
        return _draft(event, esp_name, window or tolerance_window())
    except Exception as exc:  # noqa: BLE001 - a receiver that raises makes Anymail answer 500
        logger.warning("webhook event flagged: esp=%s problem=%r", esp_name, exc)
        return flag_draft(esp_name=esp_name, problem=f"unreadable event: {type(exc).__name__}: {exc}"[:2000],
                          raw=raw_text(getattr(event, "esp_event", None)))


def account_alert_problem(label: str) -> str:
    """What a flagged account alert says (the admin's filter reads its beginning)."""
    return f"{ACCOUNT_ALERT} {label!r}: about the sending account, not a recipient"


def flag_draft(*, esp_name: str, problem: str, raw: str, esp_event_type: str = "") -> TrackingDraft:
    key = "flag:" + bounce_dedupe_key(source="webhook", esp_name=esp_name, email="", category=FLAG, message_ref=raw)
    return TrackingDraft(kind=FLAG, esp_name=esp_name, esp_event_type=esp_event_type[:64], problem=problem,
                         raw=raw, dedupe_key=key[:128])


def _draft(event, esp_name: str, window: Window) -> TrackingDraft:
    verdict = esp_verdict(event, esp_name)
    if verdict.kind == IGNORE:
        return TrackingDraft(kind=IGNORE, esp_name=esp_name, esp_event_type=verdict.label)
    raw = raw_text(event.esp_event)  # not for ignored events: nothing stores them
    if verdict.kind in (UNKNOWN, ALERT):
        problem = account_alert_problem(verdict.label) if verdict.kind == ALERT else f"unknown event type {verdict.label!r}"
        return flag_draft(esp_name=esp_name, problem=problem, raw=raw, esp_event_type=verdict.label)
    email = normalize_email(event.recipient if isinstance(event.recipient, str) else "")
    local, _, domain = email.rpartition("@")
    if not (local and domain) or len(email) > 254 or not email.isprintable() or " " in email or storable_text(email) != email:
        return flag_draft(esp_name=esp_name, problem=f"no usable recipient ({event.recipient!r:.100})", raw=raw,
                          esp_event_type=verdict.label)
    timestamp = event.timestamp if isinstance(event.timestamp, datetime) else None
    if timestamp is not None and timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=timezone.utc)
    esp_message_id = event.message_id if isinstance(event.message_id, (str, int)) else ""
    esp_message_id = storable_text(str(esp_message_id).strip()[:255])
    draft = TrackingDraft(
        kind=ENGAGEMENT if verdict.kind in _ENGAGEMENT_KINDS else BOUNCE,
        esp_name=esp_name,
        esp_event_type=verdict.label[:64],
        email=email,
        occurred_at=timestamp or window.now,
        remote_mta=verdict.remote_mta[:255],
        # The ESP's id names the event for this recipient (SES covers several in one notification)
        # and this type: ids are not unique across types in every ESP's documented samples.
        esp_event_id=(verdict.event_id or None) and storable_text(f"{verdict.event_id}:{verdict.label}:{email}"[:255]),
        esp_message_id=esp_message_id,
        raw=raw,
    )
    _link_message(draft, event)
    if draft.kind == ENGAGEMENT:
        draft.category = verdict.kind
        draft.click_url = event.click_url if isinstance(event.click_url, str) else ""
        draft.user_agent = (event.user_agent if isinstance(event.user_agent, str) else "")[:1000]
    else:
        diagnostic = verdict.diagnostic or (event.mta_response if isinstance(event.mta_response, str) else "")
        draft.diagnostic = diagnostic[:10_000]
        draft.status = find_status(verdict.status) or find_status(diagnostic)
        draft.smtp_code = verdict.smtp_code or find_smtp_code(diagnostic)
        draft.esp_category = verdict.kind
        draft.category, draft.reason = (
            (verdict.kind, "") if verdict.settled else _category(verdict.kind, draft.status, draft.smtp_code)
        )
    # The ESP's label (not our category) goes into the key: a change of our classification
    # between two deliveries of one event must not make it two events. Without an event id,
    # two clicks on different links, or two campaigns' opens, in the same second are two events.
    draft.dedupe_key = bounce_dedupe_key(
        source="webhook",
        esp_name=esp_name,
        esp_event_id=draft.esp_event_id,
        email=email,
        category=f"{draft.kind}:{verdict.label}",
        message_ref=" ".join(filter(None, (esp_message_id, verdict.reference, draft.click_url))),
        status=draft.status,
        occurred_at=timestamp,
    )
    if timestamp is not None and timestamp not in window:
        draft.kind, draft.problem = STALE, f"event timestamp {timestamp.isoformat()} outside the tolerance window"
    return draft


def _category(esp_category: str, status: str, smtp_code: str) -> tuple[str, str]:
    if esp_category not in _REFINABLE:
        return esp_category, {Category.COMPLAINT: "feedback", Category.TRANSIENT: "", Category.UNSUBSCRIBE: ""}.get(
            esp_category, ""
        )
    specific = status_verdict(status)
    if specific is not None:
        return specific
    if esp_category:
        return esp_category, ""
    return generic_verdict(status, smtp_code) or Category.SOFT, ""


def _link_message(draft: TrackingDraft, event) -> None:
    """Our message id from Anymail metadata (signed token first) or a token in the tags."""
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    token = metadata.get("lockline_token")
    if isinstance(token, str):
        draft.message_pk = message_pk_from_token(token)
    if draft.message_pk is None and isinstance(event.tags, list):
        draft.message_pk = find_token(" ".join(t for t in event.tags if isinstance(t, str)))
    claimed = metadata.get("lockline_message_id")
    if isinstance(claimed, (int, str)) and str(claimed).isdigit() and len(str(claimed)) < 19:
        draft.claimed_message_pk = int(claimed)


def signed_timestamp_ok(timestamp: datetime) -> bool:
    """Whether a request's signed timestamp (Mailgun, SendGrid, SNS) is inside the window."""
    return timestamp in tolerance_window()
