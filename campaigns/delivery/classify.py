"""Classify a send-time failure as hard / soft / transient with a reason.

One table (``RULES``) maps the SMTP reply code, the RFC 3463 enhanced status code and the
diagnostic text to a category, Sisimai's reason (kept in BounceEvent.reason so the bounce-mail
parser and this classifier share a vocabulary) and our finer ``detail``. The first matching rule
wins, so specific rules come first. The functions below only extract (code, status, text) from
smtplib's and Anymail's exceptions and hand them to the table.

Decisions worth knowing:

- 554 5.7.1 (policy or spam block) is ``blocked``: the content or our reputation was refused,
  not the address. It is recorded as transient (never counts against the lead), the message
  fails without retry, and the campaign is paused after LOCKLINE_BLOCKS_PAUSE_CAMPAIGN blocks.
- A refused MAIL FROM, a failed connection or a failing ESP API says nothing about the
  recipient (``recipient_specific=False``): retried on the schedule of its category but not
  recorded as a bounce of the address, so an outage of our relay cannot suppress a list.
- Unknown 5xx replies are hard (a permanent reply is permanent, as in Postfix); unknown 4xx are
  transient (retried, never counted).
"""
from __future__ import annotations

import re
import smtplib
import socket
from dataclasses import dataclass, replace

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused

from campaigns.delivery.errors import Classification

HARD, SOFT, TRANSIENT = "hard", "soft", "transient"

_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Rule:
    category: str
    reason: str
    detail: str = ""
    codes: tuple[str, ...] = ()  # reply codes that match; empty: any
    status: str = ""  # regex on the enhanced status code (full match); empty: any
    text: str = ""  # regex searched in the lower-cased diagnostic; empty: any
    throttle: bool = False  # slow down every send to the recipient's domain
    blocked: bool = False  # a policy/spam block: fail the message, keep the lead clean


RULES: tuple[Rule, ...] = (
    # Throttling and rate limits: the domain asks us to slow down (Gmail 4.7.28, 421 4.7.0).
    Rule(TRANSIENT, "speeding", "rate_limited", status=r"[45]\.7\.28", throttle=True),
    Rule(TRANSIENT, "speeding", "throttled", codes=("421",), status=r"4\.7\.0", throttle=True),
    Rule(TRANSIENT, "toomanyconn", "too_many_recipients", codes=("452",), status=r"4\.5\.3", throttle=True),
    # Greylisting: accepted on a later try.
    Rule(TRANSIENT, "blocked", "greylisted", codes=("450", "451"), status=r"4\.7\.1"),
    Rule(TRANSIENT, "blocked", "greylisted", codes=("450", "451"), text=r"grey|gray"),
    # Dead addresses and domains.
    Rule(HARD, "userunknown", "user_unknown", codes=("550", "551", "553"), status=r"5\.1\.1"),
    Rule(HARD, "hostunknown", "domain_unknown", codes=("550", "551", "553"), status=r"5\.1\.(2|10)"),
    Rule(HARD, "syntaxerror", "bad_address", codes=("550", "551", "553"), status=r"5\.1\.3"),
    Rule(HARD, "hasmoved", "moved", codes=("550", "551", "553"), status=r"5\.1\.6"),
    Rule(HARD, "userunknown", "user_unknown", codes=("550", "551", "553"), status=r"5\.1\.\d+"),
    # Full mailboxes: the address is alive.
    Rule(SOFT, "mailboxfull", "mailbox_full", codes=("552", "452"), status=r"[45]\.2\.2"),
    Rule(SOFT, "mailboxfull", "mailbox_full", text=r"mailbox (is )?full|over ?quota|quota exceeded"),
    # The receiving server or the network failed.
    Rule(SOFT, "expired", "delivery_time_expired", status=r"4\.4\.7"),
    Rule(SOFT, "systemerror", "system_unavailable", codes=("421",), status=r"4\.3\.\d+"),
    Rule(SOFT, "networkerror", "network_problem", codes=("421",), status=r"4\.4\.\d+"),
    Rule(SOFT, "systemerror", "service_unavailable", codes=("421",)),
    # Refused as spam or by policy: our text or reputation, not the address.
    Rule(TRANSIENT, "spamdetected", "spam_block", codes=("554", "550"), status=r"5\.7\.1", text=r"spam", blocked=True),
    Rule(TRANSIENT, "policyviolation", "policy_block", codes=("554", "550"), status=r"5\.7\.1", blocked=True),
    Rule(TRANSIENT, "spamdetected", "spam_block", codes=("554",), text=r"spam", blocked=True),
    # Text-only evidence for replies without an enhanced status code.
    Rule(HARD, "userunknown", "user_unknown", codes=("550", "551", "553"),
         text=r"user unknown|unknown user|no such user|does not exist|recipient address rejected"),
    Rule(TRANSIENT, "speeding", "throttled", text=r"rate limit|too many (messages|connections)|try again later",
         throttle=True),
    # Fallbacks: a permanent reply is permanent; an unknown temporary one is retried.
    Rule(HARD, "undefined", "permanent_failure", status=r"5\.\d+\.\d+"),
    Rule(HARD, "undefined", "permanent_failure", codes=("500", "501", "550", "551", "552", "553", "554")),
    Rule(TRANSIENT, "undefined", "temporary_failure"),
)


def enhanced_status(text: str) -> str:
    """The first RFC 3463 status code in a reply text ("5.1.1"), or ""."""
    match = _STATUS_RE.search(text or "")
    return ".".join(match.groups()) if match else ""


def classify_reply(code: int | str | None, text: str | bytes = "", *, recipient_specific: bool = True) -> Classification:
    """Classify one SMTP reply (code and text) by the first matching rule of ``RULES``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = (text or "").strip()
    smtp_code = str(code or "")
    status = enhanced_status(text)
    lowered = text.lower()
    for rule in RULES:
        if rule.codes and smtp_code not in rule.codes:
            continue
        if rule.status and not re.fullmatch(rule.status, status):
            continue
        if rule.text and not re.search(rule.text, lowered):
            continue
        return Classification(
            category=rule.category,
            reason=rule.reason,
            detail=rule.detail,
            smtp_code=smtp_code,
            status=status,
            diagnostic=f"{smtp_code} {text}".strip(),
            recipient_specific=recipient_specific,
            throttle=rule.throttle,
            blocked=rule.blocked,
        )
    raise AssertionError("RULES ends with a catch-all rule")  # pragma: no cover


def _unspecific(category: str, reason: str, detail: str, diagnostic: str) -> Classification:
    return Classification(category=category, reason=reason, detail=detail, diagnostic=diagnostic,
                          recipient_specific=False)


def classify_exception(exc: BaseException, *, recipient: str = "") -> Classification | None:
    """Classify an exception raised while sending to ``recipient``; None if it is not a
    delivery failure (a bug, which must surface rather than be retried)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = exc.recipients or {}
        code, text = refused.get(recipient) or next(iter(refused.values()), (None, b""))
        return classify_reply(code, text)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # Our envelope sender was refused: about us, never about the recipient.
        found = classify_reply(exc.smtp_code, exc.smtp_error, recipient_specific=False)
        if found.category == HARD:
            found = replace(found, category=TRANSIENT, reason="rejected", detail="sender_refused", blocked=True)
        return found
    if isinstance(exc, smtplib.SMTPDataError):
        return classify_reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, (smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError)):
        return _unspecific(TRANSIENT, "systemerror", "relay_refused_us", str(exc))
    if isinstance(exc, smtplib.SMTPConnectError):
        found = classify_reply(exc.smtp_code, exc.smtp_error, recipient_specific=False)
        return replace(found, category=SOFT if found.category == HARD else found.category)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _unspecific(SOFT, "networkerror", "disconnected", str(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        return classify_reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return _unspecific(SOFT, "networkerror", "timeout", str(exc) or "timed out")
    if isinstance(exc, (ConnectionError, OSError)) and not isinstance(exc, (FileNotFoundError, PermissionError)):
        return _unspecific(SOFT, "networkerror", "connection_failed", str(exc))
    if isinstance(exc, AnymailRecipientsRefused):
        return Classification(category=HARD, reason="rejected", detail="esp_refused_all", diagnostic=str(exc))
    if isinstance(exc, AnymailAPIError):
        status_code = getattr(exc, "status_code", None)
        if status_code == 429:
            return _unspecific(TRANSIENT, "speeding", "esp_rate_limited", str(exc))
        if status_code is None:
            return _unspecific(SOFT, "networkerror", "esp_unreachable", str(exc))
        return _unspecific(TRANSIENT, "systemerror", f"esp_http_{status_code}", str(exc))
    if isinstance(exc, AnymailError):
        return _unspecific(TRANSIENT, "systemerror", "esp_error", str(exc))
    return None


# Anymail's normalised per-recipient send status → (category, reason, detail); None: accepted.
ANYMAIL_STATUS = {
    "sent": None,  # the ESP accepted it
    "queued": None,  # the ESP will send it
    "scheduled": None,  # the ESP will send it later
    "unknown": None,  # the ESP did not say; its webhooks will
    "invalid": (HARD, "userunknown", "esp_invalid"),  # the ESP says the address cannot exist
    "rejected": (HARD, "suppressed", "esp_rejected"),  # on the ESP's own suppression list
    "failed": (TRANSIENT, "systemerror", "esp_failed"),  # the ESP failed to send; try again
}


def classify_anymail_status(status: str | None, *, diagnostic: str = "") -> Classification | None:
    """Classify Anymail's per-recipient ``anymail_status`` value; None means accepted."""
    found = ANYMAIL_STATUS.get(status or "unknown", (TRANSIENT, "undefined", f"esp_status_{status}"))
    if found is None:
        return None
    category, reason, detail = found
    return Classification(category=category, reason=reason, detail=detail,
                          diagnostic=diagnostic or f"ESP recipient status {status}")
