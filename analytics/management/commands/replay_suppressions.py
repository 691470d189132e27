"""Print the false-positive figures of the recorded history under both suppression policies."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from analytics.replay import suppression_replay
from analytics.review import false_positive_stats


def _pct(value):
    return "—" if value is None else f"{value:.1%}"


class Command(BaseCommand):
    help = (
        "Replay the recorded bounce and engagement events under 'suppress on any bounce' and under "
        "Lockline's policy; print suppressions, false positives and the reduction side by side, and "
        "the false-positive rate of the live suppressions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only events at or after this ISO 8601 time.")
        parser.add_argument("--until", help="Only events before this ISO 8601 time.")

    def handle(self, *args, since, until, **options):
        bounds = {}
        for name, text in (("since", since), ("until", until)):
            if text:
                bounds[name] = parse_datetime(text)
                if bounds[name] is None:
                    raise CommandError(f"--{name} {text!r} is not an ISO 8601 date-time (2026-11-01T00:00:00Z).")
        result = suppression_replay(**bounds)
        self.stdout.write(f"{result.events} events replayed")
        self.stdout.write(f"{'policy':<24}{'suppressions':>14}{'false positives':>17}{'rate':>8}")
        for policy, label in ((result.naive, "suppress on any bounce"), (result.lockline, "lockline")):
            self.stdout.write(
                f"{label:<24}{policy.suppressions:>14}{policy.false_positives:>17}{_pct(policy.false_positive_rate):>8}"
            )
        self.stdout.write(f"reduction in false positives: {_pct(result.reduction)}")
        live = false_positive_stats(**bounds)
        self.stdout.write(
            f"live suppressions: {live.suppressions}, false positives {live.false_positives} "
            f"({_pct(live.rate)}), doubtful {live.doubtful}"
        )
