"""Sending one message: claim it, re-check the rules, send, record the outcome.

The state machine (PostgreSQL is the source of truth; the broker only carries ids):

    queued/deferred --claim (row lock)--> sending --accepted--> sent
                                                  --hard------> bounced (+ suppression)
                                                  --soft/transient--> deferred (next_attempt_at)
                                                  --gave up / blocked--> failed
    queued/deferred --suppressed at send time--> suppressed
    sending --suppressed meanwhile, caught by the write before the final "."--> suppressed
    queued/deferred --campaign or prompt paused, limit reached, domain throttled--> held (same
                      state, later next_attempt_at; no attempt counted)

Every transition out of ``sending`` is a conditional UPDATE on (state=sending, attempts=N), so a
worker that lost its claim (the reconciler resolved it, a webhook bounced the message) writes
nothing. A second task for the same message finds it not queued or not yet due and does nothing.

The one window SMTP leaves open — the server has answered 250 to the end of DATA but the worker
dies before the UPDATE to ``sent`` commits, so the row stays ``sending`` and a resend would
deliver twice — is closed over SMTP by writing first: ``campaigns.delivery.smtp`` sends the whole
message but the final "." line, the row is committed as ``sent``, then the "." goes out (see
that module). A row still ``sending`` therefore means the server never completed the message,
and the reconciler may send it again after LOCKLINE_SENDING_STUCK_AFTER. A refusal after the "."
replaces the provisional ``sent``. Through an ESP's HTTP API there is no such split: the window
is the time between the ESP's answer and one single-row UPDATE, and a resend there carries the
same Message-ID, so receivers that collapse duplicates by Message-ID show it once.
"""
from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bounces.models import BounceEvent, Suppression
from bounces.services import bounce_record, lead_delivered_update, suppression_create
from campaigns.delivery.classify import classify_anymail_status, classify_exception
from campaigns.delivery.compose import message_email, uses_esp
from campaigns.delivery.errors import Classification, DeliveryError, delivery_error
from campaigns.delivery.retry_policy import retry_countdown, retry_gives_up
from campaigns.delivery.smtp import before_final_dot
from campaigns.delivery.throttle import throttle_acquire, throttle_note
from campaigns.models import Campaign, Message, PromptVersion
from campaigns.tokens import rfc_message_id
from leads.models import Lead, email_domain
from lockline.prepared import prepared_execute

logger = logging.getLogger(__name__)

State = Message.State
SENDABLE_STATES = (State.QUEUED, State.DEFERRED)
# BounceEvent details that count as a policy/spam block of the campaign.
BLOCK_DETAILS = ("spam_block", "policy_block", "sender_refused")


@dataclass(frozen=True)
class SendOutcome:
    """What ``message_send`` did. ``retry_in``: seconds after which the task must run again."""

    action: str  # sent, bounced, deferred, failed, suppressed, held, throttled, skipped
    state: str | None = None
    retry_in: int | None = None
    error: DeliveryError | None = None


# --- One SMTP/ESP connection per worker process, reused between messages ------------------------
# Opening a connection costs about as much as sending a small message (measured: ~800 msg/s over
# one connection, ~450 with a new one each), so each worker process keeps one. It is dropped after
# any failure (the session may be in an unknown state) and after idling: servers close idle
# sessions, and a send that finds the session closed would be counted as a failed attempt.
_IDLE_REOPEN_SECONDS = 10.0
_connection = {"key": None, "backend": None, "used": 0.0}


def _connection_key() -> tuple:
    return (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER)


def _connection_get():
    now = time.monotonic()
    if _connection["backend"] is not None and (
        _connection["key"] != _connection_key() or now - _connection["used"] > _IDLE_REOPEN_SECONDS
    ):
        _connection_drop()
    if _connection["backend"] is None:
        backend = get_connection(fail_silently=False)
        backend.open()
        _connection.update(key=_connection_key(), backend=backend)
    _connection["used"] = now
    return _connection["backend"]


def _connection_drop() -> None:
    backend, _connection["backend"] = _connection["backend"], None
    if backend is not None:
        try:
            backend.close()
        except Exception:  # noqa: BLE001 - closing a broken session must not mask the real failure
            logger.debug("closing the mail connection failed", exc_info=True)


def message_deliver(*, message: Message) -> str:
    """Send ``message`` once, now, through the configured backend; no database writes.

    Returns the ESP's message id ("" over SMTP). Raises HardBounceError, SoftBounceError or
    TransientDeliveryError (BlockedDeliveryError for a policy/spam block), classified from the
    SMTP reply or Anymail's error and per-recipient status. Any other exception is a bug and
    propagates unchanged.
    """
    email = None
    try:
        email = message_email(message, connection=_connection_get())
        email.send(fail_silently=False)
    except Exception as exc:
        _connection_drop()
        status = _anymail_recipient_status(email, message.to_email)
        found = (status and classify_anymail_status(status)) or classify_exception(exc, recipient=message.to_email)
        if found is None:
            raise
        raise delivery_error(found) from exc
    status = _anymail_recipient_status(email, message.to_email)
    if status:
        found = classify_anymail_status(status)
        if found is not None:
            raise delivery_error(found)
        recipient = email.anymail_status.recipients.get(message.to_email)
        return "" if recipient is None or recipient.message_id is None else str(recipient.message_id)
    return ""


def _anymail_recipient_status(email, recipient: str) -> str | None:
    status = getattr(email, "anymail_status", None)
    if not uses_esp() or status is None or not status.recipients:
        return None
    found = status.recipients.get(recipient)
    return found.status if found else None


# --- The service the task calls ----------------------------------------------------------------


def message_send(*, message_id: int, deliveries: dict[int, datetime] | None = None) -> SendOutcome:
    """Send one message if it is due and still allowed; record what happened.

    1. Claim: lock the row; skip unless queued/deferred and due; re-check the suppression list
       (a suppression that arrived after the message was queued wins), the campaign's and prompt
       version's pause, the campaign's send limits and the recipient domain's throttle.
    2. Send outside any transaction (no row lock is held over SMTP).
    3. Record the result in a new short transaction: sent, or the classified failure through
       ``bounce_record`` and the retry policy.
    Returns a SendOutcome; ``retry_in`` tells the task when to run again.

    ``deliveries``: for a chunk of sends, a dict that collects {lead id: delivery time} for the
    caller to write once for the whole chunk (``lead_deliveries_write``) rather than once per
    message. That time is only a hint (the message row's durable `sent` is the record; see
    ``bounces.services.soft_bounce_counts``), so a chunk whose worker dies before writing it
    loses nothing that matters.
    """
    claimed = _message_claim(message_id=message_id)
    if isinstance(claimed, SendOutcome):
        return claimed
    message = claimed
    recorded: list[SendOutcome] = []

    def record_before_final_dot() -> None:
        # Over SMTP this runs before the server can accept the message (campaigns.delivery.smtp):
        # a worker killed from here on leaves a row that says `sent`, never one that is resent.
        # The write also re-checks the suppression list, at the last moment the send can still
        # be called off: an address suppressed while the message was on its way gets no ".".
        outcome = _message_sent(message=message, esp_message_id="", provisional=True)
        if outcome.action != "sent":
            # Suppressed meanwhile, or someone else owns the message now: no "." from us.
            raise _ClaimLost(suppressed=_message_suppress_if_claimed(message=message))
        recorded.append(outcome)
        message.provisionally_sent = True

    try:
        with before_final_dot(record_before_final_dot):
            esp_message_id = message_deliver(message=message)
    except _ClaimLost as lost:
        return SendOutcome("suppressed", state=State.SUPPRESSED) if lost.suppressed else SendOutcome("skipped")
    except DeliveryError as error:
        # Refused after the final ".": the refusal replaces the provisional `sent`.
        return _message_failed(message=message, error=error)
    if recorded:
        # The server accepted it: now the delivery may reset the address's soft-bounce count.
        if deliveries is None:
            lead_deliveries_write({message.lead_id: message.sent_at})
        else:
            deliveries[message.lead_id] = max(message.sent_at, deliveries.get(message.lead_id, message.sent_at))
        return recorded[0]
    # An ESP (or a plain SMTP backend) took the message before we could record it: recording
    # that must not fail on a database blip, or the reconciler would later send it again. Retry
    # the write a few times before giving up.
    for pause in (0.2, 1.0, 3.0, None):
        try:
            return _message_sent(message=message, esp_message_id=esp_message_id)
        except (OperationalError, InterfaceError):
            if pause is None:
                raise
            logger.warning("recording a sent message failed, retrying: message=%s", message.pk, exc_info=True)
            connection.close()
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def messages_send(*, message_ids: list[int], budget: float, retry: Callable[[int, int], None]) -> list[int]:
    """Send a chunk of messages one after another, each exactly as by ``message_send``.

    ``retry(message_id, countdown)`` is called as soon as a message must run again later. No
    message is started after ``budget`` seconds (the first always is); returns the ids not
    started. The leads' delivery times are written once, at the end (``lead_deliveries_write``),
    even when the chunk ends in an exception.
    """
    deadline = time.monotonic() + budget
    deliveries: dict[int, datetime] = {}
    try:
        for position, message_id in enumerate(message_ids):
            if position and time.monotonic() > deadline:
                return list(message_ids[position:])
            outcome = message_send(message_id=message_id, deliveries=deliveries)
            if outcome.retry_in is not None:
                retry(message_id, outcome.retry_in)
        return []
    finally:
        try:
            lead_deliveries_write(deliveries)
        except (OperationalError, InterfaceError):
            # Only the leads' copy of their delivery times; the messages hold the record.
            logger.warning("leads' delivery times not written for %s messages", len(deliveries), exc_info=True)


def _message_claim(*, message_id: int) -> Message | SendOutcome:
    claimed = _message_claim_fast(message_id=message_id)
    if claimed is not None:
        return claimed
    return _message_claim_checked(message_id=message_id)


# The common case in one statement: due, not suppressed, campaign running without send limits,
# prompt version not paused. It re-checks exactly what the checked path below re-checks, at the
# same moment (under the row lock, in the claiming transaction); anything else falls through.
# It returns the claimed row with its campaign, prompt version and lead, everything the send
# needs, so the hot path costs one round trip and no ORM query compilation (measured: the
# compiled select_related SELECT cost more than the UPDATE itself).
_FAST_CLAIM_SQL = """
WITH target AS (SELECT id, state FROM {message} WHERE id = $1 FOR UPDATE SKIP LOCKED)
UPDATE {message} AS m
   SET state = $2, attempts = m.attempts + 1, message_id = $3, enqueued_at = NULL, updated_at = $4
  FROM target AS t, {campaign} AS c, {prompt} AS p, {lead} AS l
 WHERE m.id = t.id
   AND m.state = ANY($5)
   AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= $6)
   AND c.id = m.campaign_id AND c.status = $7
   AND COALESCE(c.hourly_limit, 0) = 0 AND COALESCE(c.daily_limit, 0) = 0
   AND p.id = m.prompt_version_id AND p.paused_at IS NULL
   AND l.id = m.lead_id
   AND {not_suppressed}
RETURNING t.state, {columns}
"""


def _not_suppressed_sql(now_param: str) -> str:
    """Raw SQL for "message ``m``'s address has no active suppression at ``now_param``": the
    send path's prepared statements' form of ``Suppression.objects.active``."""
    return (f"NOT EXISTS (SELECT 1 FROM {Suppression._meta.db_table} AS s WHERE s.email = m.to_email "
            f"AND s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > {now_param}))")
# (alias, model) of each part of the claimed row, in RETURNING order.
_FAST_CLAIM_PARTS = (("m", Message), ("c", Campaign), ("p", PromptVersion), ("l", Lead))


@functools.cache
def _fast_claim_sql() -> str:
    columns = ", ".join(
        f'{alias}."{field.column}"' for alias, model in _FAST_CLAIM_PARTS for field in model._meta.concrete_fields
    )
    return _FAST_CLAIM_SQL.format(
        message=Message._meta.db_table, campaign=Campaign._meta.db_table, prompt=PromptVersion._meta.db_table,
        lead=Lead._meta.db_table, not_suppressed=_not_suppressed_sql("$4"), columns=columns,
    )


@functools.cache
def _fast_claim_fields() -> tuple[tuple[type, tuple[str, ...]], ...]:
    """(model, attnames) of each part of the claimed row, in RETURNING order."""
    return tuple((model, tuple(f.attname for f in model._meta.concrete_fields)) for _alias, model in _FAST_CLAIM_PARTS)


def _fast_claim_message(row: tuple) -> Message:
    """The Message (with campaign, prompt_version and lead loaded) from a claimed row."""
    instances, start = [], 0
    for model, names in _fast_claim_fields():
        instances.append(model.from_db(connection.alias, names, row[start:start + len(names)]))
        start += len(names)
    message, message.campaign, message.prompt_version, message.lead = instances
    return message


def _message_claim_fast(*, message_id: int) -> Message | SendOutcome | None:
    """Claim ``message_id`` by one conditional UPDATE; SendOutcome("throttled") when the
    recipient's domain is throttled; None when the checked path must decide (missing, locked,
    not sendable or not due, suppressed, paused, send limits).

    One round trip: the UPDATE and the SET LOCAL before it go as one query string, which
    PostgreSQL runs (and commits) as one transaction. Only on PostgreSQL (SET LOCAL, UPDATE ...
    FROM, SKIP LOCKED).
    """
    if connection.vendor != "postgresql":
        return None
    now = timezone.now()
    with connection.cursor() as cursor:
        # The claim's commit need not wait for the disk (see _commit_without_waiting_for_disk).
        prepared_execute(cursor, "lockline_message_claim", _fast_claim_sql(), [
            message_id, State.SENDING, rfc_message_id(message_id), now, list(SENDABLE_STATES),
            now + timedelta(seconds=1), Campaign.Status.RUNNING,
        ], prefix="SET LOCAL synchronous_commit TO OFF")
        row = cursor.fetchone()
    if row is None:
        return None
    previous_state, message = row[0], _fast_claim_message(row[1:])
    # Last, as in the checked path: a slot is taken only for a message that will be sent. A
    # throttled domain hands the message back to its previous state, postponed, as the checked
    # path would (no attempt counted).
    wait = throttle_acquire(domain=message.lead.domain or email_domain(message.to_email))
    if wait > 0:
        countdown = _throttle_countdown(wait)
        due = timezone.now() + timedelta(seconds=countdown)
        Message.objects.filter(pk=message.pk, state=State.SENDING, attempts=message.attempts).update(
            state=previous_state, attempts=message.attempts - 1, next_attempt_at=due, enqueued_at=due,
            updated_at=timezone.now())
        return SendOutcome("throttled", state=previous_state, retry_in=countdown)
    return message


def _throttle_countdown(wait: float) -> int:
    """Seconds until a throttled message runs again: the domain's wait plus up to half again,
    so the messages held back do not all return at the same moment."""
    return max(1, round(wait + random.uniform(0, wait * 0.5)))


def _message_claim_checked(*, message_id: int) -> Message | SendOutcome:
    """The claim with every case handled: skipped, suppressed, held, throttled or claimed."""
    now = timezone.now()
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("campaign", "prompt_version", "lead")
            .annotate(suppressed=Exists(Suppression.objects.active(at=now).filter(email=OuterRef("to_email"))))
            .filter(pk=message_id)
            .order_by()
            .first()
        )
        if message is None:
            # Missing, or another worker holds the row right now: either way, not ours.
            return SendOutcome("skipped")
        if message.state not in SENDABLE_STATES:
            return SendOutcome("skipped", state=message.state)
        if message.next_attempt_at and message.next_attempt_at > now + timedelta(seconds=1):
            # A stale duplicate (the reconciler re-published it, or an old retry): the task
            # scheduled for next_attempt_at, or the reconciler, will run it.
            return SendOutcome("skipped", state=message.state)
        if message.suppressed:
            message.state = State.SUPPRESSED
            message.next_attempt_at = None
            message.last_response = "not sent: the address is suppressed"
            message.save(update_fields=["state", "next_attempt_at", "last_response", "updated_at"])
            logger.info("message suppressed at send time: message=%s", message.pk)
            return SendOutcome("suppressed", state=State.SUPPRESSED)
        hold_until = _hold_until(message=message, now=now)
        if hold_until is not None:
            # No countdown task: the reconciler publishes it again once due.
            _message_postpone(message=message, until=hold_until, enqueued=False)
            return SendOutcome("held", state=message.state)
        wait = throttle_acquire(domain=message.lead.domain or email_domain(message.to_email))
        if wait > 0:
            countdown = _throttle_countdown(wait)
            _message_postpone(message=message, until=now + timedelta(seconds=countdown), enqueued=True)
            return SendOutcome("throttled", state=message.state, retry_in=countdown)
        message.state = State.SENDING
        message.attempts += 1
        message.message_id = rfc_message_id(message.pk)
        message.enqueued_at = None
        message.save(update_fields=["state", "attempts", "message_id", "enqueued_at", "updated_at"])
    return message


def lead_deliveries_write(deliveries: dict[int, datetime]) -> None:
    """Move each lead's delivery time forward ({lead id: time}), committed without waiting for
    the WAL flush.

    The message rows' ``sent`` were already committed durably before their final "."; this is
    only the lead's copy (shown to staff, read by ``soft_bounce_counts`` beside the messages). A
    database crash within wal_writer_delay (200 ms by default) of it can lose it, and nothing
    depends on it alone. It saves one disk flush per message.
    """
    if not deliveries:
        return
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        lead_delivered_update(deliveries)


def _commit_without_waiting_for_disk() -> None:
    """Let this transaction commit without waiting for the WAL flush (PostgreSQL only).

    Only for the claim and the leads' delivery times: losing either in a database crash changes
    nothing. The attempt's result is written by a normal (durable) commit, which flushes the
    claim's WAL record with it; and a crash before that leaves the same unknown outcome the
    reconciler already handles. It saves one disk flush per message, the largest single cost of
    a send on a small machine.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _message_postpone(*, message: Message, until: datetime, enqueued: bool) -> None:
    message.next_attempt_at = until
    message.enqueued_at = until if enqueued else None
    message.save(update_fields=["next_attempt_at", "enqueued_at", "updated_at"])


def _hold_until(*, message: Message, now: datetime) -> datetime | None:
    """When a held message may be looked at again, or None if it may be sent now."""
    campaign, prompt = message.campaign, message.prompt_version
    recheck = now + timedelta(seconds=settings.LOCKLINE_HOLD_RECHECK)
    if campaign.status != Campaign.Status.RUNNING or prompt.paused_at is not None:
        return recheck
    windows = [(limit, span) for limit, span in (
        (campaign.hourly_limit, timedelta(hours=1)), (campaign.daily_limit, timedelta(days=1))) if limit]
    if not windows:
        return None
    # Serialise the limit check of one campaign across workers (held only for this short
    # transaction, never over SMTP), so concurrent claims cannot overshoot the limit.
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    for limit, span in windows:
        since = now - span
        in_window = Message.objects.filter(campaign=campaign).filter(
            Q(state=State.SENDING) | Q(sent_at__gt=since))
        if in_window.count() >= limit:
            oldest = in_window.filter(sent_at__gt=since).order_by("sent_at").values_list("sent_at", flat=True).first()
            return max(recheck, oldest + span) if oldest else recheck
    return None


class _ClaimLost(Exception):
    """The row was no longer this worker's when it came to record the send (``suppressed``:
    because its address was suppressed meanwhile)."""

    def __init__(self, *, suppressed: bool = False):
        super().__init__()
        self.suppressed = suppressed


def _claimed(message: Message):
    """The message's row, only while this worker's claim on it still stands (including the
    provisional `sent` written before the final "." of DATA)."""
    states = (State.SENDING, State.SENT) if getattr(message, "provisionally_sent", False) else (State.SENDING,)
    return Message.objects.filter(pk=message.pk, state__in=states, attempts=message.attempts)


def _message_sent(*, message: Message, esp_message_id: str, provisional: bool = False) -> SendOutcome:
    """Record the message as sent. ``provisional``: written before the server's final answer
    (which may still refuse it); the lead's delivery time is then set once the server accepts."""
    now = timezone.now()
    if provisional:
        changed = _message_sent_provisional(message=message, at=now)
    else:
        with transaction.atomic():
            changed = _claimed(message).update(
                state=State.SENT, sent_at=now, next_attempt_at=None, esp_message_id=esp_message_id or None,
                last_response="250 accepted", updated_at=now,
            )
            if changed:
                # A delivery resets the address's soft-bounce count (bounces.services.soft_bounce_count).
                lead_delivered_update({message.lead_id: now})
    message.sent_at = now
    if not changed:
        logger.warning("message sent but its claim was gone: message=%s", message.pk)
        if provisional:
            return SendOutcome("skipped")
    logger.info("message sent: message=%s attempt=%s", message.pk, message.attempts)
    return SendOutcome("sent", state=State.SENT)


def _message_sent_provisional(*, message: Message, at: datetime) -> int:
    """The durable `sent` written before the final "." (one autocommitted statement, once per
    message over SMTP): only while this worker's claim (state sending, this attempt) stands and
    the address is not suppressed."""
    with connection.cursor() as cursor:
        prepared_execute(cursor, "lockline_message_sent_provisional", _sent_provisional_sql(),
                         [message.pk, message.attempts, at, State.SENT, "sent", State.SENDING])
        return cursor.rowcount


@functools.cache
def _sent_provisional_sql() -> str:
    return (f"UPDATE {Message._meta.db_table} AS m SET state = $4, sent_at = $3, next_attempt_at = NULL, "
            "esp_message_id = NULL, last_response = $5, updated_at = $3 "
            f"WHERE m.id = $1 AND m.state = $6 AND m.attempts = $2 AND {_not_suppressed_sql('$3')}")


def _message_suppress_if_claimed(*, message: Message) -> bool:
    """Mark the message suppressed if it is still this worker's claim and its address is now
    suppressed; True if it was."""
    now = timezone.now()
    suppressed = Suppression.objects.active(at=now).filter(email=message.to_email)
    changed = _claimed(message).filter(Exists(suppressed)).update(
        state=State.SUPPRESSED, next_attempt_at=None, updated_at=now,
        last_response="not sent: the address was suppressed while the message was being sent")
    if changed:
        logger.info("message suppressed during its send, no final dot: message=%s", message.pk)
    return bool(changed)


def _message_failed(*, message: Message, error: DeliveryError) -> SendOutcome:
    """Record a classified failure and decide: bounced, deferred with a countdown, or failed."""
    found: Classification = error.classification
    now = timezone.now()
    domain = email_domain(message.to_email)
    if found.throttle:
        throttle_note(domain=domain)
    response = (found.diagnostic or str(error))[:2000]
    with transaction.atomic():
        recorded = None
        if found.recipient_specific:
            recorded = bounce_record(
                email=message.to_email, source=BounceEvent.Source.SMTP, category=found.category,
                dedupe_key=f"send:{message.pk}:{message.attempts}", message=message, reason=found.reason,
                detail=found.detail, status=found.status, smtp_code=found.smtp_code, diagnostic=found.diagnostic,
                remote_mta="" if uses_esp() else settings.EMAIL_HOST, occurred_at=now,
            )
        claimed = _claimed(message)
        if found.category == BounceEvent.Category.HARD:
            # bounce_record marked the message bounced and suppressed the address.
            Message.objects.filter(pk=message.pk).filter(Q(state=State.BOUNCED) | Q(pk__in=claimed)).update(
                state=State.BOUNCED, last_response=response, next_attempt_at=None, updated_at=now)
            outcome = SendOutcome("bounced", state=State.BOUNCED, error=error)
        elif found.blocked:
            claimed.update(state=State.FAILED, last_response=f"blocked: {response}", next_attempt_at=None, updated_at=now)
            outcome = SendOutcome("failed", state=State.FAILED, error=error)
        else:
            outcome = _message_retry_or_give_up(
                message=message, error=error, response=response, now=now,
                suppressed=bool(recorded and recorded.suppression),
            )
    if found.blocked:
        _campaign_pause_if_blocked(campaign_id=message.campaign_id)
    logger.info(
        "message failed: message=%s attempt=%s category=%s reason=%s detail=%s status=%s -> %s",
        message.pk, message.attempts, found.category, found.reason, found.detail, found.status, outcome.action,
    )
    return outcome


def _message_retry_or_give_up(*, message: Message, error: DeliveryError, response: str, now: datetime,
                              suppressed: bool) -> SendOutcome:
    found = error.classification
    soft = found.category == BounceEvent.Category.SOFT
    soft_failures = (
        BounceEvent.objects.filter(message=message, category=BounceEvent.Category.SOFT).count() if soft else 0
    )
    claimed = _claimed(message)
    if suppressed or retry_gives_up(first_queued_at=message.created_at, now=now, soft_failures=soft_failures):
        if soft and found.recipient_specific and not suppressed:
            suppression_create(
                email=message.to_email, reason=Suppression.Reason.PERSISTENT_SOFT,
                bounce_event=BounceEvent.objects.filter(message=message).order_by("-occurred_at").first(),
                expires_at=now + timedelta(days=settings.LOCKLINE_SOFT_SUPPRESSION_DAYS),
                note=f"gave up after {message.attempts} attempts",
            )
        why = "address suppressed after persistent soft bounces" if soft and found.recipient_specific else "gave up"
        claimed.update(state=State.FAILED, next_attempt_at=None, updated_at=now,
                       last_response=f"{why} after {message.attempts} attempts: {response}")
        return SendOutcome("failed", state=State.FAILED, error=error)
    countdown = retry_countdown(failures=message.attempts)
    due = now + timedelta(seconds=countdown)
    changed = claimed.update(state=State.DEFERRED, next_attempt_at=due, enqueued_at=due, last_response=response,
                             updated_at=now)
    if not changed:
        return SendOutcome("skipped", error=error)
    return SendOutcome("deferred", state=State.DEFERRED, retry_in=countdown, error=error)


def _campaign_pause_if_blocked(*, campaign_id: int) -> None:
    from campaigns.services import CampaignStateError, campaign_pause

    blocks = BounceEvent.objects.filter(campaign_id=campaign_id, detail__in=BLOCK_DETAILS).count()
    if blocks < settings.LOCKLINE_BLOCKS_PAUSE_CAMPAIGN:
        return
    campaign = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING).first()
    if campaign is None:
        return
    try:
        campaign_pause(campaign=campaign, reason=f"{blocks} messages refused as spam or by policy (554 5.7.1)")
    except CampaignStateError:
        pass
    logger.warning("campaign paused after policy blocks: campaign=%s blocks=%s", campaign_id, blocks)
