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
import smtplib
import socket
from collections.abc import Callable, Iterator

from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend

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
        hook = _before_final_dot.get()
        if hook is None:
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = smtplib._fix_eols(msg).encode("ascii")
        body = smtplib._quote_periods(msg)
        if body[-2:] != _CRLF:
            body += _CRLF
        self.send(body)
        try:
            hook()
        except BaseException:
            # No ".": the server holds an unfinished message and discards it with the session.
            self.close()
            raise
        self.send(b"." + _CRLF)
        return self.getreply()


class CommitBeforeDotSMTP(_CommitBeforeDot, smtplib.SMTP):
    pass


class CommitBeforeDotSMTP_SSL(_CommitBeforeDot, smtplib.SMTP_SSL):
    pass


class EmailBackend(DjangoSMTPBackend):
    """Django's SMTP backend on the connection classes above (same settings, same behaviour when
    no hook is set)."""

    @property
    def connection_class(self):
        return CommitBeforeDotSMTP_SSL if self.use_ssl else CommitBeforeDotSMTP
