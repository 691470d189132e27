"""ARF abuse / feedback-loop reports (RFC 5965), and the common non-standard ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from .message import clean_address, content_type, header, part_text, ADDRESS_RE
from .rfc3464 import iter_fields


@dataclass
class Feedback:
    """What a complaint says: its type and the complaining recipients (may be empty)."""

    feedback_type: str = "abuse"
    recipients: list[str] = field(default_factory=list)


def find_feedback(msg: Message, parts: list[Message], original: Message | None) -> Feedback | None:
    """Return a Feedback when ``msg`` is a complaint, else None.

    Recognised: RFC 5965 reports (a message/feedback-report part or report type), Microsoft
    JMRP (X-HmXmrOriginalRecipient on the report or on the returned original) and Apple Mail's
    unsubscribe message. Recipients: Original-Rcpt-To, else Removal-Recipient, else the JMRP
    header, else the original's To; possibly none.
    """
    if header(msg, "X-Apple-Unsubscribe").lower() == "true":
        # Apple Mail's one-click unsubscribe: an opt-out sent by the recipient themselves.
        sender = clean_address(header(msg, "From"))
        return Feedback(feedback_type="opt-out", recipients=[sender] if sender else [])
    jmrp = header(msg, "X-HmXmrOriginalRecipient") or (
        header(original, "X-HmXmrOriginalRecipient") if original is not None else "")
    report_part = next((p for p in parts if content_type(p) == "message/feedback-report"), None)
    if report_part is None and not jmrp and "feedback-report" not in header(msg, "Content-Type").lower() \
            and not _looks_like_fbl(msg):
        return None
    fields = _report_fields(report_part) if report_part is not None else {}
    fb = Feedback()
    kind = (fields.get("feedback-type") or [""])[0].split()
    if kind:
        fb.feedback_type = kind[0].lower()
    addrs: list[str] = []
    for key in ("original-rcpt-to", "removal-recipient"):
        for value in fields.get(key, []):
            addr = clean_address(value)
            if addr and addr not in addrs:
                addrs.append(addr)
        if addrs:
            break
    if not addrs and jmrp:
        addrs.append(clean_address(jmrp))
    if not addrs and original is not None:
        for addr in ADDRESS_RE.findall(header(original, "To")):
            if addr.lower() not in addrs:
                addrs.append(addr.lower())
    fb.recipients = [a for a in addrs if a]
    return fb


def _report_fields(part: Message) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    payload = part.get_payload()
    if isinstance(payload, list):
        for block in payload:
            if isinstance(block, Message):
                for k, v in block.items():
                    fields.setdefault(k.lower(), []).append(str(v).strip())
    else:
        for k, v in iter_fields(part_text(part)):
            if k:
                fields.setdefault(k, []).append(v)
    return fields


def _looks_like_fbl(msg: Message) -> bool:
    # Microsoft JMRP and a few ISPs send complaints without a feedback-report part.
    return bool(header(msg, "X-HmXmrOriginalRecipient")) or "complaint" in header(msg, "X-Feedback-Loop").lower()
