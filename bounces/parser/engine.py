"""``parse()``: from raw bytes to a BounceReport.

Order of questions, each answered by its own module:
1. Is it a complaint (``arf``)?  2. Does it carry RFC 3464 fields (``rfc3464``)?
3. Does it read like a bounce, and whom does its text name (``textscan``)?
4. Is it an auto-reply (``autoreply``)?  5. Otherwise it is not a bounce.
"""

from __future__ import annotations

import re
from email.message import Message

from . import arf, autoreply, listnotice, rfc3464, textscan
from .classify import find_command, finish, find_reply_code, prefer_status, reason_for
from .message import (ADDRESS_RE, MAX_TEXT_CHARS, clean_address, content_type, header,
                      header_map, leaf_parts, normalise, part_text, read_headers, read_message,
                      single_space)
from .mta import FAMILY_REASON, amazonses, detect
from .providers import provider_reason
from .report import BounceReport, Category, Kind, RecipientResult

# parse_error values starting with this mean a bug in the parser, not a bad message.
INTERNAL_ERROR_PREFIX = "internal error: "
_ORIGINAL_TYPES = ("message/rfc822", "message/global", "message/partial")
_HEADER_ONLY_TYPES = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers",
                      "text/rfc822-header")
_VERP_RE = re.compile(r"bounces\+([A-Za-z0-9._=+\-]{1,200})@", re.IGNORECASE)
_CORRELATION_RE = re.compile(r"^\s*X-Lockline-Message-ID:\s*<?([^\s<>]{1,200})>?", re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID_RE = re.compile(r"^\s*Message-I[Dd]:\s*<?([^\s<>]{1,250})>?", re.MULTILINE | re.IGNORECASE)
_REMOTE_HOST_RE = re.compile(r"(?:host|server|mta)\s+([a-z0-9][a-z0-9.-]{1,200}\.[a-z]{2,63})(?:\s*\[|\s+said)", re.IGNORECASE)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered|delivery (status|fail|notif|problem|report)|returned mail|"
    r"failure notice|mail delivery|could not be delivered|non[- ]?remis|nicht zustellbar|"
    r"unzustellbar|delivery has failed|rejected|warning: message|delayed mail|"
    r"error sending message|failed delivery|message not delivered|returned to sender|"
    r"non[- ]delivery|bounce|mail failure|not delivered|no se puede entregar|"
    r"エラー|不達|配信|未配達|ошибка|недоставлен|"
    # localised report subjects: de, fr, es, pt, it, nl
    r"zustellung fehlgeschlagen|non distribuable|[ée]chec de (la )?remise|no entregado|"
    r"n[ãa]o entregue|falha na entrega|mancata consegna|non recapitat|onbestelbaar|"
    r"niet (bezorgd|afgeleverd)",
    re.IGNORECASE,
)
_SYSTEM_SENDER_RE = re.compile(
    r"mailer-daemon|post_?master|mail delivery|mail system|maildelivery|noreply-dmarc|"
    r"mdaemon|bounce|nobody@|root@|administrator",
    re.IGNORECASE,
)
_DELAY_RE = re.compile(
    r"delivery (has been|is) delayed|will (continue|keep) (trying|to try|retrying)|"
    r"this is (only )?a warning|warning: message .* still undelivered|"
    r"has not (yet )?been delivered|delivery attempts will continue|delayed mail|"
    r"no action is required on your part|message delayed",
    re.IGNORECASE,
)


def parse(raw: bytes) -> BounceReport:
    """Parse one raw email message.

    Never raises: on any internal error it returns ``kind == "not_bounce"`` with
    ``parse_error`` describing it. Pure function, no I/O, bounded time on any input.
    """
    try:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        return _parse(bytes(raw))
    except Exception as exc:  # the contract: callers never see our bugs, only a report
        return BounceReport(kind=Kind.NOT_BOUNCE, parse_error=f"{INTERNAL_ERROR_PREFIX}{type(exc).__name__}: {exc}"[:500])


def _parse(raw: bytes, depth: int = 0) -> BounceReport:
    if not raw.strip():
        return BounceReport(parse_error="empty message")
    msg = read_message(normalise(raw))
    if not msg.keys():
        return BounceReport(parse_error="no header fields")
    parts = leaf_parts(msg)
    text = _report_text(msg, parts)
    section, quoted = textscan.error_section(text)
    original = _original(parts, quoted)
    report = BounceReport(mta=detect(msg, section.lower()))
    _fill_ids(report, msg, original, text)

    feedback = arf.find_feedback(msg, parts, original)
    if feedback is not None:
        return _complaint(report, feedback)
    if "notificationType" in text or '"eventType"' in text:
        events = amazonses.find_events(text)
        if events:
            return _from_ses(report, events)

    dsn, per_message = rfc3464.find_dsn(parts)
    if report.message_id is None and per_message.get("x-original-message-id"):
        report.message_id = per_message["x-original-message-id"].strip("<> ") or None
    bounce_like = bool(dsn) or _looks_like_bounce(msg, parts, section)
    hosts = _site_hosts(msg, per_message)
    if dsn:
        report.recipients = _dsn_recipients(msg, original, dsn, section, hosts)
    elif depth == 0 and original is not None and _is_report(original) and (inner := _forwarded(parts)):
        # A bounce forwarded inside another message (a relay or a gateway re-wrapping the
        # report it got): the inner report names the failed recipients; the outer one's
        # "original" is that report, whose To: is our own sender.
        nested = _parse(inner, depth + 1)
        if nested.recipients:
            nested.verp_token = nested.verp_token or report.verp_token
            return nested
        report.recipients = _prose_recipients(msg, original, section, report.mta, hosts)
    elif notices := listnotice.find_notice(msg, text):
        report.mta = "fml"
        report.recipients = [_recipient(n.address, "failed", "", n.text, "", "", False,
                                        family_reason=n.reason) for n in notices]
    elif bounce_like:
        report.recipients = _prose_recipients(msg, original, section, report.mta, hosts, per_message)
    if report.recipients:
        report.kind = _kind_of(report.recipients)
        return report

    if autoreply.is_auto_reply(msg):
        report.kind = Kind.AUTO_REPLY
        addr = clean_address(header(msg, "From"))
        if addr:
            reason = autoreply.reason_of(text)
            if reason == "vacation":
                report.recipients.append(RecipientResult(address=addr, reason=reason, category=Category.NONE))
            else:  # the mailbox is out of use: a soft failure, not a holiday
                report.recipients.append(_recipient(addr, "failed", "", single_space(text)[:2000], "", "", False,
                                                    family_reason=reason))
        report.original_subject = report.original_subject or header(msg, "Subject") or None
    elif bounce_like:
        # A mailer daemon's report we could not read: say so, so that it is kept for a person
        # rather than dropped as ordinary mail.
        report.kind = Kind.BOUNCE
        report.parse_error = "a bounce, but no failed recipient could be found in it"
    return report


def _is_report(msg: Message) -> bool:
    """Headers of a delivery report (used on a returned message: is it itself a bounce?)."""
    ctype = header(msg, "Content-Type").lower()
    return ("report-type=delivery-status" in ctype or bool(header(msg, "X-Failed-Recipients"))
            or bool(_SYSTEM_SENDER_RE.search(header(msg, "From")) and _BOUNCE_SUBJECT_RE.search(header(msg, "Subject"))))


def _forwarded(parts: list[Message]) -> bytes | None:
    """The raw text of the first message/rfc822 part, rebuilt from its headers and body."""
    for part in parts:
        if content_type(part) not in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            inner = payload[0]
            body = inner.get_payload()
            if not isinstance(body, str):
                return None
            head = "".join(f"{k}: {v}\n" for k, v in inner.items())
            return (head + "\n" + body).encode("utf-8", "surrogateescape")
        return None
    return None


def _kind_of(recipients: list[RecipientResult]) -> str:
    actions = {r.action for r in recipients}
    if "failed" in actions:
        return Kind.BOUNCE
    if "delayed" in actions:
        return Kind.DELAY
    return Kind.NOT_BOUNCE  # only delivered/relayed/expanded: a success report


def _complaint(report: BounceReport, feedback: arf.Feedback) -> BounceReport:
    report.kind = Kind.COMPLAINT
    report.feedback_type = feedback.feedback_type
    # An MTA family found in a complaint is the relay's (e.g. Exim's delivery prose
    # signature), not the reporter's; name the format instead unless a provider was found.
    if report.mta in (None, "exim", "postfix", "sendmail", "qmail"):
        report.mta = "arf"
    for addr in feedback.recipients:
        report.recipients.append(RecipientResult(address=addr, reason="feedback", category=Category.COMPLAINT))
    return report


def _is_delay_warning(section: str) -> bool:
    head = section[:4000].lower()
    return ("delay" in head or "warning" in head or "will" in head or "not yet been delivered" in head
            or "has not been delivered" in head) and bool(_DELAY_RE.search(head))


def _site_hosts(msg: Message, per_message: dict[str, str]) -> tuple[str, ...]:
    """Hosts that wrote the report: the Reporting-MTA and the domain of the bounce's sender."""
    reporting = per_message.get("reporting-mta", "")
    reporting = (reporting.partition(";")[2] if ";" in reporting else reporting).strip().lower()
    # the raw From value is enough: only its domain is wanted, compared as a suffix
    sender = header_map(msg).get("from", "").rpartition("@")[2].partition(">")[0].strip().lower()
    return (reporting, sender)


def _dsn_recipients(msg: Message, original: Message | None, dsn: list[rfc3464.DsnRecipient],
                    section: str, hosts: tuple[str, ...] = ()) -> list[RecipientResult]:
    """Recipients from RFC 3464 fields, with the prose as fallback and context."""
    # The prose is needed only for recipients without a Diagnostic-Code; otherwise the whole
    # section serves as context naming the SMTP command.
    scanned: dict[str, str] = {}
    if not all(d.diagnostic for d in dsn):
        scanned = dict(textscan.scan(section, _sender_addresses(msg, original)))
    only = next(iter(scanned.values())) if len(dsn) == 1 and scanned else ""
    delay = _is_delay_warning(section)
    out = []
    for d in dsn:
        own = scanned.get(d.address, "") or scanned.get(d.original, "")
        out.append(_recipient(d.address, d.action, d.status, d.diagnostic or own or only,
                              d.diagnostic_type, d.remote_mta, delay, own or only or section[:4000],
                              hosts=hosts, gloss=d.status_comment))
    return out


def _prose_recipients(msg: Message, original: Message | None, section: str,
                      mta: str | None, hosts: tuple[str, ...] = (),
                      fields: dict[str, str] | None = None) -> list[RecipientResult]:
    """Recipients of a bounce without RFC 3464 recipient fields: named in its text or headers.

    ``fields``: a delivery-status block that names no recipient (Status, Diagnostic-Code only);
    it describes the recipient when the report names exactly one.
    """
    scanned = dict(textscan.scan(section, _sender_addresses(msg, original)))
    failed = [a for a in (clean_address(v) for v in header(msg, "X-Failed-Recipients").split(",")) if a]
    # X-Failed-Recipients is authoritative, except when the text names as many other
    # addresses and none of these: the header was rewritten (aliases), the text quotes
    # the envelope.
    if failed and not (len(scanned) == len(failed) and not set(failed) & set(scanned)):
        pairs = [(a, scanned.get(a, "")) for a in failed]
    else:
        pairs = list(scanned.items())
    if not pairs and original is not None:
        pairs = [(a.lower(), "") for a in ADDRESS_RE.findall(header(original, "To"))[:1]]
    delay = _is_delay_warning(section)
    whole = single_space(section)[:2000]
    family_reason = FAMILY_REASON.get(mta or "", "")
    fields = fields or {}
    if len(pairs) == 1 and (fields.get("status") or fields.get("diagnostic-code")):
        dtype, sep, code_text = fields.get("diagnostic-code", "").partition(";")
        diagnostic = (code_text if sep and " " not in dtype.strip() else dtype).strip() or pairs[0][1] or whole
        action = fields.get("action", "").lower().split(" ")[0]
        return [_recipient(pairs[0][0], action, rfc3464.status_value(fields.get("status", "")), diagnostic,
                           dtype.strip().upper() if sep else "", "", delay, pairs[0][1] or whole,
                           family_reason=family_reason, hosts=hosts)]
    return [_recipient(addr, "", "", diagnostic or whole, "", "", delay, family_reason=family_reason,
                       hosts=hosts)
            for addr, diagnostic in pairs]


def _from_ses(report: BounceReport, events: list) -> BounceReport:
    report.mta = "amazonses"
    if events[0].kind == "Complaint":
        report.kind = Kind.COMPLAINT
        report.feedback_type = events[0].feedback_type or "abuse"
        for ev in events:
            report.recipients.append(RecipientResult(address=ev.address, reason="feedback", category=Category.COMPLAINT))
        return report
    for ev in events:
        report.recipients.append(_recipient(ev.address, ev.action, ev.status, ev.diagnostic, "SMTP", ev.remote_mta, False))
    actions = {r.action for r in report.recipients}
    report.kind = Kind.BOUNCE if "failed" in actions else Kind.DELAY if "delayed" in actions else Kind.NOT_BOUNCE
    return report


def _recipient(address: str, action: str, status: str, diagnostic: str, diagnostic_type: str,
               remote_mta: str, delay_text: bool, context: str = "",
               family_reason: str = "", hosts: tuple[str, ...] = (), gloss: str = "") -> RecipientResult:
    """Build one recipient; ``context`` is the report's prose about it (for the SMTP command).

    ``hosts`` name the reporting side (for provider rules); ``gloss`` is the text a DSN writer
    put after the Status code, evidence read before the diagnostic.
    """
    diagnostic = single_space(diagnostic)[:2000]
    status = prefer_status(status, diagnostic)
    smtp_code = find_reply_code(diagnostic)
    if not action:
        if delay_text and not status.startswith("5"):
            action = "delayed"
        elif status.startswith("2"):
            action = "delivered"
        else:
            action = "failed"
    elif action in ("expired",):
        action = "failed"
    if not remote_mta and ("host" in diagnostic or "server" in diagnostic or "mta" in diagnostic):
        m = _REMOTE_HOST_RE.search(diagnostic, 0, 600)
        remote_mta = m.group(1).lower() if m else ""
    command = find_command(diagnostic[:1000]) or (find_command(context[:2000]) if context else "")
    reason = family_reason or provider_reason(
        (address.rpartition("@")[2], remote_mta.lower(), *hosts), diagnostic, smtp_code)
    if not reason:
        evidence = f"{gloss}; {diagnostic}" if gloss and gloss.lower() not in diagnostic.lower() else diagnostic
        reason = reason_for(status, smtp_code, evidence, action=action,
                            diagnostic_type=diagnostic_type, command=command)
    reason, category, detail, hard = finish(reason, status, smtp_code, diagnostic)
    if action == "delivered":
        category = Category.NONE
    return RecipientResult(address=address, action=action, status=status, smtp_code=smtp_code,
                           diagnostic=diagnostic, remote_mta=remote_mta, category=category,
                           reason=reason, detail=detail, hard=hard)


def _report_text(msg: Message, parts: list[Message]) -> str:
    """The human-readable report: the text parts before the delivery-status part."""
    if not msg.is_multipart():
        ctype = content_type(msg)
        if ctype.startswith("message/"):
            return ""
        text = part_text(msg)
        return _strip_html(text) if ctype == "text/html" else text
    texts: list[str] = []
    for part in parts:
        ctype = content_type(part)
        if ctype == "text/plain" or (ctype.startswith("text/") and ctype not in (
                "text/html", "text/rfc822-headers", "text/delivery-status", "text/rfc822-header")):
            texts.append(part_text(part))
        if texts and ctype in rfc3464.DSN_TYPES:
            break
    if not texts:
        html = [p for p in parts if content_type(p) == "text/html"]
        if html:
            texts.append(_strip_html(part_text(html[0])))
    return "\n".join(texts)[:MAX_TEXT_CHARS]


_TAG_RE = re.compile(r"<[^<>]{0,2000}>")
_BREAK_RE = re.compile(r"(?i)<br\s*/?>|</p>|</div>|</tr>")
# Prose that, next to a returned original message, marks a delivery report.
_FAILURE_PROSE_RE = re.compile(
    r"could not be delivered|undeliverable|delivery (has )?failed|was not delivered|"
    r"permanent (error|failure)|mailbox (is )?full|unable to deliver|not be delivered|"
    r"no such user|user unknown|invalid (user|recipient|address)|"
    r"nicht zugestellt|n'a pas pu [êe]tre (remis|distribu)|no se ha podido entregar|"
    r"n[ãa]o foi poss[íi]vel entregar|non [èe] stato recapitato|niet worden afgeleverd|"
    r"配信できませんでした|届けられませんでした", re.IGNORECASE)
_CODE_RE = re.compile(r"\b[45]\d\d[ -]|\b[45]\.\d\.\d")


def _strip_html(text: str) -> str:
    text = _BREAK_RE.sub("\n", text)
    return _TAG_RE.sub(" ", text).replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").replace("&amp;", "&")


def _original(parts: list[Message], quoted: str) -> Message | None:
    """The returned original message (headers at least), or None."""
    for part in parts:
        ctype = content_type(part)
        if ctype in _ORIGINAL_TYPES:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return _headers_from_text(part_text(part))
        if ctype in _HEADER_ONLY_TYPES:
            return _headers_from_text(part_text(part))
    if quoted.strip():
        return _headers_from_text(quoted)
    return None


def _headers_from_text(text: str) -> Message | None:
    """Headers of an original message quoted as text (its body is not needed)."""
    try:
        return read_headers(text)
    except Exception:
        return None


def _fill_ids(report: BounceReport, msg: Message, original: Message | None, text: str) -> None:
    """Original Message-ID, subject and our correlation id; the VERP token of the bounce."""
    if original is not None:
        report.message_id = header(original, "Message-ID").strip("<> ") or None
        report.original_subject = header(original, "Subject") or None
        report.correlation = header(original, "X-Lockline-Message-ID").strip("<> ") or None
    if report.correlation is None:
        has = "Lockline" in text or "lockline" in text or "LOCKLINE" in text
        m = _CORRELATION_RE.search(text) if has else None
        if m:
            report.correlation = m.group(1)
    if report.message_id is None and ("Message-" in text or "message-" in text or "MESSAGE-" in text):
        m = _MESSAGE_ID_RE.search(text)
        if m and m.group(1) != header(msg, "Message-ID").strip("<> "):
            report.message_id = m.group(1)
    headers = header_map(msg)
    for name in ("to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "return-path",
                 "x-original-rcpt-to"):
        value = headers.get(name, "")
        m = _VERP_RE.search(value) if "+" in value else None
        if m:
            report.verp_token = m.group(1)
            break


def _sender_addresses(msg: Message, original: Message | None) -> set[str]:
    """Addresses on the sending side: never a failed recipient."""
    out: set[str] = set()
    for source, names in ((msg, ("To", "From", "Reply-To")),
                          (original, ("From", "Return-Path", "Sender", "Reply-To"))):
        if source is None:
            continue
        headers = header_map(source)
        for name in names:
            value = headers.get(name.lower(), "")
            if "@" in value:
                out.update(a.lower() for a in ADDRESS_RE.findall(value))
    return out


def _looks_like_bounce(msg: Message, parts: list[Message], section: str) -> bool:
    """Cheap signals that a message is a delivery report rather than ordinary mail."""
    if header(msg, "X-Failed-Recipients"):
        return True
    ctype = header(msg, "Content-Type").lower()
    if "report-type=delivery-status" in ctype or "multipart/report" in ctype:
        return True
    sender = header(msg, "From")
    if _SYSTEM_SENDER_RE.search(sender):
        return True
    if _BOUNCE_SUBJECT_RE.search(header(msg, "Subject")):
        return True
    return any(content_type(p) in _ORIGINAL_TYPES + _HEADER_ONLY_TYPES for p in parts) and bool(
        _CODE_RE.search(section) or _FAILURE_PROSE_RE.search(section[:4000]))
