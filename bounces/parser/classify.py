"""Turn (enhanced status, SMTP reply code, error text) into a reason and a category.

Used by the bounce parser for every recipient and by the sending pipeline for SMTP replies at
send time, so it depends on nothing but the tables in ``reasons.py`` and ``providers.py``.
"""

from __future__ import annotations

import re

from .reasons import (RESOLVER_TROUBLE, FIRST_PASS, HARD_REASONS, LOCALISED_MARK, MTA_USERUNKNOWN, OVERRULED_BY, PHRASES,
                      SECOND_PASS, STATUS_AFTER_PHRASES, STATUS_REASON, WEAK_REASONS)
from .providers import provider_reason
from .report import Category

STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d])")
REPLY_CODE_RE = re.compile(r"(?<![\w.\-])([245][0-9][0-9])(?=[ \-]|$)")

_GREYLIST = ("greylist", "grey-list", "graylist", "gray-list")
_RATE = ("rate limit", "ratelimit", "rate-limit", "too many messages", "sending rate",
         "too fast", "slow down", "throttl", "too many connections", "too many concurrent",
         "too many recipients")


# How MTAs name the SMTP command a rejection answered (lower-case, single-spaced text).
# The earliest occurrence in the text wins.
_COMMAND_NEEDLES: tuple[tuple[str, str], ...] = tuple(
    (f"{lead} {word}", cmd)
    for lead in ("in reply to", "after", "our", "for", "most progress was")
    for word, cmd in (("rcpt to", "RCPT"), ("rcpt", "RCPT"), ("end of data", "DATA"),
                      ("final data", "DATA"), ("data", "DATA"), ("mail from", "MAIL"),
                      ("helo", "HELO"), ("ehlo", "EHLO"), ("initial connection", "CONN"))
) + (
    (">>> rcpt to", "RCPT"), (">>> data", "DATA"), (">>> mail from", "MAIL"), (">>> helo", "HELO"),
    (">>> ehlo", "EHLO"), ("smtp:rcpt", "RCPT"), ("smtp:data", "DATA"), ("smtp:mail", "MAIL"),
    ("[rcpt_to]", "RCPT"), ("[mail_from]", "MAIL"), ("[data]", "DATA"),
    ("rcpt to response", "RCPT"), ("rcpt to command", "RCPT"), ("data response", "DATA"),
    ("data command", "DATA"), ("mail from response", "MAIL"), ("mail from command", "MAIL"),
    ("does not like recipient", "RCPT"),
)
# Replies that only an RCPT TO gets, even when no command is named: the server echoing the
# recipient ("<a@b>: User unknown"), RFC 5321's own 550 text, Yahoo's "delivery error: dd".
_RCPT_REPLIES = (">: user unknown", ">:user unknown", "delivery error: dd ", "destinataire invalide")


# Every needle contains one of these; a text with none of them names no command.
_COMMAND_GATE = ("rcpt", "data", "mail", "helo", "ehlo", "initial connection", "does not like")


_NEEDLES_BY_GATE: dict[str, list[tuple[str, str]]] = {w: [] for w in _COMMAND_GATE}
for _needle, _cmd in _COMMAND_NEEDLES:
    _NEEDLES_BY_GATE[next(w for w in _COMMAND_GATE if w in _needle)].append((_needle, _cmd))


def find_command(text: str) -> str:
    """Return the SMTP command ('RCPT', 'DATA', 'MAIL', 'HELO', 'EHLO', 'CONN') a text names."""
    low = " ".join(text.lower().split()) if "  " in text or "\n" in text else text.lower()
    best, command = len(low) + 1, ""
    candidates = [n for w in _COMMAND_GATE if w in low for n in _NEEDLES_BY_GATE[w]]
    for needle, cmd in candidates:
        i = low.find(needle)
        if 0 <= i < best:
            # "after data" must not match "after database": the needle ends at a word edge.
            end = i + len(needle)
            if end < len(low) and low[end].isalnum() and needle[-1].isalnum():
                continue
            best, command = i, cmd
    if command:
        return command
    if any(map(low.__contains__, _RCPT_REPLIES)) or (
            "requested action not taken: mailbox unavailable" in low and _RFC5321_550_RE.search(low)):
        return "RCPT"
    return ""


_REASON_LABELS = ("failure reason", "reason:", "error:", "理由", "エラー", "grund:", "raison", "motivo")
_RFC5321_550_RE = re.compile(r"\b550[ -](?:5\.\d{1,3}\.\d{1,3} )?requested action not taken: mailbox unavailable")


def _has(phrase, text: str) -> bool:
    """A plain phrase is a substring; an ordered phrase is fragments in that order."""
    if isinstance(phrase, str):
        return phrase in text
    pos = 0
    for frag in phrase:
        pos = text.find(frag, pos)
        if pos < 0:
            return False
        pos += len(frag)
    return True


_WORD_RE = re.compile(r"[a-z0-9_.-]{3,}")
_TOKEN_RE = re.compile(r"[a-z0-9]+")

Index = dict[str, tuple[tuple[str, object], ...]]


def _build_anchor_index() -> tuple[Index, tuple[str, ...], Index]:
    """Group every phrase under one anchor that a matching text must contain.

    1. A word with a separator on both sides inside the phrase ("is *over* quota") is a whole
       token of any text that holds the phrase: found by one set intersection.
    2. Otherwise one of the phrase's words (the one most phrases share, so there are few such
       anchors) is a substring of such a text: found by one C-level ``filter`` over them.
    Either way a text is checked against the few phrases whose anchor it holds, instead of
    ~900 phrases per classification pass.
    """
    by_token: dict[str, list[tuple[str, object]]] = {}
    by_substring: dict[str, list[tuple[str, object]]] = {}
    # How many phrases use each word: the rarest inner word makes the smallest group.
    usage: dict[str, int] = {}
    for phrases in PHRASES.values():
        for phrase in phrases:
            for frag in (phrase,) if isinstance(phrase, str) else phrase:
                for word in set(_TOKEN_RE.findall(frag)):
                    usage[word] = usage.get(word, 0) + 1
    for reason, phrases in PHRASES.items():
        for phrase in phrases:
            fragments = (phrase,) if isinstance(phrase, str) else phrase
            inner = [m.group() for frag in fragments for m in _TOKEN_RE.finditer(frag)
                     if m.start() > 0 and m.end() < len(frag) and len(m.group()) >= 3]
            if inner:
                anchor = min(inner, key=lambda w: (usage.get(w, 0), -len(w)))
                by_token.setdefault(anchor, []).append((reason, phrase))
                continue
            words = [w for frag in fragments for w in _WORD_RE.findall(frag)]
            anchor = max(words, key=lambda w: (usage.get(w, 0), len(w))) if words else max(fragments, key=len)
            by_substring.setdefault(anchor, []).append((reason, phrase))
    freeze = lambda d: {k: tuple(v) for k, v in d.items()}  # noqa: E731
    return freeze(by_token), tuple(by_substring), freeze(by_substring)


_BY_TOKEN, _SUBSTRING_ANCHORS, _BY_SUBSTRING = _build_anchor_index()
_NON_ASCII_ANCHORS = tuple(a for a in _SUBSTRING_ANCHORS if not a.isascii())
_SUBSTRING_ANCHORS = tuple(a for a in _SUBSTRING_ANCHORS if a.isascii())
_TOKEN_ANCHORS = frozenset(_BY_TOKEN)
_REASONS_CACHE: dict[str, frozenset[str]] = {}


def reasons_in(text: str) -> frozenset[str]:
    """Every reason one of whose phrases occurs in ``text`` (lower-case, single-spaced).

    Memoised per text: bounce storms repeat the same server replies, and the classification
    passes ask about the same text many times.
    """
    hit = _REASONS_CACHE.get(text)
    if hit is None:
        found: set[str] = set()
        candidates = [_BY_TOKEN[t] for t in _TOKEN_ANCHORS.intersection(_TOKEN_RE.findall(text))]
        candidates += [_BY_SUBSTRING[a] for a in filter(text.__contains__, _SUBSTRING_ANCHORS)]
        if not text.isascii():  # phrases of scripts without ASCII words (Japanese)
            candidates += [_BY_SUBSTRING[a] for a in filter(text.__contains__, _NON_ASCII_ANCHORS)]
        for group in candidates:
            for reason, phrase in group:
                if reason not in found and _has(phrase, text):
                    found.add(reason)
        if len(_REASONS_CACHE) > 2048:
            _REASONS_CACHE.clear()
        hit = _REASONS_CACHE[text] = frozenset(found)
    return hit


def clear_cache() -> None:
    """Forget memoised phrase matches (for benchmarks that must not reuse them)."""
    _REASONS_CACHE.clear()


_CONTINUATION_RE = re.compile(r"(?<=\s)([245]\d\d)[- ](?:[245]\.\d{1,3}\.\d{1,3}\s)?")


def _unfold_reply(text: str) -> str:
    """Drop the code prefixes a multi-line SMTP reply repeats on each line ("550-5.7.1 ")."""
    first = REPLY_CODE_RE.search(text, 0, 2000)
    if not first:
        return text
    head, tail = text[: first.end()], text[first.end():]
    code = first.group(1)
    tail = _CONTINUATION_RE.sub(lambda m: "" if m.group(1) == code else m.group(0), tail)
    return " ".join((head + tail).split())


def find_status(text: str) -> str:
    """Return the first enhanced status code (e.g. '5.1.1') in ``text``, or ''."""
    m = STATUS_RE.search(text, 0, 2000)  # codes are quoted early; bounded on huge texts
    return ".".join(m.groups()) if m else ""


_FAILURE_CODE_RE = re.compile(r"(?<![\w.\-])([45][0-9][0-9])(?=[ \-]|$)")


def find_reply_code(text: str) -> str:
    """Return the first SMTP reply code (e.g. '550') in ``text``, or ''.

    A failure code wins over an earlier 2xx-looking number: report prose puts sizes and
    counts before the reply ("Size (in bytes): 222 ... 550 - no such user").
    """
    m = _FAILURE_CODE_RE.search(text, 0, 2000) or REPLY_CODE_RE.search(text, 0, 2000)
    return m.group(1) if m else ""


def prefer_status(field: str, text: str) -> str:
    """Choose between a DSN Status field and a code quoted in the error text.

    The text wins when the field is missing or only says "x.0.0" while the text is more
    specific in the same class: remote servers are more precise than the reporting MTA.
    """
    quoted = find_status(text)
    if not field:
        return quoted
    if quoted and field.endswith(".0.0") and quoted[0] == field[0] and not quoted.endswith(".0.0"):
        return quoted
    return field


_BEFORE_MAIL = ("CONN", "HELO", "EHLO")
_NEEDS_A_MESSAGE = frozenset({"userunknown", "filtered", "rejected", "mailboxfull", "mesgtoobig",
                              "exceedlimit", "suspend", "hasmoved", "contenterror", "notcompliantrfc"})


_NEEDS_A_RECIPIENT = frozenset({"userunknown", "hostunknown", "mailboxfull", "suspend", "hasmoved",
                                "exceedlimit"})


def reason_for(status: str, smtp_code: str, diagnostic: str, *, action: str = "",
               diagnostic_type: str = "", command: str = "") -> str:
    """Return Sisimai's reason name for one recipient.

    Order: 2.x.x is delivered; then specific reasons by code or phrase (FIRST_PASS); then a
    reason the status code names outright; then broad phrases (SECOND_PASS); then the code's
    class; then 'onhold' when there is text to go on, else 'undefined'.
    """
    text = " ".join(diagnostic.lower().split())[:600]  # the error is stated early; bound the scan
    if status.startswith("2.") or action == "delivered":
        return "delivered"
    text = _unfold_reply(text)
    found = reasons_in(text)  # every reason whose phrases the text carries, in one pass
    by_status = STATUS_REASON.get(status, "")
    overruled = next((r for r in OVERRULED_BY.get(by_status, ()) if r in found), "")
    if overruled == "mailererror":
        return overruled  # "5.1.1 ... procmail: no such user": the local delivery program failed
    if overruled or (
            by_status == "userunknown" and "access denied" in text and "recipient address rejected" not in text):
        by_status = ""  # the code says 'no such user' but the text says otherwise
    if command == "MAIL" and (by_status in ("userunknown", "hostunknown") or (
            not by_status and "userunknown" in found)):
        return "rejected"  # refused after MAIL FROM: it is the sender that "does not exist"
    for reason in FIRST_PASS:
        if command in _BEFORE_MAIL and reason in _NEEDS_A_MESSAGE:
            continue  # refused at connect/HELO: nothing about a recipient or a message yet
        if command == "MAIL" and reason in _NEEDS_A_RECIPIENT:
            continue  # refused at MAIL FROM: the recipient was never named
        if by_status == reason and reason not in STATUS_AFTER_PHRASES:
            return reason
        if reason == "userunknown":
            # "No such user" answered to RCPT is a missing mailbox; the same words after DATA
            # (or from an unknown stage) come from a filter that rejects the message instead.
            if by_status in ("", "notaccept") and (LOCALISED_MARK in found or any(p in text for p in MTA_USERUNKNOWN)):
                return reason
            if command == "RCPT" and reason in found:
                return reason
            continue
        if reason == "hostunknown" and (status.startswith("4") or any(p in text for p in RESOLVER_TROUBLE)):
            continue  # a temporary or resolver failure is not proof that the domain is gone
        if reason == "mesgtoobig" and by_status == "exceedlimit":
            continue  # 5.2.3 is the per-mailbox limit even when the text says "too big"
        if reason == "filtered" and command in ("", "DATA", "MAIL") and "userunknown" in found:
            return "filtered" if command != "MAIL" else "rejected"
        if reason in found:
            return reason
    if by_status in STATUS_AFTER_PHRASES:
        return by_status
    if by_status and by_status not in WEAK_REASONS:
        return by_status
    for reason in SECOND_PASS:
        if reason in found:
            return reason
    if by_status:
        return by_status
    subject = status[:3]
    if subject in ("5.6", "4.6"):
        return "contenterror"
    if subject in ("5.7", "4.7"):
        return "securityerror"
    if diagnostic_type.upper().startswith("X-UNIX"):
        return "mailererror"
    if "syntaxerror" in found or smtp_code in ("500", "501", "502", "503", "504"):
        return "syntaxerror"
    if action in ("delayed", "expired"):
        return "expired"
    if command in ("EHLO", "HELO"):
        return "blocked"
    if "vacation" in found:
        return "vacation"
    # 'onhold': the server said something we cannot place; 'undefined': it said nothing.
    # A labelled reason we cannot read ("Failure Reasons: <localised text>") is still a reason.
    return "onhold" if (text and (status or smtp_code or any(map(text.__contains__, _REASON_LABELS)))) \
        else "undefined"


def is_hard(reason: str, status: str, smtp_code: str) -> bool:
    """Sisimai's hard flag: the address itself is bad, retrying can never work."""
    if reason in HARD_REASONS:
        return True
    if reason == "notaccept":
        # 5xx, or a permanent report with no reply code at all (null MX, "no MX found").
        return status.startswith("5") or smtp_code.startswith("5") or not (status or smtp_code)
    return False


def detail_for(reason: str, status: str, smtp_code: str, text: str) -> str:
    """A finer reason of our own ('' when the reason says it all)."""
    text = text.lower()
    if any(map(text.__contains__, _GREYLIST)):
        return "greylisted"
    if reason in ("speeding", "toomanyconn") or any(map(text.__contains__, _RATE)):
        return "rate_limited"
    if reason == "authfailure":
        for word in ("dmarc", "dkim", "spf"):
            if word in text:
                return word
    if reason == "blocked" and any(w in text for w in ("spamhaus", "blacklist", "blocklist", "rbl", "dnsbl")):
        return "blocklisted"
    if reason == "notaccept" and ("null mx" in text or status in ("5.1.10", "5.7.27")):
        return "null_mx"
    return ""


def category_for(reason: str, hard: bool, status: str, smtp_code: str, detail: str) -> str:
    """hard / complaint / transient / soft / '' (not a failure).

    Transient means "the receiver is pacing us, not judging the address": rate limits,
    throttling and greylisting with a temporary (4xx) code, plus the codes receivers use for
    exactly that (421 4.7.0, 4.7.28, 452 4.5.3).
    """
    if hard:
        return Category.HARD
    if reason == "feedback":
        return Category.COMPLAINT
    if reason in ("vacation", "delivered"):
        return Category.NONE
    temporary = status.startswith("4") or (not status and smtp_code.startswith("4"))
    if reason in ("speeding", "toomanyconn") and (temporary or not status.startswith("5")):
        return Category.TRANSIENT
    if temporary and (
        detail in ("greylisted", "rate_limited")
        or status == "4.7.28"
        or (smtp_code == "421" and status == "4.7.0")
        or (smtp_code == "452" and status == "4.5.3")
    ):
        return Category.TRANSIENT
    return Category.SOFT


def classify(status: str, smtp_code: str, diagnostic: str) -> tuple[str, str, str, bool]:
    """Classify one SMTP failure.

    Args: ``status`` an enhanced status code ("5.1.1") or ""; ``smtp_code`` a reply code
    ("550") or ""; ``diagnostic`` the server's text. A status or code quoted in the text is
    used when the arguments are empty.

    Returns ``(reason, category, detail, hard)``: Sisimai's reason name, one of
    "hard"/"soft"/"transient"/"complaint"/"" (see ``Category``), our finer detail or "", and
    Sisimai's hard flag. Never raises for string arguments.
    """
    status = prefer_status((status or "").strip(), diagnostic or "")
    smtp_code = (smtp_code or "").strip() or find_reply_code(diagnostic or "")
    reason = provider_reason((), " ".join((diagnostic or "").split()), smtp_code) or reason_for(
        status, smtp_code, diagnostic or "", command=find_command(diagnostic or ""))
    return finish(reason, status, smtp_code, diagnostic or "")


def finish(reason: str, status: str, smtp_code: str, diagnostic: str) -> tuple[str, str, str, bool]:
    """Derive (reason, category, detail, hard) once the reason is known."""
    hard = is_hard(reason, status, smtp_code)
    detail = detail_for(reason, status, smtp_code, diagnostic)
    return reason, category_for(reason, hard, status, smtp_code, detail), detail, hard
