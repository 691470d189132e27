from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bounces.ingest import inbound_mail_ingest
from bounces.mailboxes import ImapSettings, read_files, read_imap, read_maildir, read_mbox


class Command(BaseCommand):
    help = (
        "Read bounce mail from files, mbox files, Maildirs or an IMAP mailbox, store each message, "
        "parse it and record its bounces (suppressing as the policy says). Messages that cannot be "
        "parsed are stored and flagged for review in the admin. Safe to rerun: a message already "
        "ingested is recorded once."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="Files holding one message each.")
        parser.add_argument("--mbox", action="append", default=[], help="An mbox file (repeatable).")
        parser.add_argument("--maildir", action="append", default=[], help="A Maildir; new/ messages are moved to cur/ (repeatable).")
        parser.add_argument("--imap", help="imaps://user:password@host:993/INBOX; unseen messages are flagged \\Seen once stored.")

    def handle(self, *args, files, mbox, maildir, imap, **options):
        if not (files or mbox or maildir or imap):
            raise CommandError("Give at least one FILE, --mbox, --maildir or --imap.")
        sources = [read_files(files)] + [read_mbox(p) for p in mbox] + [read_maildir(p) for p in maildir]
        if imap:
            sources.append(read_imap(ImapSettings.from_url(imap, timeout=settings.EMAIL_TIMEOUT)))
        counts: Counter[str] = Counter()
        try:
            for source in sources:
                for item in source:
                    result = inbound_mail_ingest(raw=item.raw, origin=_origin(item.ref), origin_ref=item.ref)
                    item.done()
                    counts["duplicate" if result.duplicate else result.inbound.status] += 1
                    counts["events"] += 0 if result.duplicate else result.inbound.event_count
                    if result.inbound.status == result.inbound.Status.NEEDS_REVIEW and not result.duplicate:
                        self.stderr.write(f"needs review: {item.ref}: {result.inbound.parse_error}")
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            "messages: {total}; recorded: {recorded}; not bounces: {ignored}; needs review: {review}; "
            "duplicates: {duplicate}; events recorded: {events}".format(
                total=sum(v for k, v in counts.items() if k != "events"),
                recorded=counts["recorded"], ignored=counts["ignored"], review=counts["needs_review"],
                duplicate=counts["duplicate"], events=counts["events"],
            )
        )


def _origin(ref: str) -> str:
    if ref.startswith("imap://"):
        return "imap"
    if "#" in ref:
        return "mbox"
    if "/new/" in ref:
        return "maildir"
    return "file"
