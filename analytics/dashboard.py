"""What the staff dashboard shows, assembled from the analytics services (no queries of its own)."""
from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from analytics import charts
from analytics.aggregates import metrics_by, metrics_total
from analytics.compare import prompt_version_compare
from analytics.models import GuardAction
from analytics.replay import suppression_replay
from analytics.review import false_positive_stats, suppression_review_queue, suppressions_by_reason
from bounces.models import Suppression
from leads.models import Lead

PERIODS = (7, 30, 90)
# Daily counts per prompt version are small; a trailing window steadies the lines.
TRAILING_DAYS = 7


def _trailing_rates(days: list[date], rows, count: str) -> dict[str, list[float | None]]:
    """Per prompt version, the rate of ``count`` per send over the trailing TRAILING_DAYS."""
    by_version: dict[str, dict[date, tuple[int, int]]] = {}
    for m in rows:
        day, version = m.key
        name = m.label.partition(" / ")[2]
        if day is None or version is None:  # events not tied to a message: no version to chart
            continue
        by_version.setdefault(name, {})[day] = (m.sends, getattr(m, count))
    series = {}
    for name, per_day in sorted(by_version.items()):
        points = []
        for day in days:
            window = [per_day.get(day - timedelta(days=back), (0, 0)) for back in range(TRAILING_DAYS)]
            sends = sum(s for s, _ in window)
            events = sum(e for _, e in window)
            points.append(min(events, sends) / sends if sends else None)
        series[name] = points
    return series


def dashboard_context(*, days: int = 30) -> dict:
    """Everything the dashboard template renders, for the last ``days`` days."""
    now = timezone.now()
    since = now - timedelta(days=days)
    total = metrics_total(since=since)
    day_list = [(since + timedelta(days=i + 1)).date() for i in range(days)]
    # Fetch TRAILING_DAYS more so the first points of the trailing rate have a full window.
    daily = metrics_by("day", "prompt_version", since=since - timedelta(days=TRAILING_DAYS))
    bounce_series = _trailing_rates(day_list, daily, "hard")
    complaint_series = _trailing_rates(day_list, daily, "complaints")
    x_labels = [f"{d:%b %d}" for d in day_list]

    domains = sorted(metrics_by("domain", since=since), key=lambda m: -m.bounces)[:12]
    reasons = suppressions_by_reason(since=since)
    fp = false_positive_stats(since=since)
    replay = suppression_replay(since=since)
    reason_labels = dict(Suppression.Reason.choices)

    return {
        "days": days,
        "periods": PERIODS,
        "total": total,
        "versions": prompt_version_compare(since=since),
        "by_source": metrics_by("source", since=since),
        "by_sending_domain": metrics_by("sending_domain", since=since),
        "fp": fp,
        "replay": replay,
        "review_count": suppression_review_queue().count(),
        "featured_count": Lead.objects.filter(featured_at__isnull=False).count(),
        "guard_actions": GuardAction.objects.select_related("campaign", "prompt_version", "by")[:10],
        "guard": {
            "bounce_rate": settings.LOCKLINE_GUARD_BOUNCE_RATE,
            "complaint_rate": settings.LOCKLINE_GUARD_COMPLAINT_RATE,
            "short_hours": settings.LOCKLINE_GUARD_SHORT_WINDOW_HOURS,
            "short_min": settings.LOCKLINE_GUARD_SHORT_MIN_SENDS,
            "long_days": settings.LOCKLINE_GUARD_LONG_WINDOW_DAYS,
            "long_min": settings.LOCKLINE_GUARD_LONG_MIN_SENDS,
        },
        "chart_bounce": charts.line_chart(
            label=f"Hard bounce rate by prompt version ({TRAILING_DAYS}-day trailing)",
            x_labels=x_labels,
            series=list(bounce_series.items()),
            threshold=(f"guard {charts.percent(settings.LOCKLINE_GUARD_BOUNCE_RATE)}", settings.LOCKLINE_GUARD_BOUNCE_RATE),
        ),
        "chart_complaint": charts.line_chart(
            label=f"Complaint rate by prompt version ({TRAILING_DAYS}-day trailing)",
            x_labels=x_labels,
            series=list(complaint_series.items()),
            threshold=(f"guard {charts.percent(settings.LOCKLINE_GUARD_COMPLAINT_RATE)}", settings.LOCKLINE_GUARD_COMPLAINT_RATE),
        ),
        "chart_domains": charts.bar_chart(
            label="Bounces by recipient domain",
            rows=[(m.label, [m.hard, m.soft, m.transient]) for m in domains if m.bounces],
            segments=["hard", "soft", "transient"],
        ),
        "chart_reasons": charts.bar_chart(
            label="Suppressions by reason",
            rows=[(reason_labels.get(reason, reason), [count]) for reason, count in sorted(reasons.items(), key=lambda r: -r[1])],
            segments=["suppressions"],
        ),
        "chart_fp": charts.bar_chart(
            label="False-positive suppressions: naive policy versus Lockline (replayed history)",
            rows=[
                ("Suppress on any bounce", [replay.naive.false_positives, replay.naive.suppressions - replay.naive.false_positives]),
                ("Lockline policy", [replay.lockline.false_positives, replay.lockline.suppressions - replay.lockline.false_positives]),
            ],
            segments=["wrong (address later worked)", "upheld"],
        ),
    }
