"""Recording ESP tracking events: the service behind the one Anymail ``tracking`` receiver.

Anymail calls the receiver once per event inside its view. Writing each event on its own costs
a transaction per event, so a webhook request collects its events (``tracking_collect``) and
the view writes them all at the end with ``tracking_events_record``: one upsert per table, the
policy for the rows actually inserted, all in one transaction. If that transaction fails the
view answers 5xx and the ESP retries the whole request; a retry finds nothing half-written,
and the upserts make it exactly-once (see README, "ESP webhooks").
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bounces.bulk import insert_ignoring_conflicts, insert_rows
from bounces.esp.normalize import (
    BOUNCE, ENGAGEMENT, FLAG, STALE, TrackingDraft, UnreadableEvent, Window, tolerance_window, tracking_draft,
)
from bounces.models import BounceSource, EngagementEvent, FlaggedWebhookEvent
from bounces.services import bounce_event_build, bounce_record_many, lead_delivered_update, lead_ids_for_link
from campaigns.selectors import message_match_many

logger = logging.getLogger(__name__)

_collecting: ContextVar[tuple[list[TrackingDraft], Window] | None] = ContextVar(
    "lockline_tracking_drafts", default=None
)


@dataclass(frozen=True)
class TrackingSummary:
    bounces: int = 0  # new BounceEvents
    engagement: int = 0  # new EngagementEvents
    duplicates: int = 0  # events stored before (redeliveries)
    suppressions: int = 0  # events that left their address suppressed
    ignored: int = 0  # known events that say nothing about deliverability
    flagged: int = 0  # events not understood, kept in FlaggedWebhookEvent
    stale: int = 0  # events outside the timestamp window, kept in FlaggedWebhookEvent

    @property
    def accepted(self) -> int:
        return self.bounces + self.engagement + self.duplicates + self.ignored + self.flagged


@contextmanager
def tracking_collect():
    """Within this block, received events are collected into the yielded list, not written."""
    drafts: list[TrackingDraft] = []
    # One tolerance window per request (a batch is one delivery).
    token = _collecting.set((drafts, tolerance_window()))
    try:
        yield drafts
    finally:
        _collecting.reset(token)


def tracking_event_receive(*, event, esp_name: str) -> None:
    """Take one AnymailTrackingEvent: classify it (never raises) and collect or record it."""
    collecting = _collecting.get()
    if collecting is not None:
        drafts, window = collecting
        drafts.append(tracking_draft(event=event, esp_name=esp_name, window=window))
    else:
        tracking_events_record(drafts=[tracking_draft(event=event, esp_name=esp_name)])


def tracking_event_flag(*, esp_name: str, esp_event, problem: str, esp_event_type=None) -> UnreadableEvent:
    """The stand-in for one ESP event that cannot be converted (its parser raised, or it is not an
    email event): the receiver stores it in FlaggedWebhookEvent with the raw event and ``problem``,
    and the rest of its batch is recorded. ``esp_event_type`` is the ESP's label as found in the
    event, kept only if it is text."""
    logger.warning("webhook event flagged: esp=%s problem=%r", esp_name, problem)
    return UnreadableEvent(esp_event=esp_event, problem=problem[:2000],
                           esp_event_type=esp_event_type if isinstance(esp_event_type, str) else "")


def tracking_events_record(*, drafts: list[TrackingDraft]) -> TrackingSummary:
    """Store classified events once each and apply the suppression policy, in one transaction.

    Bounces go through ``bounce_record_many`` (the policy), deliveries, opens and clicks into
    EngagementEvent (a delivery also resets the lead's soft-bounce count), events that cannot
    be used into FlaggedWebhookEvent. Redelivered events change nothing. Raises on database
    failure, having written nothing.
    """
    bounces = [d for d in drafts if d.kind == BOUNCE]
    engaged = [d for d in drafts if d.kind == ENGAGEMENT]
    flags = [d for d in drafts if d.kind in (FLAG, STALE)]
    linked = bounces + engaged
    if not (linked or flags):
        return TrackingSummary(ignored=len(drafts))
    with transaction.atomic():
        # The matched messages are held (see messages_hold_for_link) by the matching queries
        # themselves, so neither writer below reads them again.
        matches = message_match_many(
            lookups=[(d.message_pk, d.claimed_message_pk, d.esp_message_id, d.email) for d in linked], hold=True,
        ) if linked else []
        message_of = dict(zip(map(id, linked), matches))
        new_engagement = _engagement_record(engaged, message_of)
        results = bounce_record_many(events=[
            bounce_event_build(
                message=message_of[id(d)], email=d.email, source=BounceSource.WEBHOOK, category=d.category,
                reason=d.reason, status=d.status, smtp_code=d.smtp_code, diagnostic=d.diagnostic,
                remote_mta=d.remote_mta, esp_name=d.esp_name, esp_event_id=d.esp_event_id,
                esp_event_type=d.esp_event_type, esp_category=d.esp_category, dedupe_key=d.dedupe_key,
                raw=d.raw, occurred_at=d.occurred_at,
            )
            for d in bounces
        ], messages_held=True)
        _flags_record(flags)
    new_bounces = sum(r.created for r in results)
    return TrackingSummary(
        bounces=new_bounces,
        engagement=new_engagement,
        duplicates=len(bounces) - new_bounces + len(engaged) - new_engagement,
        suppressions=sum(1 for r in results if r.suppression is not None),
        ignored=sum(1 for d in drafts if d.kind not in (BOUNCE, ENGAGEMENT, FLAG, STALE)),
        flagged=sum(1 for d in flags if d.kind == FLAG),
        stale=sum(1 for d in flags if d.kind == STALE),
    )


# What an engagement row stores, in insert order (plain tuples: no model instances on the hot path).
_ENGAGEMENT_COLUMNS = (
    "lead_id", "message_id", "campaign_id", "prompt_version_id", "email", "event_type", "esp_name", "esp_event_id",
    "esp_event_type", "click_url", "user_agent", "dedupe_key", "raw", "occurred_at", "received_at",
)


def _engagement_record(engaged: list[TrackingDraft], message_of: dict) -> int:
    if not engaged:
        return 0
    unmatched = {d.email for d in engaged if message_of[id(d)] is None}
    lead_ids = lead_ids_for_link(emails=unmatched)
    now = timezone.now()
    rows: dict[str, tuple] = {}
    for d in engaged:
        if d.dedupe_key in rows:
            continue
        message = message_of[id(d)]
        if message is not None:
            ids = (message.lead_id, message.pk, message.campaign_id, message.prompt_version_id)
        else:
            ids = (lead_ids.get(d.email), None, None, None)
        rows[d.dedupe_key] = (
            *ids, d.email, d.category, d.esp_name[:32], d.esp_event_id, d.esp_event_type, d.click_url,
            d.user_agent, d.dedupe_key, d.raw, d.occurred_at, now,
        )
    keys = sorted(rows)  # key order: see bounce_record_many
    inserted = insert_rows(EngagementEvent, _ENGAGEMENT_COLUMNS, [rows[key] for key in keys],
                           returning=("dedupe_key",), unique=("dedupe_key",))
    delivered: dict[int, datetime] = {}
    for (key,) in inserted:
        lead_id, event_type, occurred_at = rows[key][0], rows[key][5], rows[key][13]
        if event_type == EngagementEvent.EventType.DELIVERED and lead_id:
            if lead_id not in delivered or delivered[lead_id] < occurred_at:
                delivered[lead_id] = occurred_at
    if delivered:
        lead_delivered_update(delivered)
    return len(inserted)


def _flags_record(flags: list[TrackingDraft]) -> int:
    if not flags:
        return 0
    rows = {}
    for d in flags:
        rows.setdefault(d.dedupe_key, FlaggedWebhookEvent(
            esp_name=d.esp_name[:32], esp_event_type=d.esp_event_type[:64], problem=d.problem,
            dedupe_key=d.dedupe_key, raw=d.raw,
        ))
    return len(insert_ignoring_conflicts([rows[key] for key in sorted(rows)], returning=("id",)))
