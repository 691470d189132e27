"""Write per-message engagement for the AI feedback loop (CSV or JSON lines)."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from analytics.export import ENGAGEMENT_COLUMNS, csv_lines, engagement_rows, jsonl_lines


class Command(BaseCommand):
    help = (
        "Write one row per sent message (prompt version, campaign, outcome, engagement) as CSV or "
        "JSON lines. Bounced and suppressed rows are labelled in the `exclusion` column, or left "
        "out with --exclude."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument("--exclude", action="store_true", help="Leave out bounced and suppressed rows.")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")
        parser.add_argument("--since", help="Only messages sent at or after this ISO 8601 time.")
        parser.add_argument("--until", help="Only messages sent before this ISO 8601 time.")

    def handle(self, *args, format, exclude, output, since, until, **options):
        bounds = {}
        for name, text in (("since", since), ("until", until)):
            if text:
                value = parse_datetime(text)
                if value is None:
                    raise CommandError(f"--{name} {text!r} is not an ISO 8601 date-time (2026-11-01T00:00:00Z).")
                bounds[name] = value
        rows = engagement_rows(exclude=exclude, **bounds)
        if format == "csv":
            lines = csv_lines(ENGAGEMENT_COLUMNS, ([row[c] for c in ENGAGEMENT_COLUMNS] for row in rows))
        else:
            lines = jsonl_lines(rows)
        stream = None if output == "-" else open(output, "w", newline="", encoding="utf-8")
        write = stream.write if stream else (lambda line: self.stdout.write(line, ending=""))
        try:
            count = -1 if format == "csv" else 0  # the CSV header is not a row
            for line in lines:
                write(line)
                count += 1
        finally:
            if stream:
                stream.close()
        self.stderr.write(f"{count} message rows written.")
