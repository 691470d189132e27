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

import functools
import hashlib
import json
import logging
from json.encoder import encode_basestring_ascii as _json_string
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from bounces.bulk import insert_ignoring_conflicts
from bounces.models import BounceEvent, Suppression
from campaigns.models import Message
from leads.models import Lead, email_domain, normalize_email
from lockline import metrics
from lockline.db import AnyOf, key_share_rows, pg_any, pg_array

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
        _isoformat(occurred_at) if occurred_at else "",
    ]
    return "sha256:" + hashlib.sha256(_json_list(parts).encode()).hexdigest()


def _isoformat(moment: datetime) -> str:
    if moment.tzinfo is dt_timezone.utc:
        return _utc_isoformat(moment)
    return moment.isoformat()


@functools.lru_cache(maxsize=1024)
def _utc_isoformat(moment: datetime) -> str:
    # The events of one webhook batch mostly share a handful of timestamps (ESPs stamp by the
    # second), and isoformat() costs more than the cache lookup. UTC only: equal moments in
    # other zones are equal keys here but not equal text.
    return moment.isoformat()


def _json_list(parts: list) -> str:
    """``json.dumps(parts)``, character for character (stored keys depend on it), without the
    encoder's per-call set-up when every part is text: a webhook batch keys a thousand events.
    (The string encoder writes a str subclass, a text choice, as json.dumps does: its value.)"""
    try:
        return "[" + ", ".join(map(_json_string, parts)) + "]"
    except TypeError:  # a part that is not text
        return json.dumps(parts)


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
    esp_category: str = "",
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
    event = bounce_event_build(
        message=message,
        email=email,
        source=source,
        category=category,
        reason=reason,
        detail=detail,
        status=status,
        smtp_code=smtp_code,
        diagnostic=diagnostic,
        remote_mta=remote_mta,
        esp_name=esp_name,
        esp_event_id=esp_event_id,
        esp_event_type=esp_event_type,
        esp_category=esp_category,
        dedupe_key=dedupe_key,
        raw=raw,
        occurred_at=occurred_at,
    )
    return bounce_record_many(events=[event])[0]


def bounce_event_build(*, message: Message | None = None, **fields) -> BounceEvent:
    """An unsaved BounceEvent linked to the message's lead, campaign and prompt version.

    Values are clipped to their column sizes (what an ESP or a server sends is not ours to
    trust). Without a message, ``bounce_record_many`` links the lead by address.
    """
    email = normalize_email(fields.pop("email"))
    values = {
        # Ids, not instances: a message loaded without its relations must not cost a query.
        "lead_id": message.lead_id if message else None,
        "message_id": message.pk if message else None,
        "campaign_id": message.campaign_id if message else None,
        "prompt_version_id": message.prompt_version_id if message else None,
        "email": email[:254],
        "recipient_domain": email_domain(email)[:253],
        **fields,
    }
    # Positional construction: a webhook batch builds hundreds, and keyword arguments cost
    # Django's constructor a lookup per field.
    event = BounceEvent(*[values.pop(attname) if attname in values else field.get_default()
                          for attname, field in _bounce_event_fields()])
    if values:
        raise TypeError(f"BounceEvent has no field(s) {', '.join(sorted(values))}")
    event.detail = event.detail[:64]
    event.reason = event.reason[:32]
    event.status = event.status[:16]
    event.smtp_code = (event.smtp_code or "")[:3]
    event.remote_mta = event.remote_mta[:255]
    event.esp_name = event.esp_name[:32]
    event.esp_event_id = (event.esp_event_id or None) and event.esp_event_id[:255]
    event.esp_event_type = event.esp_event_type[:64]
    event.esp_category = event.esp_category[:16]
    return event


@functools.cache
def _bounce_event_fields() -> list[tuple[str, object]]:
    return [(field.attname, field) for field in BounceEvent._meta.concrete_fields]


def bounce_record_many(*, events: list[BounceEvent], messages_held: bool = False) -> list[BounceRecordResult]:
    """Record many unsaved BounceEvents (see ``bounce_event_build``) with one upsert.

    The batch form of ``bounce_record`` with the same contract, one result per input in
    order: rows whose ``dedupe_key`` or ESP id is already stored (or repeated earlier in the
    batch) come back with ``created=False`` and change nothing; the policy runs once, for the
    rows actually inserted. All in one transaction: a failure writes nothing.
    ``messages_held``: the caller's transaction holds the events' messages already (see
    ``messages_hold_for_link``; the webhook batch's matching does).
    """
    if not events:
        return []
    first_by_key: dict[str, BounceEvent] = {}
    for e in events:
        first_by_key.setdefault(e.dedupe_key, e)
    # Inserted in key order: two requests carrying overlapping events then lock the unique
    # index entries in the same order and wait for each other instead of deadlocking.
    candidates = sorted(first_by_key.values(), key=lambda e: e.dedupe_key)
    # No savepoint when nested: nothing in here catches a database error, so a failure rolls
    # back the caller's whole transaction anyway, and two savepoint round trips per call
    # would double the queries of a one-event webhook post.
    with transaction.atomic(savepoint=False):
        # A row with a message names the message's lead; one without names the lead with its
        # address, held until commit (see lead_ids_for_link).
        if not messages_held:
            messages_hold_for_link(ids=[e.message_id for e in events if e.message_id is not None])
        unlinked = [e for e in events if e.message_id is None]
        if unlinked:
            lead_ids = lead_ids_for_link(emails=[e.email for e in unlinked])
            for e in unlinked:
                e.lead_id = lead_ids.get(e.email)
        # Insert first and let the unique keys decide (no check-then-insert race): concurrent
        # deliveries of one event wait on the unique index, and only one of them inserts.
        inserted = dict(
            (key, pk) for pk, key in insert_ignoring_conflicts(candidates, returning=("id", "dedupe_key"))
        )
        new_events = []
        for e in candidates:
            if e.dedupe_key in inserted:
                e.pk = inserted[e.dedupe_key]
                e._state.adding = False
                new_events.append(e)
        suppressions = bounce_apply_policy_many(events=new_events)
        hard_messages = [e.message_id for e in new_events if e.category == Category.HARD and e.message_id]
        if hard_messages:
            Message.objects.filter(AnyOf("pk", hard_messages)).exclude(state=Message.State.BOUNCED).update(
                state=Message.State.BOUNCED, next_attempt_at=None, updated_at=timezone.now()
            )
        existing = {}
        if len(new_events) < len(events):
            existing = _bounce_events_existing([e for e in candidates if e.dedupe_key not in inserted])
    for e in new_events:
        logger.info(
            "bounce recorded",
            extra={
                "bounce_event_id": e.pk, "message_id": e.message_id, "campaign_id": e.campaign_id,
                "prompt_version_id": e.prompt_version_id, "category": e.category, "reason": e.reason,
                "status": e.status, "source": e.source, "suppressed": e.pk in suppressions,
            },
        )
    if new_events:
        counted = Counter((e.category, e.source) for e in new_events)
        # Counted once committed: a bounce recorded inside a transaction that rolls back never was.
        transaction.on_commit(lambda: metrics.incr_many("bounces", [
            (n, {"category": c, "source": src}) for (c, src), n in counted.items()
        ]))
    results = []
    for e in events:
        first = first_by_key[e.dedupe_key]
        if e is first and first.dedupe_key in inserted:
            results.append(BounceRecordResult(event=e, created=True, suppression=suppressions.get(e.pk)))
        else:
            stored = first if first.dedupe_key in inserted else existing.get(e.dedupe_key)
            if stored is None:
                raise IntegrityError(f"bounce event {e.dedupe_key} neither inserted nor found")
            results.append(BounceRecordResult(event=stored, created=False, suppression=None))
    return results


def _bounce_events_existing(events: list[BounceEvent]) -> dict[str, BounceEvent]:
    """The stored rows that the given (not inserted) events collided with, by their dedupe_key."""
    query = AnyOf("dedupe_key", [e.dedupe_key for e in events])
    for e in events:
        if e.esp_event_id:
            query |= Q(esp_name=e.esp_name, esp_event_id=e.esp_event_id)
    stored = list(BounceEvent.objects.filter(query))
    by_key = {s.dedupe_key: s for s in stored}
    by_esp_id = {(s.esp_name, s.esp_event_id): s for s in stored if s.esp_event_id}
    return {
        e.dedupe_key: by_key.get(e.dedupe_key) or by_esp_id.get((e.esp_name, e.esp_event_id))
        for e in events
        if e.dedupe_key in by_key or (e.esp_name, e.esp_event_id) in by_esp_id
    }


def leads_by_email(emails) -> QuerySet[Lead]:
    """Leads with these (normalised) addresses: stored lower-case, found through the unique
    index on ``email``."""
    return Lead.objects.filter(AnyOf("email", emails))


def lead_ids_for_link(*, emails) -> dict[str, int]:
    """``{address: lead id}`` for the leads that event rows without a message are about to
    name, held until the transaction ends. Call inside the transaction that writes the rows.

    The event tables' ``lead`` has no database foreign key (see the note in bounces/models.py).
    A row with a message names that message's lead, and the held message vouches for it (see
    ``messages_hold_for_link``); a row without one relies on this lock (``key_share_rows``:
    updates of the lead go on, a deletion waits for the commit and then, through the trigger
    of migration bounces.0006, clears the rows that name it).
    """
    emails = sorted(set(emails))
    if not emails:
        return {}
    # In id order, so two transactions locking overlapping leads take them in one order.
    return dict(key_share_rows(leads_by_email(emails).order_by("pk").values_list("email", "id")))


def messages_hold_for_link(*, ids) -> None:
    """Hold the messages that event rows are about to name until the transaction ends, or raise
    IntegrityError if one is gone. Call inside the transaction that writes the rows.

    The event tables' ``message`` has no database foreign key (see the note in
    bounces/models.py): this is the key check's lock (``key_share_rows``) taken for all of a
    batch's messages in one statement, instead of one check per row at commit. Updates of the
    message go on; a deletion waits for the commit and then, through the trigger of migration
    bounces.0007, clears the rows that name it. A message deleted before the lock fails the
    transaction, as the key check did, and the ESP's retry or the task's matches again.
    (A webhook batch's matching takes the same lock as it reads: ``message_match_many(hold=True)``.)
    """
    ids = sorted(set(ids))
    if not ids:
        return
    held = len(key_share_rows(Message.objects.filter(AnyOf("pk", ids)).order_by("pk").values_list("pk")))
    if held != len(ids):
        raise IntegrityError(f"{len(ids) - held} message(s) deleted while their events were being recorded")


def lead_delivered_update(delivered: dict[int, datetime]) -> None:
    """Move each lead's last_delivered_at forward to the given moment (never backward): after a
    send the server or ESP accepted, and on an ESP's delivery event."""
    if connection.vendor == "postgresql":
        # One statement for the whole batch, reaching each lead by primary key, in id order
        # (two batches moving the same leads lock them in the same order).
        ids = sorted(delivered)
        id_array = pg_array(ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Lead._meta.db_table} AS l SET last_delivered_at = v.at, updated_at = now() "
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
                # The id list again as a parameter: the planner then reaches the leads through
                # the primary key whatever its statistics say (see lockline.db.AnyOf).
                f"WHERE l.id = v.id AND {pg_any('l.id', 'bigint')} "
                "AND (l.last_delivered_at IS NULL OR l.last_delivered_at < v.at)",
                [id_array, pg_array([delivered[i] for i in ids]), id_array],
            )
        return
    by_moment: dict[datetime, list[int]] = {}
    for lead_id, moment in delivered.items():
        by_moment.setdefault(moment, []).append(lead_id)
    for moment, ids in by_moment.items():
        Lead.objects.filter(pk__in=ids).filter(
            Q(last_delivered_at__isnull=True) | Q(last_delivered_at__lt=moment)
        ).update(last_delivered_at=moment, updated_at=timezone.now())


def bounce_apply_policy_many(*, events: list[BounceEvent]) -> dict[int, Suppression]:
    """The suppression policy for newly stored events, in order; returns {event pk: suppression}.

    Hard, complaint and unsubscribe suppress at once; soft suppresses when the address's
    count (see ``soft_bounce_count``) reaches LOCKLINE_SOFT_BOUNCE_LIMIT, for
    LOCKLINE_SOFT_SUPPRESSION_DAYS; transient never does. The value is the address's active
    suppression afterwards (an earlier one stands, as in ``suppression_create``).
    """
    soft = [e for e in events if e.category == Category.SOFT]
    counts = soft_bounce_counts(at=[(e.email, e.occurred_at) for e in soft]) if soft else []
    soft_count = {id(e): n for e, n in zip(soft, counts)}
    requests = []
    for event in events:
        reason = _IMMEDIATE_SUPPRESSION.get(event.category)
        if reason is not None:
            requests.append(SuppressionRequest(email=event.email, reason=reason, bounce_event=event))
        elif event.category == Category.SOFT and soft_count[id(event)] >= settings.LOCKLINE_SOFT_BOUNCE_LIMIT:
            requests.append(
                SuppressionRequest(
                    email=event.email,
                    reason=Suppression.Reason.PERSISTENT_SOFT,
                    bounce_event=event,
                    expires_at=event.occurred_at + timedelta(days=settings.LOCKLINE_SOFT_SUPPRESSION_DAYS),
                )
            )
    made = suppression_create_many(requests=requests)
    return {request.bounce_event.pk: suppression for request, suppression in zip(requests, made)}


def soft_bounce_count(*, email: str, at: datetime | None = None) -> int:
    """Soft failures of an address that still count: inside the window, after its last delivery."""
    return soft_bounce_counts(at=[(normalize_email(email), at or timezone.now())])[0]


def soft_bounce_counts(*, at: list[tuple[str, datetime]]) -> list[int]:
    """``soft_bounce_count`` for many (address, moment) pairs, in order.

    An address's last delivery is the later of its lead's ``last_delivered_at`` and its latest
    message still in state ``sent`` (a delivery too, even before its lead's delivery time was
    written: a chunk of sends writes those once at its end, and an acceptance refused after the
    final "." leaves the state ``sent`` no longer). On PostgreSQL the counts are one statement;
    elsewhere (SQLite for ``make run``) three queries and the count here, by the same rule
    (tests/test_bounce_policy.py holds the two to the same answers).
    """
    if not at:
        return []
    window = timedelta(days=settings.LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS)
    if connection.vendor == "postgresql":
        return _soft_bounce_counts_sql(at, window)
    return _soft_bounce_counts_orm(at, window)


def _soft_bounce_counts_sql(at: list[tuple[str, datetime]], window: timedelta) -> list[int]:
    # One statement instead of three queries and a count in Python: 2 ms of a 1,000-event
    # webhook batch (paired rounds, 2026-11-29). Each subquery reaches its rows by index
    # (bounce_email_cat_time, lead_email_unique, message_recipient_recent); GREATEST skips NULLs.
    qn = connection.ops.quote_name
    bounces, leads, messages = (qn(m._meta.db_table) for m in (BounceEvent, Lead, Message))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {bounces} b WHERE b.email = v.email AND b.category = %s "
            f"        AND b.occurred_at <= v.at AND b.occurred_at > GREATEST("
            f"            v.at - %s::interval,"
            f"            (SELECT l.last_delivered_at FROM {leads} l WHERE l.email = v.email),"
            f"            (SELECT max(m.sent_at) FROM {messages} m WHERE m.to_email = v.email AND m.state = %s))) "
            f"FROM unnest(%s::varchar[], %s::timestamptz[]) WITH ORDINALITY AS v(email, at, n) ORDER BY v.n",
            [Category.SOFT, window, Message.State.SENT, pg_array([e for e, _ in at]), pg_array([m for _, m in at])],
        )
        return [count for (count,) in cursor.fetchall()]


def _soft_bounce_counts_orm(at: list[tuple[str, datetime]], window: timedelta) -> list[int]:
    emails = {email for email, _ in at}
    earliest = min(moment for _, moment in at) - window
    latest = max(moment for _, moment in at)
    last_delivered = dict(
        leads_by_email(emails).filter(last_delivered_at__isnull=False).values_list("email", "last_delivered_at")
    )
    for email, sent_at in (
        Message.objects.filter(AnyOf("to_email", emails), state=Message.State.SENT, sent_at__isnull=False)
        .values("to_email").annotate(last=Max("sent_at")).values_list("to_email", "last")
    ):
        if email not in last_delivered or sent_at > last_delivered[email]:
            last_delivered[email] = sent_at
    softs: dict[str, list[datetime]] = {}
    for email, moment in BounceEvent.objects.filter(
        AnyOf("email", emails), category=Category.SOFT, occurred_at__gt=earliest, occurred_at__lte=latest
    ).values_list("email", "occurred_at"):
        softs.setdefault(email, []).append(moment)
    counts = []
    for email, moment in at:
        since = moment - window
        delivered = last_delivered.get(email)
        if delivered and delivered > since:
            since = delivered
        counts.append(sum(1 for t in softs.get(email, ()) if since < t <= moment))
    return counts


@dataclass(frozen=True)
class SuppressionRequest:
    email: str
    reason: str
    bounce_event: BounceEvent | None = None
    expires_at: datetime | None = None
    note: str = ""


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
    request = SuppressionRequest(
        email=email, reason=reason, bounce_event=bounce_event, expires_at=expires_at, note=note
    )
    return suppression_create_many(requests=[request])[0]


def suppression_create_many(*, requests: list[SuppressionRequest]) -> list[Suppression]:
    """``suppression_create`` for many requests in a handful of queries; one result per request.

    Requests apply in order with the single-address rule; each result is its address's active
    suppression once the whole batch is applied.

    Most addresses a batch suppresses have no active suppression yet, so their new rows are
    inserted first (``ON CONFLICT DO NOTHING`` on the one-active-per-address index); only the
    addresses that already had one are then read, locked and settled by the rule. A webhook
    batch's usual case is one insert, not a locking read and an insert.
    """
    if not requests:
        return []
    now = timezone.now()
    with transaction.atomic(savepoint=False):  # see bounce_record_many
        emails = sorted({normalize_email(r.email) for r in requests})
        current, _ = _suppressions_settle(requests, held={}, now=now)
        made = _suppressions_insert(current)
        taken = sorted(email for email in current if email not in made)
        if taken:
            # Locked in address order so two batches touching the same addresses cannot deadlock.
            held = {
                s.email: s
                for s in Suppression.objects.select_for_update()
                .filter(AnyOf("email", taken), lifted_at__isnull=True)
                .order_by("email")
            }
            settled, lifts = _suppressions_settle(
                [r for r in requests if normalize_email(r.email) in held], held=held, now=now
            )
            for why, pks in lifts.items():
                Suppression.objects.filter(pk__in=pks).update(lifted_at=now, lift_reason=why)
            current.update(settled)
            made.update(_suppressions_insert(settled))
            # Lifted by another transaction between the insert and the read: try once more.
            gone = [email for email in taken if email not in held]
            made.update(_suppressions_insert({email: current[email] for email in gone}))
            lost = [email for email in taken if current[email].pk is None]
            if lost:
                # Another transaction suppressed these addresses first: theirs stand.
                for s in Suppression.objects.filter(AnyOf("email", lost), lifted_at__isnull=True):
                    current[s.email] = s
        leads_by_email(emails).exclude(status=Lead.Status.SUPPRESSED).update(
            status=Lead.Status.SUPPRESSED, updated_at=now
        )
    for s in made.values():
        logger.info("suppression active", extra={"suppression_id": s.pk, "reason": s.reason})
    if made:
        by_reason = Counter(s.reason for s in made.values())
        transaction.on_commit(lambda: metrics.incr_many("suppressions", [(n, {"reason": r}) for r, n in by_reason.items()]))
    return [current[normalize_email(r.email)] for r in requests]


def _suppressions_settle(
    requests: list[SuppressionRequest], *, held: dict[str, Suppression], now: datetime
) -> tuple[dict[str, Suppression], dict[str, list[int]]]:
    """The single-address rule, applied in order: ``{address: its active suppression}`` (new
    ones unsaved) starting from the stored ``held`` ones, and the stored ones to lift, by why."""
    current = dict(held)
    lifts: dict[str, list[int]] = {}
    for r in requests:
        email = normalize_email(r.email)
        standing = current.get(email)
        if standing is not None and standing.expires_at is not None and (
            r.expires_at is None or standing.expires_at <= now
        ):
            if standing.pk is not None:
                why = f"superseded by {r.reason}" if standing.expires_at > now else "expired"
                lifts.setdefault(why, []).append(standing.pk)
            standing = None
        if standing is None:
            current[email] = Suppression(
                email=email, reason=r.reason, bounce_event=r.bounce_event, expires_at=r.expires_at,
                note=r.note, created_at=now,
            )
    return current, lifts


def _suppressions_insert(current: dict[str, Suppression]) -> dict[str, Suppression]:
    """Insert the unsaved suppressions of ``current``, in address order; an address that has an
    active suppression already is skipped. Returns the inserted ones by address."""
    new = sorted((s for s in current.values() if s.pk is None), key=lambda s: s.email)
    made = {}
    for pk, email in insert_ignoring_conflicts(new, returning=("id", "email")):
        s = current[email]
        s.pk = pk
        s._state.adding = False
        made[email] = s
    return made


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
