"""Exports: the engagement feed for the AI feedback loop, and streamed CSV for the admin.

The engagement export has one row per sent message: which prompt version and campaign wrote
it and what came of it. Bounced and suppressed rows would teach the model that a dead address
is a bad email, so they are labelled (``exclusion`` column) or left out (``exclude=True``).
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Case, CharField, Exists, OuterRef, Q, Value, When

from analytics.causes import content_caused
from bounces.models import BounceCategory, BounceEvent, EngagementEvent, EngagementEventType, Suppression
from campaigns.models import Message

ENGAGEMENT_COLUMNS = [
    "message_id", "sent_at", "campaign_id", "campaign", "prompt_version_id", "prompt_version",
    "recipient_domain", "outcome", "delivered", "opened", "clicked", "replied", "exclusion",
]
# Best outcome first: a reply says more than a click, a click more than an open.
_OUTCOMES = [
    ("replied", "replied"), ("clicked", "clicked"), ("opened", "opened"), ("complained", "complaint"),
    ("unsubscribed", "unsubscribed"), ("refused", "content_refused"), ("hard_bounced", "bounced"),
    ("delivered", "delivered"),
]


def _engaged(kind: str) -> Exists:
    return Exists(EngagementEvent.objects.filter(message=OuterRef("pk"), event_type=kind))


def _bounced(condition: Q) -> Exists:
    return Exists(BounceEvent.objects.filter(condition, message=OuterRef("pk")))


def engagement_rows(
    *, exclude: bool = False, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict]:
    """One dict per sent message (ENGAGEMENT_COLUMNS), streamed in send order.

    ``exclusion`` is "suppressed" when the recipient is suppressed now, "bounced" when the
    address itself failed (a hard bounce not caused by the content), else empty. A message
    refused for its content stays in as outcome ``content_refused``: that is the signal the
    prompt needs. With ``exclude`` those rows are dropped instead of labelled.
    """
    messages = Message.objects.filter(sent_at__isnull=False)
    if since is not None:
        messages = messages.filter(sent_at__gte=since)
    if until is not None:
        messages = messages.filter(sent_at__lt=until)
    address_bounce = Q(category=BounceCategory.HARD) & ~content_caused()
    annotated = messages.annotate(
        delivered=_engaged(EngagementEventType.DELIVERED),
        opened=_engaged(EngagementEventType.OPENED),
        clicked=_engaged(EngagementEventType.CLICKED),
        replied=_engaged(EngagementEventType.REPLIED),
        complained=_bounced(Q(category=BounceCategory.COMPLAINT)),
        unsubscribed=_bounced(Q(category=BounceCategory.UNSUBSCRIBE)),
        refused=_bounced(content_caused()),
        hard_bounced=_bounced(address_bounce),
        suppressed=Exists(Suppression.objects.active().filter(email=OuterRef("to_email"))),
    ).annotate(
        outcome=Case(
            *[When(**{flag: True}, then=Value(name)) for flag, name in _OUTCOMES],
            default=Value("sent"),
            output_field=CharField(),
        ),
        exclusion=Case(
            When(suppressed=True, then=Value("suppressed")),
            When(hard_bounced=True, then=Value("bounced")),
            default=Value(""),
            output_field=CharField(),
        ),
    )
    if exclude:
        annotated = annotated.filter(exclusion="")
    rows = annotated.order_by("sent_at", "pk").values(
        "pk", "sent_at", "campaign_id", "campaign__name", "prompt_version_id", "prompt_version__name",
        "prompt_version__version", "to_email", "outcome", "delivered", "opened", "clicked", "replied", "exclusion",
    )
    for row in rows.iterator(chunk_size=2000):
        yield {
            "message_id": row["pk"],
            "sent_at": row["sent_at"].isoformat(),
            "campaign_id": row["campaign_id"],
            "campaign": row["campaign__name"],
            "prompt_version_id": row["prompt_version_id"],
            "prompt_version": f"{row['prompt_version__name']} v{row['prompt_version__version']}",
            "recipient_domain": row["to_email"].rpartition("@")[2],
            "outcome": row["outcome"],
            "delivered": row["delivered"],
            "opened": row["opened"],
            "clicked": row["clicked"],
            "replied": row["replied"],
            "exclusion": row["exclusion"],
        }


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text line by line (header first), for StreamingHttpResponse or a file."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(["" if value is None else value for value in row])


def jsonl_lines(rows: Iterable[dict]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, default=str) + "\n"
