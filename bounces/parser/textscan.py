"""Recipients and error texts from human-readable (non-RFC 3464) bounce bodies.

One general procedure serves every MTA: cut the body where the returned original begins, then
walk the lines, attributing each line of error text to the last recipient address mentioned.
MTA-specific knowledge is data (``mta/``: boundary markers), not code paths.
"""

from __future__ import annotations

import re

from .message import ADDRESS_RE, MAX_TEXT_CHARS

# Lines after which the returned original message starts (lower-cased, substring match).
BOUNDARY_MARKERS = (
    "--- below this line is a copy of the message",
    "----- original message -----",
    "------ this is a copy of the message, including all the headers.",
    "------ this is a copy of the message's headers.",
    "message headers follow",
    "original message follows",
    "----- unsent message follows -----",
    "----- message header follows -----",
    "original message headers:",
    "----- the header of the original message is following. -----",
    "----- original message header -----",
    "--- original message",
    "-- original message --",
    "------ original message -------",
    "----- below is the original message -----",
    "---- the header of the original message ----",
    "the original message headers",
    "---------- forwarded message ----------",
    "content-type: message/rfc822",
    "original message header",
    "--- the header of the original message is following. ---",
    "--------returned mail follows--------",
    "----- returned message follows",
    "the headers of the original message",
    "---- original mail ----",
    "text of the message follows",
)
_HEADER_LINE = re.compile(
    r"^(received|return-path|message-id|dkim-signature|x-[a-z0-9-]+|from|to|subject|date|"
    r"mime-version|content-type|reply-to|arc-seal|authentication-results):\s", re.IGNORECASE
)
_TRACE_FIELDS = ("received", "return-path", "message-id", "dkim-signature")
# Local parts that name the mail system, not a person; they count only at the start of a line.
SYSTEM_LOCALPARTS = frozenset({"postmaster", "mailer-daemon", "abuse", "hostmaster", "webmaster", "root"})
# A line that is really a quoted header, or an invitation to write to someone, names nobody
# who failed.
_NOT_A_MENTION = re.compile(
    r"^\s*(message-id|in-reply-to|references|x-[\w-]+|received|return-path|from|sender|reply-to|"
    r"date|subject|envelope-from|by|id)\s*[:=]|^\s*\(?envelope-from\b", re.IGNORECASE)
_CONTACT = re.compile(r"contact|mailto:|for (more|further)|send (an )?e-?mail to|write to|questions", re.IGNORECASE)
_MESSAGE_ID_LOCAL = re.compile(r"^[0-9a-f.=_$-]{14,}$|^[0-9]{8,}\.|^[0-9a-f]{8,}[.-][0-9a-f]{4,}", re.IGNORECASE)
_ALIAS_RE = re.compile(r"\((?:ultimately )?(?:generated|expanded|forwarded) from [^()]{0,300}\)", re.IGNORECASE)
_COLON_AFTER = re.compile(r">?\s*:")
_LEADERS = re.compile(r"^[\s<>\"'*\-:•]*(?:(?:rcpt to|to|recipient|address|for|original-recipient|final-recipient|rfc822)\s*[:;]?\s*<?)?", re.IGNORECASE)


def error_section(text: str) -> tuple[str, str]:
    """Split a bounce body into (error text, returned original text)."""
    text = text[:MAX_TEXT_CHARS]
    low = text.lower()
    cut = len(text)
    for marker in BOUNDARY_MARKERS:
        i = low.find(marker)
        if 0 <= i < cut:
            cut = i
    # No marker: the original begins where a block of header lines starts: one that opens
    # with a trace/identity field, or any run of four header lines.
    lines = text[:cut].split("\n")
    pos = 0
    for idx, line in enumerate(lines):
        if pos > 0 and _HEADER_LINE.match(line):
            name = line.split(":", 1)[0].lower()
            run = 1
            for nxt in lines[idx + 1: idx + 4]:
                if _HEADER_LINE.match(nxt) or nxt[:1] in (" ", "\t"):
                    run += 1
                else:
                    break
            if (name in _TRACE_FIELDS and run >= 2) or run >= 4:
                cut = pos
                break
        pos += len(line) + 1
    head = text[:cut]
    rest = text[cut:]
    nl = rest.find("\n")
    return head, (rest[nl + 1:] if nl >= 0 else "")


def scan(section: str, exclude: set[str]) -> list[tuple[str, str]]:
    """Return [(address, error text)] in order of first mention.

    Each non-empty line is attributed to the most recently mentioned recipient; lines before
    the first mention form a preamble that is used for recipients that got no text.
    """
    order: list[str] = []
    texts: dict[str, list[str]] = {}
    current: str | None = None
    preamble: list[str] = []
    for raw_line in section.split("\n"):
        line = raw_line.strip()
        if not line:
            continue
        found = None
        if "@" not in line:  # most lines: skip the (bounded but per-position) address search
            if current is None:
                preamble.append(line)
            else:
                texts[current].append(line)
            continue
        # "(expanded from <alias>)" names where the recipient came from, not a recipient.
        probe = _ALIAS_RE.sub("", line) if "from" in line else line
        matches = [] if _NOT_A_MENTION.match(probe) else list(ADDRESS_RE.finditer(probe))
        if len(matches) > 1:
            # "Name addr <addr2>": the bracketed one is the envelope address.
            matches.sort(key=lambda m: not (probe[m.start() - 1: m.start()] == "<"))
        for m in matches:
            addr = m.group(0).lower().strip(".#")
            local = addr.split("@", 1)[0]
            at_start = _LEADERS.match(probe).end() >= m.start()
            if addr in exclude and not (at_start and _COLON_AFTER.match(probe, m.end())):
                continue  # the sender; unless "<addr>:" leads the line (qmail/Postfix recipient)
            if not at_start and (local in SYSTEM_LOCALPARTS or _CONTACT.search(probe)):
                continue
            if _MESSAGE_ID_LOCAL.match(local):
                continue
            if addr.startswith("bounces+") or addr.startswith("mailer-daemon"):
                continue
            found = addr
            break
        if found is not None:
            if found not in texts:
                order.append(found)
                texts[found] = []
            current = found
        if current is None:
            preamble.append(line)
        else:
            texts[current].append(line)
    out = []
    for addr in order:
        body = " ".join(texts[addr])
        if preamble and (len(texts[addr]) <= 1 or len(order) == 1):
            body = " ".join(preamble) + " " + body
        out.append((addr, " ".join(body.split())))
    return out
