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
_MARKER_KEYS = ("original", "copy", "follow", "unsent", "returned", "rfc822", "header", "below", "forwarded")
_MARKERS_BY_KEY = tuple(
    (key, tuple(m for m in BOUNDARY_MARKERS if key in m and not any(k in m for k in _MARKER_KEYS[:i])))
    for i, key in enumerate(_MARKER_KEYS)
)
assert sum(len(ms) for _, ms in _MARKERS_BY_KEY) == len(BOUNDARY_MARKERS), "every marker needs a key"
_HEADER_LINE = re.compile(
    r"^(received|return-path|message-id|dkim-signature|x-[a-z0-9-]+|from|to|subject|date|"
    r"mime-version|content-type|reply-to|arc-seal|authentication-results):\s", re.IGNORECASE
)
_HEADER_LINE_M = re.compile(_HEADER_LINE.pattern, re.IGNORECASE | re.MULTILINE)
_TRACE_FIELDS = ("received", "return-path", "message-id", "dkim-signature")
# Local parts that name the mail system, not a person; they count only at the start of a line.
SYSTEM_LOCALPARTS = frozenset({"postmaster", "mailer-daemon", "abuse", "hostmaster", "webmaster", "root",
                               "support", "help", "helpdesk", "noc"})
# A line that is really a quoted header, or an invitation to write to someone, names nobody
# who failed.
_NOT_A_MENTION = re.compile(
    r"^\s*(message-id|to|cc|bcc|in-reply-to|references|x-[\w-]+|received|return-path|from|sender|reply-to|"
    r"date|subject|envelope-from|by|id)\s*[:=]|^\s*\(?envelope-from\b|"
    # a header line of a message quoted with "> " marks names nobody who failed
    r"^\s*>[>\s]*(to|cc|bcc|from|sender|reply-to|date|subject|message-id)\s*:", re.IGNORECASE)
_CONTACT = re.compile(r"contact|mailto:|for (more|further)|send (an )?e-?mail to|write to|questions", re.IGNORECASE)
_MESSAGE_ID_LOCAL = re.compile(r"^[0-9a-f.=_$-]{14,}$|^[0-9]{8,}\.|^[0-9a-f]{8,}[.-][0-9a-f]{4,}", re.IGNORECASE)
_ALIAS_RE = re.compile(r"\((?:ultimately )?(?:generated|expanded|forwarded) from:? [^()]{0,300}\)", re.IGNORECASE)
_TALK_RE = re.compile(r"^[ \t]*while talking to ", re.IGNORECASE | re.MULTILINE)
_COLON_AFTER = re.compile(r">?\s*:")
_LEADERS = re.compile(r"^[\s<>\"'*\-:•]*(?:(?:rcpt to|to|recipient|address|for|original-recipient|final-recipient|rfc822)\s*[:;]?\s*<?)?", re.IGNORECASE)


def error_section(text: str) -> tuple[str, str]:
    """Split a bounce body into (error text, returned original text)."""
    text = text[:MAX_TEXT_CHARS]
    low = text.lower()
    cut = len(text)
    # Each marker holds one of a few key words; a text without the word skips its markers.
    for key, markers in _MARKERS_BY_KEY:
        if key in low:
            for marker in markers:
                i = low.find(marker, 0, cut)
                if 0 <= i < cut:
                    # "------ Original message ------": cut at the line, not inside its dashes
                    start = low.rfind("\n", 0, i) + 1
                    cut = start if not low[start:i].strip("-=_* \t") else i
    # No marker: the original begins where a block of header lines starts: one that opens
    # with a trace/identity field, or any run of four header lines. Candidates come from one
    # multi-line regex scan; only they are examined line by line.
    for m in _HEADER_LINE_M.finditer(text, 1, cut):
        start = m.start()
        if text[start - 1] != "\n":
            continue
        name = m.group(1).lower()
        following = text[start:min(cut, start + 4096)].split("\n", 4)[1:4]
        run = 1
        for nxt in following:
            if _HEADER_LINE.match(nxt) or nxt[:1] in (" ", "\t"):
                run += 1
            else:
                break
        if (name in _TRACE_FIELDS and run >= 2) or run >= 4:
            cut = start
            break
    if "\n>" in text:
        cut = _quoted_original_start(text, cut)
    head = text[:cut]
    rest = text[cut:]
    nl = rest.find("\n")
    return head, (rest[nl + 1:] if nl >= 0 else "")


_QUOTED_HEADER_M = re.compile(r"^>[ \t]?(from|to|cc|subject|date|sent|message-id):[ \t]", re.IGNORECASE | re.MULTILINE)
_SYSTEM_FROM = ("mailer-daemon", "postmaster", "mail delivery")


def _quoted_original_start(text: str, cut: int) -> int:
    """Where a "> "-quoted copy of the original begins (a run of quoted header lines), or ``cut``.

    A quoted *bounce* (a person forwarding a mailer-daemon's report) is not cut: its quoted
    body is what names the failed recipient.
    """
    for m in _QUOTED_HEADER_M.finditer(text, 0, cut):
        if m.start() and text[m.start() - 1] != "\n":
            continue
        lines = text[m.start():m.start() + 2000].split("\n")[:8]
        quoted = [ln.lower() for ln in lines if _QUOTED_HEADER_M.match(ln)]
        if len(quoted) < 3:
            continue
        senders = [ln for ln in quoted if ln[1:].lstrip().startswith("from:")]
        if any(w in ln for ln in senders for w in _SYSTEM_FROM):
            return cut
        return m.start()
    return cut


def _recipient_in_line(line: str, exclude: set[str]) -> str | None:
    """The recipient a line names, or None (sender, postmaster, message-id, contact...)."""
    # "(expanded from <alias>)" names where the recipient came from, not a recipient.
    probe = _ALIAS_RE.sub("", line) if "from" in line else line
    if _NOT_A_MENTION.match(probe):
        return None
    matches = list(ADDRESS_RE.finditer(probe))
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
        return addr
    return None


def scan(section: str, exclude: set[str]) -> list[tuple[str, str]]:
    """Return [(address, error text)] in order of first mention.

    Each line is attributed to the most recently mentioned recipient; the lines before the
    first mention form a preamble, prepended for a lone recipient or one that got no text.
    Only lines holding an "@" are examined (found with str.find), so the cost follows the
    number of addresses, not the length of the text.
    """
    mentions: list[tuple[int, str]] = []  # (line start, recipient)
    pos = section.find("@")
    while pos >= 0:
        start = section.rfind("\n", 0, pos) + 1
        end = section.find("\n", pos)
        if end < 0:
            end = len(section)
        addr = _recipient_in_line(section[start:end].strip(), exclude)
        if addr is not None:
            mentions.append((start, addr))
        pos = section.find("@", end)
    if not mentions:
        return []
    # A Sendmail transcript block ("While talking to host: >>> RCPT ... <<< 550 ...") is
    # about the recipient named after it: move that recipient's start back to the block.
    talks = [m.start() for m in _TALK_RE.finditer(section)] if "alking to" in section else []
    if talks:
        moved = []
        for k, (start, addr) in enumerate(mentions):
            floor = mentions[k - 1][0] if k else -1
            before = [t for t in talks if floor < t < start]
            moved.append((before[0] if before else start, addr))
        mentions = moved
    order: list[str] = []
    chunks: dict[str, list[str]] = {}
    for k, (start, addr) in enumerate(mentions):
        stop = mentions[k + 1][0] if k + 1 < len(mentions) else len(section)
        if addr not in chunks:
            order.append(addr)
            chunks[addr] = []
        chunks[addr].append(section[start:stop])
    preamble = " ".join(section[: mentions[0][0]].split())
    out = []
    for addr in order:
        body = " ".join(" ".join(chunks[addr]).split())
        lines = sum(1 for c in chunks[addr] for ln in c.split("\n") if ln.strip())
        if preamble and (lines <= 1 or len(order) == 1):
            # own text first: classification reads the first part of long diagnostics
            body = body + " " + preamble
        out.append((addr, body))
    return out
