"""Where bounce mail is read from: files, mbox files, Maildirs and IMAP mailboxes.

Each reader yields ``(ref, raw bytes)`` and marks a message done only after the caller has
stored it (the ``done`` callback), so a crash between reading and storing re-reads the message
next time instead of losing it; storing is idempotent, so re-reading costs nothing.
"""
from __future__ import annotations

import imaplib
import mailbox
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

Done = Callable[[], None]


@dataclass(frozen=True)
class MailItem:
    ref: str
    raw: bytes
    done: Done


def _nothing() -> None:
    return None


def read_files(paths: list[str]) -> Iterator[MailItem]:
    for path in paths:
        yield MailItem(ref=path, raw=Path(path).read_bytes(), done=_nothing)


def read_mbox(path: str) -> Iterator[MailItem]:
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield MailItem(ref=f"{path}#{key}", raw=box.get_bytes(key), done=_nothing)
    finally:
        box.close()


def read_maildir(path: str) -> Iterator[MailItem]:
    """Unread messages in ``new/``; each is moved to ``cur/`` flagged Seen once stored.

    The file is renamed, not rewritten, so the stored bytes stay exactly what arrived.
    """
    root = Path(path)
    if not (root / "new").is_dir():
        raise FileNotFoundError(f"{path} is not a Maildir (no new/ folder)")
    (root / "cur").mkdir(exist_ok=True)
    for entry in sorted((root / "new").iterdir()):
        if not entry.is_file() or entry.name.startswith("."):
            continue

        def done(entry: Path = entry) -> None:
            os.replace(entry, root / "cur" / f"{entry.name.split(':')[0]}:2,S")

        yield MailItem(ref=str(entry), raw=entry.read_bytes(), done=done)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    mailbox: str
    ssl: bool
    timeout: float

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0) -> "ImapSettings":
        """``imaps://user:password@host:993/INBOX`` (or ``imap://`` for plain, local use)."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("the IMAP URL must look like imaps://user:password@host:993/INBOX")
        ssl = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if ssl else 143),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
            ssl=ssl,
            timeout=timeout,
        )


def read_imap(config: ImapSettings, *, limit: int = 500) -> Iterator[MailItem]:
    """Unseen messages of an IMAP mailbox, oldest first, at most ``limit`` per poll.

    Fetched with BODY.PEEK so reading does not mark them; each is flagged \\Seen once stored.
    """
    connect = imaplib.IMAP4_SSL if config.ssl else imaplib.IMAP4
    client = connect(config.host, config.port, timeout=config.timeout)
    try:
        client.login(config.username, config.password)
        status, _ = client.select(_quote(config.mailbox))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot select mailbox {config.mailbox!r}")
        status, data = client.uid("SEARCH", None, "UNSEEN")
        uids = data[0].split()[:limit] if status == "OK" and data and data[0] else []
        for uid in uids:
            status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in parts or [] if isinstance(part, tuple)), None)
            if status != "OK" or raw is None:
                continue

            def done(uid: bytes = uid) -> None:
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")

            yield MailItem(ref=f"imap://{config.host}/{config.mailbox};UID={uid.decode()}", raw=raw, done=done)
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def poll_configured_mailboxes() -> int:
    """Ingest every unread message of the mailboxes named in settings; returns how many."""
    from django.conf import settings

    from bounces.ingest import inbound_mail_ingest

    sources: list[Iterator[MailItem]] = []
    if settings.BOUNCE_MAILDIR:
        sources.append(read_maildir(settings.BOUNCE_MAILDIR))
    if settings.BOUNCE_IMAP_URL:
        sources.append(read_imap(ImapSettings.from_url(settings.BOUNCE_IMAP_URL, timeout=settings.EMAIL_TIMEOUT)))
    count = 0
    for source in sources:
        for item in source:
            origin = "imap" if item.ref.startswith("imap://") else "maildir"
            inbound_mail_ingest(raw=item.raw, origin=origin, origin_ref=item.ref)
            item.done()
            count += 1
    return count
