"""A local SMTP sink (aiosmtpd) that answers each recipient by rule: development, demo, tests.

Rules match the full recipient address (a regex, lower-cased) and say what to answer at RCPT:
a reply line ("550 5.1.1 ..."), optionally only for the first ``times`` attempts per address
(greylisting: rejected, then accepted), optionally after stalling ``stall`` seconds (to kill a
worker mid-send in tests), or accept and later mail back a DSN (``dsn``: a bounce that arrives
after the send, as real MTAs do after accepting). The first matching rule wins; no match: 250.

The default rules follow the demo seed's local-part prefixes (``unknown.``, ``full.``, ...).
Every accepted message is kept in ``received`` (tests count deliveries per message from it).
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import re
import smtplib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.utils import formatdate, make_msgid

from aiosmtpd.smtp import SMTP

from campaigns.tokens import CORRELATION_HEADER

logger = logging.getLogger(__name__)

ACCEPT = "250 2.1.5 Ok"


@dataclass
class SinkRule:
    pattern: str  # regex searched in the lower-cased recipient address
    reply: str = ACCEPT  # what RCPT answers; "{rcpt}" is replaced by the address
    times: int | None = None  # answer `reply` this many times per address, then accept
    stall: float = 0.0  # seconds to wait before answering (only while `times` lasts, if set)
    # Seconds to wait after the whole message arrived (it is already kept) before answering the
    # end of DATA: the window in which the server has the message and the client has no answer.
    stall_after_data: float = 0.0
    dsn: str = ""  # accept, then mail back a DSN with this reply ("550 5.1.1 ...")
    # Accept at RCPT, then answer the end of DATA with this reply and keep nothing (a content
    # filter's "554 5.7.1 ..." once the whole message is in).
    after_data: str = ""

    def __post_init__(self):
        self.regex = re.compile(self.pattern)

    @classmethod
    def parse(cls, spec: str) -> SinkRule:
        """``REGEX=REPLY`` (e.g. ``^bob@example\\.com$=550 5.1.1 gone``); REPLY may end with
        ``;times=N``, ``;stall=SECONDS`` or be ``dsn:550 5.1.1 ...`` or ``data:554 5.7.1 ...``
        (the answer to the end of DATA)."""
        pattern, sep, reply = spec.partition("=")
        if not sep or not pattern or not reply:
            raise ValueError(f"a sink rule is REGEX=REPLY, not {spec!r}")
        options = {}
        while match := re.search(r";(times|stall)=([\d.]+)$", reply):
            key, value = match.groups()
            options[key] = int(value) if key == "times" else float(value)
            reply = reply[: match.start()]
        if reply.startswith("dsn:"):
            return cls(pattern=pattern, dsn=reply[4:].strip(), **options)
        if reply.startswith("data:"):
            return cls(pattern=pattern, after_data=reply[5:].strip(), **options)
        if not re.match(r"^[245]\d\d ", reply.strip() + " "):
            raise ValueError(f"a sink rule's reply starts with an SMTP code: {spec!r}")
        return cls(pattern=pattern, reply=reply.strip(), **options)


DEFAULT_RULES = (
    SinkRule(r"^unknown\.", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    SinkRule(r"^full\.", "552 5.2.2 <{rcpt}>: Mailbox full, quota exceeded"),
    SinkRule(r"^down\.", "421 4.3.2 Service not available, closing transmission channel"),
    SinkRule(r"^greylist\.", "450 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, try again later", times=1),
    SinkRule(r"^throttle\.", "452 4.5.3 Too many recipients: rate limit exceeded, slow down"),
    SinkRule(r"^ratelimit\.", "421 4.7.0 Try again later, closing connection"),
    SinkRule(r"^blocked\.", "554 5.7.1 Message refused: spam content detected"),
    SinkRule(r"^late\.", dsn="550 5.1.1 <{rcpt}>: user unknown (bounced after acceptance)"),
)


@dataclass
class Received:
    mail_from: str
    rcpt: str
    data: bytes
    message_token: str  # the X-Lockline-Message-ID header ("" if absent)
    at: float = field(default_factory=time.time)


class SinkHandler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # Like Postfix and most MTAs, the sink offers command pipelining (RFC 2920), unless the
        # sink was started without it (to test clients against servers that lack it).
        session.host_name = hostname
        if not self.sink.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rcpt = address.lower()
        rule = next((r for r in self.sink.rules if r.regex.search(rcpt)), None)
        reply = ACCEPT
        if rule is not None:
            with self.sink.lock:
                self.sink.attempts[rcpt] += 1
                seen = self.sink.attempts[rcpt]
            active = rule.times is None or seen <= rule.times
            if rule.stall and active:
                self.sink.stalled.set()
                await asyncio.sleep(rule.stall)
            if active and not rule.dsn and not rule.after_data:
                reply = rule.reply.replace("{rcpt}", rcpt)
        self.sink.log(f"RCPT {rcpt} -> {reply}")
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server, session, envelope):
        refusal = next((r.after_data for r in self.sink.rules
                        if r.after_data and any(r.regex.search(t.lower()) for t in envelope.rcpt_tos)), "")
        if refusal:
            self.sink.log(f"DATA from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)} -> {refusal}")
            return refusal
        token = message_from_bytes(envelope.content or b"").get(CORRELATION_HEADER, "") or ""
        for rcpt in envelope.rcpt_tos:
            item = Received(envelope.mail_from, rcpt.lower(), envelope.content, token.strip())
            with self.sink.lock:
                self.sink.received.append(item)
            rule = next((r for r in self.sink.rules if r.regex.search(rcpt.lower())), None)
            if rule is not None and rule.dsn:
                self.sink.dsn_schedule(item, rule.dsn.replace("{rcpt}", rcpt.lower()))
        stall = max((r.stall_after_data for r in self.sink.rules
                     if r.stall_after_data and any(r.regex.search(t.lower()) for t in envelope.rcpt_tos)), default=0)
        if stall:
            with self.sink.lock:
                first_time = not self.sink.data_stalled.is_set()
                self.sink.data_stalled.set()
            if first_time:
                await asyncio.sleep(stall)
        queue_id = next(self.sink.ids)
        self.sink.log(f"DATA from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)} -> 250 queued as {queue_id}")
        return f"250 2.0.0 Ok: queued as {queue_id}"


class SmtpSink:
    """The sink, serving on its own thread: ``start()`` binds (port 0: a free port) and returns."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, rules=DEFAULT_RULES, dsn_relay: str = "",
                 dsn_delay: float = 1.0, verbose: bool = False, pipelining: bool = True):
        self.host, self.port, self.rules = host, port, list(rules)
        self.pipelining = pipelining
        self.dsn_relay, self.dsn_delay, self.verbose = dsn_relay, dsn_delay, verbose
        self.received: list[Received] = []
        self.dsns: list[bytes] = []
        self.attempts: Counter = Counter()
        self.lock = threading.Lock()
        self.stalled = threading.Event()
        self.data_stalled = threading.Event()
        self.ids = (f"{n:06X}" for n in itertools.count(1))
        # aiosmtpd logs every command at INFO: too loud for a sink that serves thousands.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._thread = None

    def log(self, line: str) -> None:
        if self.verbose:
            print(line, flush=True)
        logger.debug(line)

    def start(self) -> SmtpSink:
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(self._loop.create_server(
                lambda: SMTP(SinkHandler(self), hostname="sink.lockline.test", ident="Lockline sink"),
                host=self.host, port=self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="smtp-sink", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the SMTP sink did not start")
        return self

    def stop(self) -> None:
        if self._server is None:
            return

        async def close():
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- what tests read ---
    def count_by_token(self) -> Counter:
        with self.lock:
            return Counter(item.message_token for item in self.received)

    def count_by_rcpt(self) -> Counter:
        with self.lock:
            return Counter(item.rcpt for item in self.received)

    # --- DSNs for bounces that arrive after acceptance ---
    def dsn_schedule(self, item: Received, reply: str) -> None:
        timer = threading.Timer(self.dsn_delay, self._dsn_send, args=(item, reply))
        timer.daemon = True
        timer.start()

    def _dsn_send(self, item: Received, reply: str) -> None:
        dsn = dsn_build(original=item, reply=reply, reporting_mta="sink.lockline.test")
        with self.lock:
            self.dsns.append(dsn)
        if not self.dsn_relay or not item.mail_from:
            self.log(f"DSN for {item.rcpt} to {item.mail_from or '<>'} kept (no relay)")
            return
        host, _, port = self.dsn_relay.rpartition(":")
        try:
            with smtplib.SMTP(host, int(port), timeout=10) as relay:
                relay.sendmail("", [item.mail_from], dsn)
            self.log(f"DSN for {item.rcpt} mailed to {item.mail_from} via {self.dsn_relay}")
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("the sink could not mail a DSN to %s: %s", self.dsn_relay, exc)


def dsn_build(*, original: Received, reply: str, reporting_mta: str) -> bytes:
    """An RFC 3464 delivery status notification (multipart/report) for ``original``."""
    code, _, text = reply.partition(" ")
    status = re.match(r"([245]\.\d{1,3}\.\d{1,3})", text)
    headers = original.data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    boundary = f"dsn-{time.time_ns()}"
    return "\r\n".join([
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
        f"To: {original.mail_from}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {make_msgid(domain=reporting_mta)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        f"Your message to <{original.rcpt}> could not be delivered.",
        "",
        reply,
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {reporting_mta}",
        "",
        f"Final-Recipient: rfc822; {original.rcpt}",
        "Action: failed",
        f"Status: {status.group(1) if status else '5.0.0'}",
        f"Diagnostic-Code: smtp; {code} {text}",
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        headers.replace("\n", "\r\n"),
        "",
        f"--{boundary}--",
        "",
    ]).encode("utf-8")
