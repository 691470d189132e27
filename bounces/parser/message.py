"""Reading raw bytes into something the detectors can use.

Everything here is defensive: bounce messages are produced by broken software, so a decoding
problem degrades to "less text", never to an exception.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message

# Bounces larger than this are the returned original (attachments); the report parts come
# first, so reading only the head keeps parse() fast and bounded on hostile input.
MAX_MESSAGE_BYTES = 1 << 20
# The human-readable error section is never long; scanning more only costs time.
MAX_TEXT_CHARS = 64 * 1024
# A multipart bomb (thousands of parts) must not turn into thousands of decodes.
MAX_PARTS = 64


# Bounded repetition keeps every search linear in the text length (no backtracking blow-up).
ADDRESS_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?:[A-Za-z0-9_-]{1,63}\.){1,10}[A-Za-z]{2,63}\b"
)


def normalise(raw: bytes) -> bytes:
    """Return ``raw`` capped to MAX_MESSAGE_BYTES with every line end turned into LF."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raw = raw[:MAX_MESSAGE_BYTES]
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return raw


# Nesting deeper than this is never a real report; it is a bomb or a loop.
MAX_DEPTH = 6


def read_message(raw: bytes) -> Message:
    """Parse normalised bytes into compat32 ``Message`` objects, the report parts only.

    1. The bounce's own header block is read as compat32's FeedParser reads it (``_top_headers``),
       minus the trace/signature fields no detector reads, at a fraction of its cost.
    2. Bodies are split on MIME boundaries here instead of by the feed parser, which walks
       every line of every part in Python; the returned original message (often most of the
       bytes) is not descended into.
    3. MIME part headers and the original's headers are read by ``_part_headers`` straight
       into compat32 Messages (a few fields are read from them).
    Leaves keep their body as the payload string, as ``message_from_bytes`` would (ASCII +
    surrogateescape), so ``get_payload(decode=True)`` works unchanged. Never raises for
    bytes input.
    """
    counter = [0]
    return _entity(raw.decode("ascii", "surrogateescape"), 0, counter)


# Bulky fields no detector reads: not kept on the bounce's own Message.
_TRACE_PREFIXES = ("received:", "dkim-signature:", "arc-", "authentication-results:", "x-received:",
                   "received-spf:", "x-google-dkim-signature:", "domainkey-signature:",
                   "x-gm-message-state:", "x-google-smtp-source:", "x-ms-exchange-antispam",
                   "x-microsoft-antispam", "x-forefront-antispam-report")


# A header field ends where a line does not start with white space (folding).
_FIELD_SPLIT_RE = re.compile(r"\n(?![ \t])")


def _top_headers(head: str) -> Message:
    """The bounce's own header block, read like compat32's FeedParser reads it.

    An mbox "From " line is skipped; the block ends at the first line that is neither a
    field nor a continuation (the feed parser starts the body there). Reading it directly
    costs a fraction of a FeedParser round trip, which dominated the parse of small bounces.
    """
    if head.startswith("From "):
        head = head.partition("\n")[2]
    items: list[tuple[str, str]] = []
    for field in _FIELD_SPLIT_RE.split(head):
        if field[:1] in (" ", "\t") or field.startswith("From "):
            continue  # a continuation with no field before it, a misplaced envelope line
        i = field.find(":")
        name = field[:i].rstrip() if i > 0 else ""
        if not name or not _FIELD_NAME_RE.match(name):
            if field.strip():
                break  # not a header line: the feed parser would start the body here
            continue
        if field[:30].lower().startswith(_TRACE_PREFIXES):
            continue
        items.append((name, field[i + 1:].lstrip(" \t")))
    msg = Message()
    msg._headers = items
    return msg


# RFC 5322 field names: printable ASCII except ":" and white space.
_FIELD_NAME_RE = re.compile(r"[\x21-\x39\x3b-\x7e]{1,100}\Z")


def _part_headers(head: str) -> Message:
    """A compat32 Message holding a header block, values kept as compat32 keeps them.

    Used for MIME part headers and the returned original's headers, where only a few fields
    are read: building the Message directly costs a third of a FeedParser round trip. Lines
    that are not fields (defects) are skipped.
    """
    items: list[tuple[str, str]] = []
    for field in _FIELD_SPLIT_RE.split(head):
        i = field.find(":")
        if i > 0:
            items.append((field[:i].rstrip(), field[i + 1:].lstrip()))
    msg = Message()
    msg._headers = items
    return msg


def _entity(text: str, depth: int, counter: list[int]) -> Message:
    counter[0] += 1
    if text.startswith("\n"):
        head, body = "", text[1:]
    else:
        head, sep, body = text.partition("\n\n")
        if not sep and ":" not in head.split("\n", 1)[0]:
            head, body = "", text  # no header block at all
    if depth == 0:
        msg = _top_headers(head)
    else:
        msg = _part_headers(head)
    msg.set_payload(body)
    ctype = content_type(msg)
    if depth >= MAX_DEPTH or counter[0] > MAX_PARTS:
        return msg
    if ctype.startswith("multipart/"):
        boundary = _boundary(msg, head)
        if boundary:
            children = _split_multipart(body, boundary)
            if children:
                msg.set_payload([_entity(c, depth + 1, counter) for c in children[:MAX_PARTS]])
    elif ctype in ("message/rfc822", "message/global") and not _encoded(msg):
        # The original message: its headers matter, its own MIME tree does not.
        inner = _entity_headers_only(body)
        msg.set_payload([inner])
    return msg


def _entity_headers_only(text: str) -> Message:
    text = text.lstrip("\n")
    head, _, body = text.partition("\n\n")
    msg = _part_headers(head)
    msg.set_payload(body)
    return msg


def read_headers(text: str) -> Message:
    """Headers of a message quoted as text (a returned original); its body is ignored."""
    text = text[:32768].lstrip("\n")
    if text[:1] in (" ", "\t"):
        text = "\n".join(ln.lstrip() for ln in text.split("\n"))
    return _part_headers(text.partition("\n\n")[0])


def _encoded(msg: Message) -> bool:
    cte = header_map(msg).get("content-transfer-encoding", "").strip().lower()
    return cte in ("base64", "quoted-printable")


_LOOSE_BOUNDARY_RE = re.compile(r'^\s*boundary\s*=\s*"?([^";\n]{1,200})', re.IGNORECASE | re.MULTILINE)


_PARAM_RES = {
    name: re.compile(name + r'\s*=\s*(?:"([^"]{0,200})"|([^;\s]{1,200}))', re.IGNORECASE)
    for name in ("boundary", "charset")
}


def content_param(msg: Message, name: str) -> str:
    """A Content-Type parameter ('boundary', 'charset'), or '' (RFC 2231 forms not decoded)."""
    raw = header_map(msg).get("content-type", "")
    m = _PARAM_RES[name].search(raw) if raw else None
    return (m.group(1) if m.group(1) is not None else m.group(2)) if m else ""


def _boundary(msg: Message, head: str = "") -> str:
    b = content_param(msg, "boundary")
    if not b and head:
        # "boundary=" left unindented on the line after Content-Type: a broken fold that
        # compat32 drops; the parts are still delimited by it.
        m = _LOOSE_BOUNDARY_RE.search(head)
        b = m.group(1) if m else None
    return str(b).strip().strip('"') if b else ""


def _split_multipart(body: str, boundary: str) -> list[str]:
    """Bodies of the parts between ``--boundary`` lines; stops at ``--boundary--``."""
    delim = "\n--" + boundary
    chunks = ("\n" + body).split(delim)
    out = []
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break
        nl = chunk.find("\n")
        out.append(chunk[nl + 1:] if nl >= 0 else "")
    return out


def header_map(msg: Message) -> dict[str, str]:
    """Lower-case name -> first raw value, built once per Message and cached on it.

    ``Message.get`` scans every header on each call; a parse looks up dozens of names, so
    one pass here is several times cheaper.
    """
    try:
        return msg.__dict__["_lockline_headers"]
    except KeyError:
        pass
    table: dict[str, str] = {}
    for name, value in getattr(msg, "_headers", ()):
        key = str(name).lower()
        if key not in table:
            table[key] = value if isinstance(value, str) else str(value)
    msg.__dict__["_lockline_headers"] = table
    return table


def header(msg: Message, name: str) -> str:
    """Return a header decoded from RFC 2047 and single-spaced, or '' when absent/broken."""
    value = header_map(msg).get(name.lower())
    if not value:
        return ""
    return decode_words(value)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words; return the input unchanged when they are broken."""
    if not isinstance(value, str):
        value = str(value)
    if not value.isascii():
        value = _undo_surrogates(value)
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except Exception:  # bad charset names or truncated words are common in bounces
            pass
    return " ".join(value.split())


def _undo_surrogates(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes; most are UTF-8, some legacy CJK."""
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value  # already real text
    for cs in ("utf-8", "shift_jis", "euc-jp"):
        try:
            return raw.decode(cs)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def part_text(part: Message) -> str:
    """Return a leaf part's payload as text (transfer-decoded, charset-decoded, LF only).

    Unknown charsets fall back to UTF-8 then Latin-1 with replacement, never raising.
    Cached on the part: several detectors read the same text.
    """
    cached = part.__dict__.get("_lockline_text")
    if cached is None:
        cached = part.__dict__["_lockline_text"] = _part_text(part)
    return cached


def _part_text(part: Message) -> str:
    raw_payload = part._payload  # compat32 keeps the undecoded body here
    cte = header_map(part).get("content-transfer-encoding", "").strip().lower()
    if isinstance(raw_payload, str) and cte in ("", "7bit", "8bit", "binary"):
        # No transfer encoding: skip get_payload(decode=True) and its bookkeeping. ASCII text
        # needs no charset decoding at all (ISO-2022-JP is ASCII on the wire, though).
        if raw_payload.isascii() and "\x1b" not in raw_payload:
            return raw_payload[:MAX_TEXT_CHARS]
        payload = raw_payload[: MAX_TEXT_CHARS * 2].encode("ascii", "surrogateescape")
    else:
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw[:MAX_TEXT_CHARS]
        if isinstance(raw, list):  # a message/* part: flatten its sub-blocks
            try:
                return "\n".join(m.as_string() for m in raw if isinstance(m, Message))[:MAX_TEXT_CHARS]
            except Exception:
                return ""
        return ""
    payload = payload[: MAX_TEXT_CHARS * 2]
    charset = _charset(part)
    for cs in (charset, "utf-8"):
        if not cs:
            continue
        try:
            text = payload.decode(cs)
            break
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    else:
        text = payload.decode("latin-1", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[:MAX_TEXT_CHARS]


def _charset(part: Message) -> str | None:
    cs = content_param(part, "charset").strip().lower()
    if not cs:
        return None
    if cs in ("unknown-8bit", "x-unknown", "us-ascii", "ascii"):
        # Many MTAs label 8-bit text as ASCII; UTF-8 is a superset and the usual truth.
        return "utf-8"
    if cs in ("iso-2022-jp", "iso2022jp"):
        return "iso2022_jp_ext"
    return cs


def content_type(part: Message) -> str:
    """Lower-cased content type ('text/plain' when absent or malformed), cached per part."""
    try:
        return part.__dict__["_lockline_ctype"]
    except KeyError:
        pass
    raw = header_map(part).get("content-type", "")
    ctype = raw.split(";", 1)[0].strip().lower() if raw else ""
    if ctype.count("/") != 1:
        ctype = "text/plain"
    part.__dict__["_lockline_ctype"] = ctype
    return ctype


def leaf_parts(msg: Message) -> list[Message]:
    """Depth-first leaves and message/* containers, at most MAX_PARTS of them.

    message/rfc822 sub-trees are returned as one entry and not descended into: their parts
    belong to the original mail, not to the report.
    """
    out: list[Message] = []
    stack = [msg]
    while stack and len(out) < MAX_PARTS:
        part = stack.pop()
        ctype = content_type(part)
        if part.is_multipart() and not ctype.startswith("message/"):
            try:
                children = part.get_payload()
            except Exception:
                children = []
            if isinstance(children, list):
                stack.extend(reversed([c for c in children if isinstance(c, Message)]))
            continue
        out.append(part)
    return out


def clean_address(value: str) -> str:
    """Return the first address in ``value`` lower-cased, or '' when there is none.

    Strips `rfc822;` prefixes, angle brackets, quotes and trailing dots, which DSN writers add
    in every combination.
    """
    if not value:
        return ""
    if ";" in value:
        kind, _, rest = value.partition(";")
        if "@" not in kind:
            value = rest
    if not value.isascii() or "\\x{" in value:
        # RFC 6533 (SMTPUTF8): a UTF-8 address, raw or with \x{HEX} escapes.
        value = _XTEXT_UNICODE_RE.sub(_unescape, value)
        m = UTF8_ADDRESS_RE.search(value)
    else:
        m = (_QUOTED_LOCAL_RE.search(value) if '"@' in value else None) or ADDRESS_RE.search(value)
    if not m:
        return ""
    if m.group(0).startswith('"'):
        return m.group(0).lower()  # "john..doe"@example.org: the quotes are part of the address
    addr = m.group(0).strip(".'\"#")
    return addr.lower()


# RFC 5321 quoted local part ("john..doe"@example.org), bounded like ADDRESS_RE.
_QUOTED_LOCAL_RE = re.compile(r'"[^"\s\\]{1,64}"@(?:[A-Za-z0-9_-]{1,63}\.){1,10}[A-Za-z]{2,63}\b')
# \w is Unicode-aware: any script's letters and digits, bounded like ADDRESS_RE.
UTF8_ADDRESS_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@(?:[\w-]{1,63}\.){1,10}[^\W\d_]{2,63}\b")
_XTEXT_UNICODE_RE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


def _unescape(m: re.Match) -> str:
    code = int(m.group(1), 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""


def single_space(text: str) -> str:
    """Collapse all whitespace runs to one space."""
    return " ".join(text.split())
