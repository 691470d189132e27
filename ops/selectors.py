"""Operational totals derived from the database, the source of truth.

Each query is served by an existing index or touches a bounded slice of a table; still, they
count rows, so probes that run every few seconds should ask ``/healthz?counts=0``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from bounces.models import BounceEvent, Suppression
from campaigns.models import Message

# A due message not picked up this long after its time means workers or the reconciler lag.
OVERDUE_AFTER = timedelta(minutes=5)
# A message `sending` for longer than the task time limit belongs to a worker that died.
STUCK_SENDING_AFTER = timedelta(minutes=10)
BOUNCE_WINDOW = timedelta(hours=24)


def _counts_by(queryset, field: str, values: list[str]) -> dict[str, int]:
    found = dict(queryset.order_by().values_list(field).annotate(n=Count("pk")))
    return {value: found.get(value, 0) for value in values}


def ops_counts(*, now: datetime | None = None) -> dict[str, Any]:
    """Messages by state, bounce events by category in the last 24 h, active suppressions.

    Also ``messages_overdue`` (queued/deferred, due more than OVERDUE_AFTER ago) and
    ``messages_stuck_sending`` (claimed more than STUCK_SENDING_AFTER ago): both should be 0
    on a healthy system and are what to alert on.
    """
    now = now or timezone.now()
    return {
        "messages": _counts_by(Message.objects.all(), "state", Message.State.values),
        "messages_overdue": Message.objects.filter(
            state__in=[Message.State.QUEUED, Message.State.DEFERRED],
            next_attempt_at__lt=now - OVERDUE_AFTER,
        ).count(),
        "messages_stuck_sending": Message.objects.filter(
            state=Message.State.SENDING, updated_at__lt=now - STUCK_SENDING_AFTER
        ).count(),
        "bounce_events_24h": _counts_by(
            BounceEvent.objects.filter(received_at__gte=now - BOUNCE_WINDOW),
            "category",
            BounceEvent.Category.values,
        ),
        "suppressions_active": _counts_by(
            Suppression.objects.active(at=now), "reason", Suppression.Reason.values
        ),
    }
