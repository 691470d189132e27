"""Recording bounces and applying the suppression policy.

Every channel — the SMTP reply at send time, ESP webhooks, bounce mail — ends in
``bounce_record``, so the policy lives in one place:

- hard, complaint, unsubscribe: suppress the address at once;
- soft: suppress only when it persists (LOCKLINE_SOFT_BOUNCE_LIMIT failures within
  LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS, none of them before the lead's last successful delivery),
  and then only for LOCKLINE_SOFT_SUPPRESSION_DAYS;
- transient: recorded, never counted against the lead.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bounces.models import BounceEvent, Suppression
from campaigns.models import Message
from leads.models import Lead, email_domain, normalize_email
from lockline import metrics

logger = logging.getLogger(__name__)

Category = BounceEvent.Category

# What each category does to the address, when it suppresses at once.
_IMMEDIATE_SUPPRESSION = {
    Category.HARD: Suppression.Reason.HARD_BOUNCE,
    Category.COMPLAINT: Suppression.Reason.COMPLAINT,
    Category.UNSUBSCRIBE: Suppression.Reason.UNSUBSCRIBE,
}


@dataclass(frozen=True)
class BounceRecordResult:
    event: BounceEvent
    created: bool  # False: the same event was recorded before (a redelivery); nothing was done
    suppression: Suppression | None  # the active suppression this event caused, if any


def bounce_dedupe_key(
    *,
    source: str,
    email: str,
    category: str,
    esp_name: str = "",
    esp_event_id: str | None = None,
    message_ref: str = "",
    status: str = "",
    smtp_code: str = "",
    occurred_at: datetime | None = None,
) -> str:
    """The key one real-world event keeps however often it is delivered to us.

    An ESP's own event id wins where the caller trusts it to be stable; otherwise a digest of
    the normalised event. ``message_ref`` is whatever identifies the message (our id, the ESP's
    message id); ``occurred_at`` distinguishes two real failures of the same message.
    """
    if esp_event_id:
        return f"{esp_name or source}:{esp_event_id}"[:128]
    parts = [
        source,
        esp_name,
        normalize_email(email),
        category,
        message_ref,
        status,
        smtp_code,
        occurred_at.isoformat() if occurred_at else "",
    ]
    return "sha256:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def bounce_record(
    *,
    email: str,
    source: str,
    category: str,
    dedupe_key: str | None = None,
    message: Message | None = None,
    reason: str = "",
    detail: str = "",
    status: str = "",
    smtp_code: str = "",
    diagnostic: str = "",
    remote_mta: str = "",
    esp_name: str = "",
    esp_event_id: str | None = None,
    esp_event_type: str = "",
    raw: str = "",
    occurred_at: datetime | None = None,
) -> BounceRecordResult:
    """Record one bounce, complaint or unsubscribe once, and apply the suppression policy.

    Idempotent: an event whose ``dedupe_key`` (or ESP id) is already stored is returned with
    ``created=False`` and changes nothing. Links the event to the message's lead, campaign and
    prompt version, or to the lead with that address when no message is known. A hard bounce
    marks the message bounced. Returns the event and the suppression it caused, if any.
    """
    email = normalize_email(email)
    occurred_at = occurred_at or timezone.now()
    if dedupe_key is None:
        dedupe_key = bounce_dedupe_key(
            source=source,
            email=email,
            category=category,
            esp_name=esp_name,
            esp_event_id=esp_event_id,
            message_ref=str(message.pk) if message else "",
            status=status,
            smtp_code=smtp_code,
            occurred_at=occurred_at,
        )
    lead = message.lead if message else Lead.objects.filter(email=email).first()
    event = BounceEvent(
        lead=lead,
        message=message,
        campaign_id=message.campaign_id if message else None,
        prompt_version_id=message.prompt_version_id if message else None,
        email=email,
        recipient_domain=email_domain(email),
        source=source,
        category=category,
        reason=reason,
        detail=detail[:64],
        status=status[:16],
        smtp_code=(smtp_code or "")[:3],
        diagnostic=diagnostic,
        remote_mta=remote_mta[:255],
        esp_name=esp_name,
        esp_event_id=esp_event_id or None,
        esp_event_type=esp_event_type[:64],
        dedupe_key=dedupe_key,
        raw=raw,
        occurred_at=occurred_at,
    )
    with transaction.atomic():
        try:
            # Insert first and let the unique keys decide (no check-then-insert race): the
            # savepoint keeps an outer transaction usable after a duplicate.
            with transaction.atomic():
                event.save()
        except IntegrityError:
            existing = BounceEvent.objects.filter(
                Q(dedupe_key=dedupe_key)
                | Q(esp_name=esp_name, esp_event_id=esp_event_id, esp_event_id__isnull=False)
            ).first()
            if existing is None:
                raise
            return BounceRecordResult(event=existing, created=False, suppression=None)

        suppression = bounce_apply_policy(event=event)
        if category == Category.HARD and message is not None:
            Message.objects.filter(pk=message.pk).exclude(state=Message.State.BOUNCED).update(
                state=Message.State.BOUNCED, next_attempt_at=None, updated_at=timezone.now()
            )
    logger.info(
        "bounce recorded",
        extra={
            "bounce_event_id": event.pk,
            "message_id": event.message_id,
            "campaign_id": event.campaign_id,
            "prompt_version_id": event.prompt_version_id,
            "category": category,
            "reason": reason,
            "status": status,
            "source": source,
            "suppressed": bool(suppression),
        },
    )
    # Counted once committed: a bounce recorded inside a transaction that rolls back never was.
    transaction.on_commit(lambda: metrics.incr("bounces", category=category, source=source))
    return BounceRecordResult(event=event, created=True, suppression=suppression)


def bounce_apply_policy(*, event: BounceEvent) -> Suppression | None:
    """Suppress the event's address if the policy says so; returns the suppression made."""
    reason = _IMMEDIATE_SUPPRESSION.get(event.category)
    if reason is not None:
        return suppression_create(email=event.email, reason=reason, bounce_event=event)
    if event.category == Category.SOFT and soft_bounce_count(email=event.email, at=event.occurred_at) >= (
        settings.LOCKLINE_SOFT_BOUNCE_LIMIT
    ):
        return suppression_create(
            email=event.email,
            reason=Suppression.Reason.PERSISTENT_SOFT,
            bounce_event=event,
            expires_at=event.occurred_at + timedelta(days=settings.LOCKLINE_SOFT_SUPPRESSION_DAYS),
        )
    return None


def soft_bounce_count(*, email: str, at: datetime | None = None) -> int:
    """Soft failures of an address that still count: inside the window, after its last delivery."""
    at = at or timezone.now()
    since = at - timedelta(days=settings.LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS)
    last_delivered = Lead.objects.filter(email=email).values_list("last_delivered_at", flat=True).first()
    if last_delivered and last_delivered > since:
        since = last_delivered
    return BounceEvent.objects.filter(
        email=email, category=Category.SOFT, occurred_at__gt=since, occurred_at__lte=at
    ).count()


def suppression_is_active(*, email: str) -> bool:
    return Suppression.objects.active().filter(email=normalize_email(email)).exists()


def suppression_create(
    *,
    email: str,
    reason: str,
    bounce_event: BounceEvent | None = None,
    expires_at: datetime | None = None,
    note: str = "",
) -> Suppression:
    """Suppress an address; idempotent. Returns the address's active suppression.

    If the address is already suppressed, that suppression stands (the first evidence is kept)
    unless it would lapse while this one would not, in which case it is lifted and replaced:
    a complaint arriving during a temporary soft suppression makes it permanent.
    """
    email = normalize_email(email)
    created = False
    with transaction.atomic():
        current = Suppression.objects.select_for_update().filter(email=email, lifted_at__isnull=True).first()
        if current is not None and current.expires_at is not None and (
            expires_at is None or current.expires_at <= timezone.now()
        ):
            current.lifted_at = timezone.now()
            current.lift_reason = f"superseded by {reason}" if current.is_active else "expired"
            current.save(update_fields=["lifted_at", "lift_reason"])
            current = None
        if current is None:
            try:
                with transaction.atomic():
                    current = Suppression.objects.create(
                        email=email, reason=reason, bounce_event=bounce_event, expires_at=expires_at, note=note
                    )
                created = True
            except IntegrityError:
                # Another transaction suppressed the address first: theirs stands.
                current = Suppression.objects.get(email=email, lifted_at__isnull=True)
        Lead.objects.filter(email=email).exclude(status=Lead.Status.SUPPRESSED).update(
            status=Lead.Status.SUPPRESSED, updated_at=timezone.now()
        )
    logger.info("suppression active", extra={"suppression_id": current.pk, "reason": current.reason})
    if created:
        transaction.on_commit(lambda: metrics.incr("suppressions", reason=reason))
    return current


def suppression_lift(*, suppression: Suppression, by=None, reason: str) -> Suppression:
    """Lift a suppression (kept as history) and make the lead sendable again.

    Raises ValueError without a reason: every lift must say why.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to lift a suppression.")
    with transaction.atomic():
        locked = Suppression.objects.select_for_update().get(pk=suppression.pk)
        if locked.lifted_at is not None:
            return locked
        locked.lifted_at = timezone.now()
        locked.lifted_by = by
        locked.lift_reason = reason
        locked.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        Lead.objects.filter(email=locked.email, status=Lead.Status.SUPPRESSED).update(
            status=Lead.Status.ACTIVE, updated_at=timezone.now()
        )
    logger.info("suppression lifted", extra={"suppression_id": locked.pk, "lifted_by_id": getattr(by, "pk", None)})
    return locked


def suppression_expire_due(*, at: datetime | None = None) -> int:
    """Lift every suppression whose expiry has passed; returns how many. Run by beat."""
    at = at or timezone.now()
    count = 0
    for suppression in Suppression.objects.filter(lifted_at__isnull=True, expires_at__lte=at).iterator():
        suppression_lift(suppression=suppression, reason="expired")
        count += 1
    return count
