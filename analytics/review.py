"""The false-positive review: suppressions that may be wrong, their evidence, one-step reinstatement.

A suppression is surfaced when something contradicts it or its origin is doubtful. Each flag is
an SQL condition, so the queue and the reported rates are computed in the database:

- ``contradicted``: a bounce suppression whose address showed life (a delivery, open, click or
  reply) at or after the failure that suppressed it;
- ``soft_only``: every failure on record for the address is soft or transient — nothing hard,
  no complaint, no unsubscribe;
- ``undetermined``: the ESP itself could not classify it (SES bounceType "Undetermined");
- ``label_contradicts``: the ESP's label and the status code disagree (a "Permanent" bounce
  with a 4.x.x code, a "Transient" one with a hard 5.x.x suppression);
- ``phrase_only``: no enhanced status and no SMTP code: the class rests on a body phrase alone;
- ``reputation_block``: a 5.7.x refusal: the receiver blocked the sender or the content, which
  says nothing about the address.

Reinstating lifts the suppression through ``bounces.services.suppression_lift`` and records a
ReviewDecision; confirming records one too. Either takes the suppression out of the queue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from analytics.models import ReviewDecision
from analytics.stats import rate
from bounces.models import BounceCategory, BounceEvent, EngagementEvent, Suppression
from bounces.services import suppression_lift

FLAGS = ("contradicted", "soft_only", "undetermined", "label_contradicts", "phrase_only", "reputation_block")
FLAG_LABELS = {
    "contradicted": "Address showed life after it",
    "soft_only": "Rests on soft/transient failures only",
    "undetermined": "ESP could not classify it",
    "label_contradicts": "ESP label contradicts the status code",
    "phrase_only": "Classified from a body phrase alone",
    "reputation_block": "5.7.x reputation or content block",
}
# How ESPs label a permanent or a temporary failure in their own words.
_PERMANENT_LABELS = Q(bounce_event__esp_event_type__istartswith="permanent") | Q(
    bounce_event__esp_event_type__iregex=r"^(hard_?bounce|hard|bounced)$"
)
_TEMPORARY_LABELS = Q(bounce_event__esp_event_type__istartswith="transient") | Q(
    bounce_event__esp_event_type__iregex=r"^(soft_?bounce|soft|deferred|delayed)$"
)
_FAILURES = (BounceCategory.HARD, BounceCategory.SOFT, BounceCategory.TRANSIENT)


def _flag(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def suppression_annotate_flags(queryset: QuerySet[Suppression]) -> QuerySet[Suppression]:
    """``queryset`` with one boolean annotation per FLAG, plus ``suspect`` (any of them)."""
    since = Coalesce(OuterRef("bounce_event__occurred_at"), OuterRef("created_at"))
    address_events = BounceEvent.objects.filter(email=OuterRef("email"))
    annotated = queryset.annotate(
        # Only a failure can be contradicted by a delivery: a complaint or an unsubscribe stands
        # however many messages reached the address before it.
        contradicted=_flag(
            Q(reason__in=(Suppression.Reason.HARD_BOUNCE, Suppression.Reason.PERSISTENT_SOFT))
            & Q(Exists(EngagementEvent.objects.filter(email=OuterRef("email"), occurred_at__gte=since)))
        ),
        soft_only=_flag(
            ~Q(reason=Suppression.Reason.MANUAL)
            & Q(Exists(address_events.filter(category__in=(BounceCategory.SOFT, BounceCategory.TRANSIENT))))
            & ~Q(Exists(address_events.exclude(category__in=(BounceCategory.SOFT, BounceCategory.TRANSIENT))))
        ),
        undetermined=_flag(Q(bounce_event__esp_event_type__istartswith="undetermined")),
        label_contradicts=_flag(
            (_PERMANENT_LABELS & Q(bounce_event__status__startswith="4."))
            | (_TEMPORARY_LABELS & Q(bounce_event__status__startswith="5.", bounce_event__category=BounceCategory.HARD))
        ),
        phrase_only=_flag(
            Q(bounce_event__category__in=_FAILURES, bounce_event__status="", bounce_event__smtp_code="")
            & ~Q(bounce_event__diagnostic="")
        ),
        reputation_block=_flag(Q(bounce_event__category__in=_FAILURES, bounce_event__status__startswith="5.7.")),
    )
    any_flag = Q()
    for name in FLAGS:
        any_flag |= Q(**{name: True})
    return annotated.annotate(suspect=_flag(any_flag))


def suppression_review_queue() -> QuerySet[Suppression]:
    """Active suppressions carrying at least one flag and not yet decided, newest first."""
    undecided = Suppression.objects.active().exclude(
        Exists(ReviewDecision.objects.filter(suppression=OuterRef("pk")))
    )
    return (
        suppression_annotate_flags(undecided.select_related("bounce_event"))
        .filter(suspect=True)
        .order_by("-created_at")
    )


def suppression_flags(suppression: Suppression) -> list[str]:
    """The FLAGS this one suppression carries now."""
    row = suppression_annotate_flags(Suppression.objects.filter(pk=suppression.pk)).values(*FLAGS).first() or {}
    return [name for name in FLAGS if row.get(name)]


def suppression_reinstate(*, suppression: Suppression, note: str, by=None) -> ReviewDecision:
    """Lift a suppression found wrong in review and record the decision with its flags.

    Raises ValueError without a note. The lead becomes sendable again (suppression_lift).
    """
    note = (note or "").strip()
    if not note:
        raise ValueError("Say why the suppression was wrong.")
    flags = suppression_flags(suppression)
    with transaction.atomic():
        suppression_lift(suppression=suppression, by=by, reason=f"reinstated in review: {note}")
        return ReviewDecision.objects.create(
            suppression=suppression, kind=ReviewDecision.Kind.REINSTATED, flags=flags, note=note, by=by
        )


def suppression_confirm(*, suppression: Suppression, note: str, by=None) -> ReviewDecision:
    """Keep a flagged suppression and take it out of the queue, recording why."""
    note = (note or "").strip()
    if not note:
        raise ValueError("Say why the suppression stands.")
    return ReviewDecision.objects.create(
        suppression=suppression,
        kind=ReviewDecision.Kind.CONFIRMED,
        flags=suppression_flags(suppression),
        note=note,
        by=by,
    )


@dataclass(frozen=True)
class FalsePositiveStats:
    suppressions: int  # suppressions made in the period (lifted or not)
    false_positives: int  # reinstated in review, or contradicted by the address itself
    doubtful: int  # flagged for another reason and not (yet) shown wrong
    by_reason: dict[str, int]

    @property
    def rate(self) -> float | None:
        return rate(self.false_positives, self.suppressions)


def false_positive_stats(*, since: datetime | None = None, until: datetime | None = None) -> FalsePositiveStats:
    """The false-positive suppression rate: proven-wrong suppressions per suppression made.

    Manual suppressions are left out (staff decided them; nothing was classified).
    """
    queryset = Suppression.objects.exclude(reason=Suppression.Reason.MANUAL)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    annotated = suppression_annotate_flags(queryset).annotate(
        reinstated=Exists(
            ReviewDecision.objects.filter(suppression=OuterRef("pk"), kind=ReviewDecision.Kind.REINSTATED)
        )
    )
    proven = Q(reinstated=True) | Q(contradicted=True)
    totals = annotated.aggregate(
        suppressions=Count("id"),
        false_positives=Count("id", filter=proven),
        doubtful=Count("id", filter=Q(suspect=True) & ~proven),
    )
    by_reason = dict(queryset.values_list("reason").annotate(n=Count("id")).order_by())
    return FalsePositiveStats(by_reason=by_reason, **totals)


def suppressions_by_reason(*, since: datetime | None = None) -> dict[str, int]:
    """Suppressions made per reason (all of them, active or not)."""
    queryset = Suppression.objects.all()
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    return dict(queryset.values_list("reason").annotate(n=Count("id")).order_by(F("reason").asc()))
