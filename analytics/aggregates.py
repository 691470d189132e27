"""Outreach metrics as SQL aggregates: sends, deliveries, bounces, complaints, engagement.

Every figure is a ``COUNT(...) FILTER (WHERE ...)`` grouped in the database; Python only merges
the three grouped results (messages, bounce events, engagement events) by their group key, so
the cost grows with the number of groups, never with the number of rows.

Definitions (the contract the dashboard and the hand-counted tests rely on):

- sends: messages with ``sent_at`` set, grouped by the day they were sent;
- deliveries, opens, clicks, replies: distinct messages with at least one such engagement
  event (unique opens, not pixel loads); events are grouped by the day they occurred;
- hard, soft, transient, complaints, unsubscribes: bounce events of that category (a message
  soft-bouncing three times counts three soft bounces);
- address_caused / content_caused: bounce events classified by ``analytics.causes``;
- bounce_rate is hard bounces per send, as SES and other ESPs compute it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce, StrIndex, Substr, TruncDate

from analytics.causes import address_caused, content_caused
from analytics.stats import rate
from bounces.models import BounceCategory, BounceEvent, EngagementEvent, EngagementEventType
from campaigns.models import Campaign, Message, PromptVersion


def _domain_of(field_name: str):
    # Portable (PostgreSQL and the demo's SQLite): the text after the '@'.
    return Substr(field_name, StrIndex(field_name, Value("@")) + 1)


# For each dimension, the expression that yields its key on messages, bounce events and
# engagement events. Bounce and engagement rows carry their message's campaign and prompt
# version, so no join is needed for those.
DIMENSIONS = {
    "campaign": {"message": F("campaign_id"), "bounce": F("campaign_id"), "engagement": F("campaign_id")},
    "prompt_version": {
        "message": F("prompt_version_id"),
        "bounce": F("prompt_version_id"),
        "engagement": F("prompt_version_id"),
    },
    "domain": {"message": _domain_of("to_email"), "bounce": F("recipient_domain"), "engagement": _domain_of("email")},
    "sending_domain": {
        "message": _domain_of("campaign__sender_email"),
        "bounce": _domain_of("campaign__sender_email"),
        "engagement": _domain_of("campaign__sender_email"),
    },
    # The list a lead came from: dead addresses count against it.
    "source": {
        "message": F("lead__source"),
        "bounce": Coalesce(F("lead__source"), Value("")),
        "engagement": Coalesce(F("lead__source"), Value("")),
    },
    "day": {"message": TruncDate("sent_at"), "bounce": TruncDate("occurred_at"), "engagement": TruncDate("occurred_at")},
}


@dataclass
class Metrics:
    """Counts for one group, and their rates (None when there were no sends)."""

    key: tuple
    label: str = ""
    sends: int = 0
    deliveries: int = 0
    opens: int = 0
    clicks: int = 0
    replies: int = 0
    hard: int = 0
    soft: int = 0
    transient: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    address_caused: int = 0
    content_caused: int = 0
    extra: dict = field(default_factory=dict)

    COUNTS = (
        "sends", "deliveries", "opens", "clicks", "replies", "hard", "soft", "transient",
        "complaints", "unsubscribes", "address_caused", "content_caused",
    )

    @property
    def bounces(self) -> int:
        return self.hard + self.soft + self.transient

    def rate_of(self, name: str) -> float | None:
        """``name`` (a count) per send."""
        return rate(getattr(self, name), self.sends)

    @property
    def bounce_rate(self) -> float | None:
        return rate(self.hard, self.sends)

    @property
    def complaint_rate(self) -> float | None:
        return rate(self.complaints, self.sends)

    def as_dict(self) -> dict:
        out = {"key": self.key, "label": self.label}
        out.update({name: getattr(self, name) for name in self.COUNTS})
        out.update({f"{name}_rate": self.rate_of(name) for name in self.COUNTS if name != "sends"})
        return out


_MESSAGE_COUNTS = {"sends": Count("id")}
_BOUNCE_COUNTS = {
    "hard": Count("id", filter=Q(category=BounceCategory.HARD)),
    "soft": Count("id", filter=Q(category=BounceCategory.SOFT)),
    "transient": Count("id", filter=Q(category=BounceCategory.TRANSIENT)),
    "complaints": Count("id", filter=Q(category=BounceCategory.COMPLAINT)),
    "unsubscribes": Count("id", filter=Q(category=BounceCategory.UNSUBSCRIBE)),
    "address_caused": Count("id", filter=address_caused()),
    "content_caused": Count("id", filter=content_caused()),
}
_ENGAGEMENT_COUNTS = {
    "deliveries": Count("message", distinct=True, filter=Q(event_type=EngagementEventType.DELIVERED)),
    "opens": Count("message", distinct=True, filter=Q(event_type=EngagementEventType.OPENED)),
    "clicks": Count("message", distinct=True, filter=Q(event_type=EngagementEventType.CLICKED)),
    "replies": Count("message", distinct=True, filter=Q(event_type=EngagementEventType.REPLIED)),
}


def _grouped(queryset, kind: str, dimensions: tuple[str, ...], counts: dict) -> Iterable[dict]:
    if not dimensions:
        yield (), queryset.order_by().aggregate(**counts)
        return
    names = [f"k{i}" for i in range(len(dimensions))]
    keyed = queryset.annotate(**{n: DIMENSIONS[d][kind] for n, d in zip(names, dimensions)})
    # order_by() drops Meta.ordering, which would otherwise leak into GROUP BY.
    for row in keyed.values(*names).annotate(**counts).order_by():
        yield tuple(row.pop(n) for n in names), row


def metrics_by(
    *dimensions: str,
    since: datetime | None = None,
    until: datetime | None = None,
    campaign_id: int | None = None,
    prompt_version_id: int | None = None,
) -> list[Metrics]:
    """Metrics grouped by one or more of DIMENSIONS, sorted by key; ``()`` gives one total row.

    ``since``/``until`` bound sends by ``sent_at`` and events by ``occurred_at`` (half-open:
    since <= t < until). Raises ValueError on an unknown dimension.
    """
    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {sorted(DIMENSIONS)}")
    scope = Q()
    if campaign_id is not None:
        scope &= Q(campaign_id=campaign_id)
    if prompt_version_id is not None:
        scope &= Q(prompt_version_id=prompt_version_id)

    def window(field_name: str) -> Q:
        q = Q()
        if since is not None:
            q &= Q(**{f"{field_name}__gte": since})
        if until is not None:
            q &= Q(**{f"{field_name}__lt": until})
        return q

    messages = Message.objects.filter(scope, window("sent_at"), sent_at__isnull=False)
    bounces = BounceEvent.objects.filter(scope, window("occurred_at"))
    engagement = EngagementEvent.objects.filter(scope, window("occurred_at"))

    rows: dict[tuple, Metrics] = {}
    for queryset, kind, counts in (
        (messages, "message", _MESSAGE_COUNTS),
        (bounces, "bounce", _BOUNCE_COUNTS),
        (engagement, "engagement", _ENGAGEMENT_COUNTS),
    ):
        for key, values in _grouped(queryset, kind, dimensions, counts):
            metrics = rows.setdefault(key, Metrics(key=key))
            for name, value in values.items():
                setattr(metrics, name, getattr(metrics, name) + value)
    # Keys of one dimension share a type (ids, names or dates); None (no campaign, ...) sorts last.
    result = sorted(rows.values(), key=lambda m: tuple((True, 0) if k is None else (False, k) for k in m.key))
    _label(result, dimensions)
    return result


def metrics_total(**filters) -> Metrics:
    """All metrics in one row (same filters as ``metrics_by``)."""
    rows = metrics_by(**filters)
    return rows[0] if rows else Metrics(key=())


def _label(rows: list[Metrics], dimensions: tuple[str, ...]) -> None:
    """Human labels for keys: names for campaigns and prompt versions, ISO dates for days."""
    lookups = {}
    if "campaign" in dimensions:
        lookups["campaign"] = {c.pk: c.name for c in Campaign.objects.all().only("name")}
    if "prompt_version" in dimensions:
        lookups["prompt_version"] = {p.pk: str(p) for p in PromptVersion.objects.all().only("name", "version")}
    for row in rows:
        parts = []
        for dimension, value in zip(dimensions, row.key):
            if value is None or value == "":
                parts.append("(none)")
            elif dimension in lookups:
                parts.append(lookups[dimension].get(value, str(value)))
            else:
                parts.append(value.isoformat() if hasattr(value, "isoformat") else str(value))
        row.label = " / ".join(parts)


