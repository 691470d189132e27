"""Bounce mail in: store it, parse it, record what it reports.

Every route a bounce email takes — a file, an mbox, a Maildir, an IMAP mailbox, an ESP's inbound
webhook — ends in ``inbound_mail_store`` then ``inbound_mail_process``. Storing comes first and
is keyed by the message's digest, so a message is never lost (one the parser cannot read is
flagged for review) and the same message ingested twice is recorded once.

The same routes carry the mailto half of RFC 8058 unsubscribe: a message addressed to
``unsubscribe+<token>@LOCKLINE_MAIL_DOMAIN`` (what each email's List-Unsubscribe names)
unsubscribes the recipient of the message the token names, as the one-click URL does.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from django.db import IntegrityError, transaction
from django.utils import timezone

from bounces.models import BounceEvent, InboundMail
from bounces.parser import BounceReport, Kind, parse
from bounces.services import bounce_record
from campaigns.selectors import message_match

logger = logging.getLogger(__name__)

# What each kind of report means for the recipients it names.
_KIND_CATEGORY = {
    Kind.DELAY: BounceEvent.Category.TRANSIENT,  # the MTA is still trying: never counts against the lead
    Kind.COMPLAINT: BounceEvent.Category.COMPLAINT,
}
# Header block only, case-insensitive, one line: the bounce's own Message-ID identifies it even
# when a route re-encodes the bytes (an ESP's inbound parser does).
_OWN_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_HEADER_LIMIT = 64 * 1024


@dataclass(frozen=True)
class IngestResult:
    inbound: InboundMail
    duplicate: bool  # the same message was ingested before; nothing new was recorded


def inbound_mail_ingest(*, raw: bytes, origin: str, origin_ref: str = "") -> IngestResult:
    """Store a bounce email and process it at once (the command-line and IMAP routes)."""
    inbound, created = inbound_mail_store(raw=raw, origin=origin, origin_ref=origin_ref)
    if not created and inbound.status != InboundMail.Status.RECEIVED:
        return IngestResult(inbound=inbound, duplicate=True)
    return IngestResult(inbound=inbound_mail_process(inbound_id=inbound.pk), duplicate=False)


def inbound_mail_store(*, raw: bytes, origin: str, origin_ref: str = "") -> tuple[InboundMail, bool]:
    """Store the raw message unless a byte-identical one is stored already.

    Returns the stored row and whether this call created it.
    """
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with transaction.atomic():
            return (
                InboundMail.objects.create(digest=digest, raw=raw, origin=origin, origin_ref=origin_ref[:500]),
                True,
            )
    except IntegrityError:
        return InboundMail.objects.get(digest=digest), False


def inbound_mail_process(*, inbound_id: int) -> InboundMail:
    """Parse a stored message and record each failed recipient through ``bounce_record``.

    Idempotent: a message already processed is returned as it is, and every event it records
    is keyed by the bounce's identity and the recipient, so a rerun after a crash adds nothing.
    """
    inbound = InboundMail.objects.get(pk=inbound_id)
    if inbound.status != InboundMail.Status.RECEIVED:
        return inbound
    raw = bytes(inbound.raw)
    unsubscribed = _unsubscribe_request_message(raw)
    if unsubscribed is not None:
        return _unsubscribe_record(inbound, unsubscribed)
    try:
        report = parse(raw)
    except Exception as exc:  # parse() promises not to raise; if it does, keep the mail for a person
        logger.exception("bounce parser raised", extra={"inbound_id": inbound.pk})
        return _finish(inbound, status=InboundMail.Status.NEEDS_REVIEW, parse_error=f"parser raised: {exc!r}")

    kind = report.kind
    if kind in (Kind.AUTO_REPLY, Kind.NOT_BOUNCE) and not report.parse_error:
        return _finish(inbound, status=InboundMail.Status.IGNORED, report=report)
    failed = [r for r in report.recipients if r.address and r.reason != "delivered"]
    if report.parse_error or not failed and kind != Kind.COMPLAINT:
        return _finish(
            inbound,
            status=InboundMail.Status.NEEDS_REVIEW,
            report=report,
            parse_error=report.parse_error or f"a {kind} naming no failed recipient",
        )

    identity = _bounce_identity(raw, inbound.digest)
    with transaction.atomic():
        count = 0
        for recipient in failed or [None]:
            message = message_match(
                token=report.correlation or report.verp_token,
                message_id=report.message_id,
                email=recipient.address if recipient else None,
            )
            email = recipient.address if recipient else (message.to_email if message else "")
            if not email:
                continue
            category = _KIND_CATEGORY.get(kind) or recipient.category or BounceEvent.Category.SOFT
            result = bounce_record(
                email=email,
                source=BounceEvent.Source.DSN,
                category=category,
                dedupe_key=f"dsn:{hashlib.sha256(f'{identity}|{email}'.encode()).hexdigest()}",
                message=message,
                reason=(recipient.reason if recipient else "") or ("feedback" if kind == Kind.COMPLAINT else ""),
                detail=(recipient.detail if recipient else "") or (report.feedback_type or ""),
                status=recipient.status if recipient else "",
                smtp_code=recipient.smtp_code if recipient else "",
                diagnostic=recipient.diagnostic if recipient else "",
                remote_mta=recipient.remote_mta if recipient else "",
                raw=inbound.raw_text,
            )
            count += int(result.created)
        if not count and not failed:
            # A complaint that names nobody we can identify: a person has to look.
            return _finish(inbound, status=InboundMail.Status.NEEDS_REVIEW, report=report,
                           parse_error="complaint names no recipient and matches no message")
        return _finish(inbound, status=InboundMail.Status.RECORDED, report=report, event_count=count)


# Where the address a message was sent to shows in its top-level headers (never the body: a
# bounce quotes our own List-Unsubscribe header in the returned message).
_RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")


def _unsubscribe_request_message(raw: bytes):
    """The Message whose ``unsubscribe+<token>@LOCKLINE_MAIL_DOMAIN`` address this mail was sent
    to (the token's MAC verified), or None."""
    from campaigns.models import Message
    from campaigns.tokens import message_pk_from_unsubscribe_address

    headers = BytesHeaderParser(policy=compat32).parsebytes(_header_block(raw))
    values = [str(value) for name in _RECIPIENT_HEADERS for value in headers.get_all(name) or ()]
    for _name, address in getaddresses(values):
        pk = message_pk_from_unsubscribe_address(address)
        message = Message.objects.filter(pk=pk).first() if pk else None
        if message is not None:
            return message
    return None


def _unsubscribe_record(inbound: InboundMail, message) -> InboundMail:
    from campaigns.delivery.unsubscribe import message_unsubscribe

    with transaction.atomic():
        result = message_unsubscribe(message=message, detail="mailto")
        inbound.kind = "unsubscribe"
        inbound.subject = ""
        return _finish(inbound, status=InboundMail.Status.RECORDED, event_count=int(result.created))


def _finish(inbound: InboundMail, *, status: str, report: BounceReport | None = None,
            parse_error: str = "", event_count: int = 0) -> InboundMail:
    inbound.status = status
    inbound.parse_error = parse_error
    inbound.event_count = event_count
    inbound.processed_at = timezone.now()
    if report is not None:
        inbound.kind = report.kind
        inbound.mta = report.mta or ""
        inbound.subject = (report.original_subject or "")[:998]
    inbound.save(update_fields=["status", "parse_error", "event_count", "processed_at", "kind", "mta", "subject"])
    logger.info(
        "bounce mail processed",
        extra={"inbound_id": inbound.pk, "status": status, "kind": inbound.kind, "events": event_count},
    )
    return inbound


def _header_block(raw: bytes) -> bytes:
    """The message's own header block (never the body), at most _HEADER_LIMIT bytes."""
    return raw[:_HEADER_LIMIT].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]


def _bounce_identity(raw: bytes, digest: str) -> str:
    match = _OWN_MESSAGE_ID.search(_header_block(raw))
    return match.group(1).decode("ascii", "replace").lower() if match else digest
