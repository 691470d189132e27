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
    """Return a Feedback when ``msg`` is a complaint, else None."""
    if header(msg, "X-Apple-Unsubscribe").lower() == "true":
        # Apple Mail's one-click unsubscribe: an opt-out sent by the recipient themselves.
        sender = clean_address(header(msg, "From"))
        return Feedback(feedback_type="opt-out", recipients=[sender] if sender else [])
    if original is not None and not _looks_like_fbl(msg) and header(original, "X-HmXmrOriginalRecipient"):
        msg_is_jmrp = True
    else:
        msg_is_jmrp = False
    report_part = next((p for p in parts if content_type(p) == "message/feedback-report"), None)
    ctype_header = header(msg, "Content-Type").lower()
    fields: dict[str, list[str]] = {}
    if report_part is not None:
        payload = report_part.get_payload()
        if isinstance(payload, list):
            for block in payload:
                if isinstance(block, Message):
                    for k, v in block.items():
                        fields.setdefault(k.lower(), []).append(str(v).strip())
        else:
            for k, v in iter_fields(part_text(report_part)):
                fields.setdefault(k, []).append(v)
    elif "feedback-report" not in ctype_header and not msg_is_jmrp:
        if not _looks_like_fbl(msg):
            return None
    fb = Feedback()
    if fields.get("feedback-type"):
        fb.feedback_type = fields["feedback-type"][0].split()[0].lower() if fields["feedback-type"][0] else "abuse"
    addrs: list[str] = []
    for key in ("original-rcpt-to", "removal-recipient"):
        for v in fields.get(key, []):
            a = clean_address(v)
            if a and a not in addrs:
                addrs.append(a)
        if addrs:
            break
    if not addrs:
        hm = header(msg, "X-HmXmrOriginalRecipient") or (
            header(original, "X-HmXmrOriginalRecipient") if original is not None else "")
        if hm:
            addrs.append(clean_address(hm))
    if not addrs and original is not None:
        for a in ADDRESS_RE.findall(header(original, "To")):
            a = a.lower()
            if a not in addrs:
                addrs.append(a)
    fb.recipients = [a for a in addrs if a]
    return fb


def _looks_like_fbl(msg: Message) -> bool:
    # Microsoft JMRP and a few ISPs send complaints without a feedback-report part.
    return bool(header(msg, "X-HmXmrOriginalRecipient")) or "complaint" in header(msg, "X-Feedback-Loop").lower()
