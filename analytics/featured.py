"""Featured leads: the ones sales should call first, chosen nightly from engagement.

The rule (weights are settings, see README):

    score = sum over the lead's engagement events in the last LOCKLINE_FEATURED_WINDOW_DAYS of
            weight(event) x (2 if the event is within LOCKLINE_FEATURED_RECENT_DAYS else 1)
    weight: opened LOCKLINE_FEATURED_WEIGHT_OPEN, clicked ..._CLICK, replied ..._REPLY,
            delivered 0 (a delivery shows the address works, not that anyone is interested)

Each kind of engagement counts once per message (its latest event): ESPs report one open twice
(SparkPost's initial_open beside open, Brevo's unique_opened beside opened, MailerSend's
opened_unique beside opened), and repeated opens of one message are mostly image proxies and
forwards. Opening three messages is interest; opening one three times is not three times more.

A lead is featured when its score reaches LOCKLINE_FEATURED_MIN_SCORE, it is active, it has no
active suppression and its address never hard-bounced (a content refusal is not held against it). Featured leads carry the ``featured`` tag and a
``featured_at`` time; a lead that stops qualifying loses both. Scores are computed and written in
a handful of set-based statements, whatever the number of leads.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.causes import content_caused
from bounces.models import BounceCategory, BounceEvent, EngagementEvent, EngagementEventType, Suppression
from leads.models import Lead, Tag

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureResult:
    scored: int  # leads with a non-zero score
    featured: int  # leads featured after the run
    added: int  # newly featured in this run
    removed: int  # no longer featured


def _score_expression(at: datetime):
    weight = Case(
        When(event_type=EngagementEventType.OPENED, then=Value(settings.LOCKLINE_FEATURED_WEIGHT_OPEN)),
        When(event_type=EngagementEventType.CLICKED, then=Value(settings.LOCKLINE_FEATURED_WEIGHT_CLICK)),
        When(event_type=EngagementEventType.REPLIED, then=Value(settings.LOCKLINE_FEATURED_WEIGHT_REPLY)),
        default=Value(0),
        output_field=IntegerField(),
    )
    recent = Case(
        When(occurred_at__gte=at - timedelta(days=settings.LOCKLINE_FEATURED_RECENT_DAYS), then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return weight * recent


def lead_ineligible() -> Q:
    """Leads that are never featured: not active, suppressed, or whose address ever hard-bounced.

    A message refused for its content (spam filter, 5.7.x) says nothing about the lead, so it does
    not bar them (analytics.causes): only an address-caused hard bounce does.
    """
    address_bounce = Q(category=BounceCategory.HARD) & ~content_caused()
    return (
        ~Q(status=Lead.Status.ACTIVE)
        | Q(Exists(Suppression.objects.active().filter(email=OuterRef("email"))))
        | Q(Exists(BounceEvent.objects.filter(address_bounce, lead=OuterRef("pk"))))
    )


def lead_feature_all(*, at: datetime | None = None) -> FeatureResult:
    """Recompute every lead's engagement score and the ``featured`` tag (the nightly beat task)."""
    at = at or timezone.now()
    window_start = at - timedelta(days=settings.LOCKLINE_FEATURED_WINDOW_DAYS)
    in_window = Q(occurred_at__gte=window_start, occurred_at__lte=at)
    # A later event of the same kind for the same message (ties broken by id). Events with no
    # message never match (NULL = NULL is not true) and each counts on its own.
    superseded = EngagementEvent.objects.filter(
        in_window,
        Q(occurred_at__gt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk")),
        message=OuterRef("message"),
        event_type=OuterRef("event_type"),
    )
    scores = (
        EngagementEvent.objects.filter(in_window, lead=OuterRef("pk"))
        .exclude(Exists(superseded))
        .values("lead")
        .annotate(score=Sum(_score_expression(at)))
        .values("score")
    )
    tag, _ = Tag.objects.get_or_create(name=Tag.FEATURED)
    Through = Lead.tags.through
    with transaction.atomic():
        Lead.objects.update(engagement_score=Coalesce(Subquery(scores, output_field=IntegerField()), Value(0)))
        qualifies = Q(engagement_score__gte=settings.LOCKLINE_FEATURED_MIN_SCORE) & ~lead_ineligible()
        removed = Lead.objects.filter(featured_at__isnull=False).exclude(qualifies).update(featured_at=None)
        added = Lead.objects.filter(qualifies, featured_at__isnull=True).update(featured_at=at)
        Through.objects.filter(tag=tag, lead__featured_at__isnull=True).delete()
        missing = Lead.objects.filter(featured_at__isnull=False).exclude(tags=tag).values_list("pk", flat=True)
        Through.objects.bulk_create(
            [Through(lead_id=pk, tag_id=tag.pk) for pk in missing.iterator(chunk_size=2000)], batch_size=2000
        )
    result = FeatureResult(
        scored=Lead.objects.filter(engagement_score__gt=0).count(),
        featured=Lead.objects.filter(featured_at__isnull=False).count(),
        added=added,
        removed=removed,
    )
    logger.info("featured leads: %s", result)
    return result
