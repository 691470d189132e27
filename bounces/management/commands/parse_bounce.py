import json

from django.core.management.base import BaseCommand, CommandError

from bounces.parser import parse


class Command(BaseCommand):
    help = (
        "Parse bounce messages and print what they report: kind, failed recipients with status, "
        "reason and hard/soft category, and the original Message-ID. --json prints one JSON object "
        "per file. Needs no database."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")
        parser.add_argument("--json", action="store_true", dest="as_json", help="One JSON object per line per file.")

    def handle(self, *args, files, as_json: bool, **options):
        unreadable = []
        for path in files:
            try:
                with open(path, "rb") as handle:
                    report = parse(handle.read())
            except OSError as exc:
                self.stderr.write(f"{path}: {exc.strerror or exc}")
                unreadable.append(path)
                continue
            recipients = [
                {
                    "address": r.address,
                    "category": r.category,
                    "reason": r.reason,
                    "status": r.status,
                    "smtp_code": r.smtp_code,
                    "diagnostic": r.diagnostic,
                    "action": r.action,
                }
                for r in report.recipients
            ]
            if as_json:
                self.stdout.write(_dumps({"file": path, "kind": report.kind, "recipients": recipients,
                                          "message_id": report.message_id}))
                continue
            self.stdout.write(f"{path}: {report.kind}" + (f" ({report.mta})" if report.mta else ""))
            if report.parse_error:
                self.stdout.write(f"  error: {report.parse_error}")
            for r in recipients:
                self.stdout.write(
                    f"  {r['address']:<40} {r['category'] or '-':<10} {r['reason'] or '-':<16} "
                    f"{r['status'] or '-':<9} {r['smtp_code'] or '-':<4} {r['diagnostic'][:80]}"
                )
            if report.message_id:
                self.stdout.write(f"  original Message-ID: {report.message_id}")
        if unreadable:
            raise CommandError(f"{len(unreadable)} file(s) could not be read")


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
