"""SMTP that records a message as sent before the server can accept it: no duplicate sends.

SMTP leaves one window open: the server answers 250 to the end of DATA, and a worker killed
before it writes "sent" leaves the row in `sending`; resending then delivers the message twice.
We close that window by moving the write: the whole message goes to the server except the final
"." line, then the hook records the message as sent (and commits), and only then the "." is
sent. So:

- killed before the commit: the server has an unfinished DATA and discards it when the
  connection drops; the row is still `sending`, and the reconciler can safely send it again;
- killed after the commit: the row says `sent`; the server gets the "." (one write that the
  kernel completes even if the process dies right after it) unless the process dies in the few
  microseconds between the commit returning and that write: the only way to lose a message, and
  it can never produce a duplicate;
- the server refuses after the "." (a 5xx content filter): the caller records the refusal over
  the provisional `sent`.

ESP backends (HTTP APIs) have no such split: their window is the time between the ESP accepting
the request and our write, and stays bounded, not closed.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
import smtplib
import socket
from collections.abc import Callable, Iterator
from email._policybase import Compat32

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.core.mail.message import sanitize_address

_CRLF = b"\r\n"
_before_final_dot: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "lockline_before_final_dot", default=None
)


@contextlib.contextmanager
def before_final_dot(hook: Callable[[], None]) -> Iterator[None]:
    """Run ``hook`` after the message body reached the server and before the final "." line.

    If the hook raises, the "." is never sent and the connection is closed, so the server drops
    the message; the exception propagates.
    """
    token = _before_final_dot.set(hook)
    try:
        yield
    finally:
        _before_final_dot.reset(token)


class _CommitBeforeDot:
    def connect(self, *args, **kwargs):
        reply = super().connect(*args, **kwargs)
        # The final "." goes out as its own small write after the hook's commit. With Nagle's
        # algorithm on, the kernel holds it until the server ACKs the body, and servers delay
        # that ACK (40 ms on Linux): measured, half of each send was this wait. Disabling Nagle
        # only changes when bytes leave, never their order or content.
        with contextlib.suppress(OSError, AttributeError):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reply

    def data(self, msg):  # smtplib.SMTP.data with a hook before the terminating line
        if _before_final_dot.get() is None:
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        return self._content_send(msg)

    def _content_send(self, msg):
        """After the server's 354: the message, the hook (if any), the final "."; the reply."""
        if isinstance(msg, str):
            msg = smtplib._fix_eols(msg).encode("ascii")
        body = smtplib._quote_periods(msg)
        if body[-2:] != _CRLF:
            body += _CRLF
        hook = _before_final_dot.get()
        if hook is None:
            self.send(body + b"." + _CRLF)
            return self.getreply()
        self.send(body)
        try:
            hook()
        except BaseException:
            # No ".": the server holds an unfinished message and discards it with the session.
            self.close()
            raise
        self.send(b"." + _CRLF)
        return self.getreply()

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        """smtplib.SMTP.sendmail, pipelined (RFC 2920) when the server offers PIPELINING.

        MAIL, every RCPT and DATA go out in one write and their replies are read together: two
        round trips fewer per message, which against a distant MX is most of a send's time.
        Same result and same exceptions as smtplib's (SMTPSenderRefused, SMTPRecipientsRefused,
        SMTPDataError), with the same RSET or disconnect after a refusal.
        """
        self.ehlo_or_helo_if_needed()
        if not (self.does_esmtp and self.has_extn("pipelining")):
            return super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        if isinstance(msg, str):
            msg = smtplib._fix_eols(msg).encode("ascii")
        if isinstance(to_addrs, str):
            to_addrs = [to_addrs]
        options = ([f"size={len(msg)}"] if self.has_extn("size") else []) + list(mail_options)
        if any(option.lower() == "smtputf8" for option in options):
            if not self.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
            self.command_encoding = "utf-8"
        mail_args = "".join(f" {option}" for option in options)
        rcpt_args = "".join(f" {option}" for option in rcpt_options)
        commands = [f"mail FROM:{_quoteaddr(from_addr)}{mail_args}"]
        commands += [f"rcpt TO:{_quoteaddr(address)}{rcpt_args}" for address in to_addrs]
        commands.append("data")
        if any("\r" in command or "\n" in command for command in commands):
            raise ValueError("command and arguments contain prohibited newline characters")
        self.send("".join(f"{command}\r\n" for command in commands))
        replies = []
        try:
            while len(replies) < len(commands):
                replies.append(self.getreply())
                if replies[-1][0] == 421:
                    break  # the server is closing the session: no further replies
        except smtplib.SMTPServerDisconnected:
            if not replies:
                raise
        data_reply = replies[-1] if len(replies) == len(commands) else None

        code, reply = replies[0]
        if code != 250:
            self._pipeline_abandon(code, data_reply)
            raise smtplib.SMTPSenderRefused(code, reply, from_addr)
        refused = {}
        for address, (code, reply) in zip(to_addrs, replies[1:1 + len(to_addrs)]):
            if code not in (250, 251):
                refused[address] = (code, reply)
            if code == 421:
                self.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(to_addrs):
            self._pipeline_abandon(0, data_reply)
            raise smtplib.SMTPRecipientsRefused(refused)
        if data_reply is None:
            self.close()
            raise smtplib.SMTPServerDisconnected("connection closed before the reply to DATA")
        code, reply = data_reply
        if code != 354:
            self._pipeline_abandon(code, data_reply)
            raise smtplib.SMTPDataError(code, reply)
        code, reply = self._content_send(msg)
        if code != 250:
            if code == 421:
                self.close()
            else:
                self._rset()
            raise smtplib.SMTPDataError(code, reply)
        return refused

    def _pipeline_abandon(self, code: int, data_reply) -> None:
        """After a refusal in a pipelined group: RSET, as smtplib does; or disconnect when the
        server is closing (421), never answered DATA, or (wrongly) opened DATA anyway — a
        message can then only be dropped by dropping the session."""
        if code == 421 or data_reply is None or data_reply[0] == 354:
            self.close()
        else:
            self._rset()


class CommitBeforeDotSMTP(_CommitBeforeDot, smtplib.SMTP):
    pass


class CommitBeforeDotSMTP_SSL(_CommitBeforeDot, smtplib.SMTP_SSL):
    pass


class EmailBackend(DjangoSMTPBackend):
    """Django's SMTP backend on the connection classes above (same settings, same behaviour when
    no hook is set), with the same message bytes built more cheaply (see ``_send``)."""

    @property
    def connection_class(self):
        return CommitBeforeDotSMTP_SSL if self.use_ssl else CommitBeforeDotSMTP

    def _send(self, email_message):
        """Django's ``_send``, producing the same addresses and the same bytes, cheaper.

        Profiled per message, building the email was most of a worker's CPU: parsing each plain
        address again (``sanitize_address``) and folding every header through ``email.header``
        even when it fits on one line. Plain ASCII addresses and short ASCII headers now pass
        as they are (``_plain_address``, ``_ShortHeadersAsIs``); anything else takes Django's
        and the standard library's way. tests/sending/test_smtp_bytes.py checks both give the
        same result.
        """
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = _plain_address(email_message.from_email, encoding)
        recipients = [_plain_address(address, encoding) for address in email_message.recipients()]
        message = email_message.message()
        message.policy = SHORT_HEADERS_AS_IS
        try:
            self.connection.sendmail(from_email, recipients, message.as_bytes(linesep="\r\n"))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


# A dot-atom address (RFC 5322 3.4.1) on an ASCII host name: nothing to encode, quote or check.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_LABEL}(?:\.{_LABEL})*\Z")


def _plain_address(address, encoding: str) -> str:
    """``sanitize_address`` for one address: a plain one as it is, anything else Django's way."""
    if isinstance(address, str) and _PLAIN_ADDRESS.match(address):
        return address
    return sanitize_address(address, encoding)


def _quoteaddr(address: str) -> str:
    """``smtplib.quoteaddr``: a plain address in angle brackets, anything else smtplib's way."""
    return f"<{address}>" if _PLAIN_ADDRESS.match(address) else smtplib.quoteaddr(address)


class _ShortHeadersAsIs(Compat32):
    """The email package's compat32 policy (Django's messages use it), but a header line that is
    plain ASCII and fits within max_line_length is written as it is instead of through
    ``email.header.Header``, which returns it unchanged after much work. Longer or non-ASCII
    headers are folded and encoded exactly as before."""

    def _fold(self, name, value, sanitize):
        if (isinstance(value, str) and value.isascii() and "\r" not in value and "\n" not in value
                and self.max_line_length and len(name) + 2 + len(value) <= self.max_line_length):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


SHORT_HEADERS_AS_IS = _ShortHeadersAsIs()
