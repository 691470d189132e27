"""RFC 3464 delivery-status fields, including the broken variants seen in the wild.

Reads ``message/delivery-status`` parts and, as a fallback, DSN-looking field blocks pasted
into text parts (no Status field, Diagnostic-Code only, wrong content types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from .message import clean_address, content_type, part_text, single_space

DSN_TYPES = frozenset({
    "message/delivery-status", "message/global-delivery-status", "text/delivery-status",
    "message/x-delivery-status",
})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
_KNOWN = frozenset({
    "final-recipient", "original-recipient", "x-actual-recipient", "action", "status",
    "diagnostic-code", "remote-mta", "reporting-mta", "last-attempt-date", "will-retry-until",
    "x-postfix-sender", "received-from-mta", "arrival-date", "x-original-message-id",
    "x-display-name", "x-supplementary-info", "x-postfix-queue-id", "x-sendmail-queue-id",
})


@dataclass
class DsnRecipient:
    """Per-recipient DSN fields, values single-spaced and prefixes stripped."""

    address: str = ""
    original: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    diagnostic_type: str = ""
    remote_mta: str = ""
    encapsulated: bool = False  # Final-Recipient is an Exchange IMCEA-encapsulated X.500 name
    status_comment: str = ""  # "5.2.1 (mailbox disabled, not accepting messages)": the writer's gloss


def iter_fields(text: str):
    """Yield (lower-case name, value) pairs from DSN field text, joining folded lines.

    A blank line yields ("", "") so that callers can see block boundaries.
    """
    name, value = None, []
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and name is not None and line.strip():
            value.append(line.strip())
            continue
        if name is not None:
            yield name, " ".join(" ".join(value).split())
            name, value = None, []
        stripped = line.strip()
        if not stripped:
            yield "", ""
            continue
        field, sep, rest = stripped.partition(":")
        field = field.rstrip()
        if sep and 2 <= len(field) <= 41 and field[0].isalpha() and _NAME_CHARS.issuperset(field):
            name, value = field.lower(), [rest.strip()]
    if name is not None:
        yield name, " ".join(" ".join(value).split())


def _fields_of_part(part: Message):
    payload = part.get_payload()
    if isinstance(payload, list):
        # compat32 splits message/delivery-status into one Message per field block.
        for block in payload:
            if isinstance(block, Message):
                for k, v in block.items():
                    yield k.lower(), single_space(str(v))
                yield "", ""
        return
    yield from iter_fields(part_text(part))


def _blocks(fields):
    block: list[tuple[str, str]] = []
    for name, value in fields:
        if not name:
            if block:
                yield block
            block = []
        else:
            block.append((name, value))
    if block:
        yield block


def recipients_from_fields(fields) -> tuple[list[DsnRecipient], dict[str, str]]:
    """Group a field stream into recipients; return them with the per-message fields.

    One block (blank-line separated) is one recipient; a block that repeats Final-Recipient
    (writers that forget the blank line) is split there. Final-Recipient names the address,
    Original-Recipient only when Final is missing.
    """
    per_message: dict[str, str] = {}
    out: list[DsnRecipient] = []
    for block in _blocks(fields):
        if not any(n in _RECIPIENT_FIELDS for n, _ in block):
            for n, v in block:
                per_message.setdefault(n, v)
            continue
        # Fields before the recipient field belong to it too (some writers put
        # Diagnostic-Code and Status first); a repeated recipient field starts the next one.
        cur = DsnRecipient()
        out.append(cur)
        seen: set[str] = set()
        for name, value in block:
            if name in _RECIPIENT_FIELDS:
                if name in seen:
                    cur = DsnRecipient()
                    out.append(cur)
                    seen = set()
                seen.add(name)
                addr = clean_address(value)
                if name == "final-recipient" and _IMCEA_RE.search(value):
                    cur.encapsulated = True
                if name == "original-recipient":
                    cur.original = addr
                elif name == "final-recipient" or not cur.address:
                    cur.address = addr or cur.address
                continue
            if name in seen and name in ("action", "status", "diagnostic-code"):
                continue  # a duplicated field: the first one is the MTA's own
            seen.add(name)
            if name == "action":
                cur.action = value.lower().split(" ")[0].strip(";") if value else ""
            elif name == "status":
                cur.status = status_value(value)
                if "(" in value:
                    cur.status_comment = value.partition("(")[2].rstrip(") ")[:200]
            elif name == "diagnostic-code":
                dtype, sep, rest = value.partition(";")
                if sep and len(dtype) < 20 and " " not in dtype.strip():
                    cur.diagnostic_type, cur.diagnostic = dtype.strip().upper(), rest.strip()
                else:
                    cur.diagnostic = value
            elif name == "remote-mta":
                cur.remote_mta = value.partition(";")[2].strip() if ";" in value else value
    for r in out:
        if not r.address or (r.original and r.encapsulated):
            r.address = r.original
    return [r for r in out if r.address], per_message


# Exchange writes a Final-Recipient it could not resolve as an encapsulated X.500 DN
# ("IMCEAEX-_O=ORG_OU=..._CN=JDOE@corp.example"): not a mailbox anyone can write to; the
# Original-Recipient is the address that was used.
_IMCEA_RE = re.compile(r"(?:^|[;\s<])imcea[a-z0-9]{0,8}-", re.IGNORECASE)


_STATUS_RE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def status_value(value: str) -> str:
    """The enhanced status code in a Status field's value ('' when none)."""
    m = _STATUS_RE.search(value)
    return m.group(0) if m else ""


def find_dsn(parts: list[Message]) -> tuple[list[DsnRecipient], dict[str, str]]:
    """Return DSN recipients from the delivery-status parts among ``parts``.

    Falls back to DSN field blocks found inside text parts when no proper part exists. With
    no recipient found, the fields of a delivery-status part that names none are returned.
    """
    recipientless: dict[str, str] = {}  # a DSN part whose fields name no recipient
    for part in parts:
        if content_type(part) in DSN_TYPES:
            recips, per_msg = recipients_from_fields(_fields_of_part(part))
            if recips:
                return recips, per_msg
            recipientless = recipientless or per_msg
    for part in parts:
        ctype = content_type(part)
        # text parts, and a multipart whose boundary never appears (read as one text)
        if not (ctype.startswith("text/") or (ctype.startswith("multipart/") and isinstance(part.get_payload(), str))) \
                or ctype in ("text/html", "text/rfc822-headers"):
            continue
        text = part_text(part)
        low = text.lower()
        if "final-recipient:" in low or "original-recipient:" in low:
            recips, per_msg = recipients_from_fields(
                (n, v) for n, v in iter_fields(text) if n in _KNOWN or not n
            )
            if recips:
                return recips, per_msg
    return [], recipientless
