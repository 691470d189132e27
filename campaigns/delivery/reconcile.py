"""The reconciler (beat): PostgreSQL is the source of truth, the broker only a delivery aid.

It (1) resolves messages stuck in ``sending`` (their worker died mid-send) by making them due
again, (2) publishes again every due message whose task the broker has lost (a Redis restart or
FLUSHALL, a SIGKILLed worker's unacked task), and (3) marks running campaigns finished when
every message reached a final state. Publishing twice is harmless: the send task claims the row
and a second task finds nothing to do.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from kombu.exceptions import ChannelError
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.models import Campaign, Message

from lockline import metrics

logger = logging.getLogger(__name__)

State = Message.State


@dataclass(frozen=True)
class ReconcileResult:
    unstuck: int
    requeued: int
    finished: int


def message_publish(*, message_ids: list[int]) -> None:
    """Publish send tasks for ``message_ids`` over a single broker connection (the dispatcher's
    job): one ``message_send_many`` per LOCKLINE_SEND_BATCH ids.

    Each message is still claimed, sent and recorded on its own; the chunk only saves the
    broker round trip, the task's start-up and the idle wait of prefetch-1 between messages.
    """
    from celery import current_app

    from campaigns.tasks import message_send_many

    size = max(1, settings.LOCKLINE_SEND_BATCH)
    with current_app.producer_or_acquire() as producer:
        for start in range(0, len(message_ids), size):
            message_send_many.apply_async((list(message_ids[start:start + size]),), producer=producer)


def broker_send_queue_length() -> int | None:
    """Messages waiting in the broker's send queue, or None if the broker cannot say."""
    from celery import current_app

    try:
        with current_app.connection_for_write() as connection:
            try:
                return connection.default_channel.queue_declare(queue="send", passive=True).message_count
            except ChannelError:
                # The queue is not even declared (a flushed Redis lost its bindings too): empty.
                return 0
    except Exception:  # noqa: BLE001 - any failure means "unknown": fall back to the long timeout
        logger.warning("could not read the send queue's length", exc_info=True)
        return None


def message_reconcile(
    *,
    now: datetime | None = None,
    requeue_after: timedelta | None = None,
    stuck_after: timedelta | None = None,
    batch: int | None = None,
) -> ReconcileResult:
    """Run the three repairs above once; returns how many messages/campaigns each touched."""
    now = now or timezone.now()
    if requeue_after is None:
        # An empty send queue with due messages waiting means the broker lost them (a restart, a
        # FLUSHALL): re-publish after a short grace instead of the long backlog timeout.
        idle = broker_send_queue_length() == 0
        requeue_after = timedelta(
            seconds=settings.LOCKLINE_REQUEUE_AFTER_IDLE if idle else settings.LOCKLINE_REQUEUE_AFTER
        )
    if stuck_after is None:
        stuck_after = timedelta(seconds=settings.LOCKLINE_SENDING_STUCK_AFTER)
    batch = batch or settings.LOCKLINE_RECONCILE_BATCH

    # 1. Stuck in `sending` longer than any live worker could be (the task's hard time limit is
    # below stuck_after): the attempt's outcome is unknown; send again (see send.py on the window).
    with transaction.atomic():
        stuck = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(state=State.SENDING, updated_at__lte=now - stuck_after)
            .values_list("pk", flat=True)[:batch]
        )
        unstuck = Message.objects.filter(pk__in=stuck, state=State.SENDING).update(
            state=State.DEFERRED, next_attempt_at=now, enqueued_at=None, updated_at=now,
            last_response="worker lost mid-send; outcome unknown, sending again with the same Message-ID",
        )

    # 2. Due and not in flight: publish again.
    requeued = 0
    chunk = settings.LOCKLINE_LAUNCH_CHUNK
    while requeued < batch:
        with transaction.atomic():
            ids = list(
                Message.objects.select_for_update(skip_locked=True)
                .filter(state__in=(State.QUEUED, State.DEFERRED))
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue_after))
                .order_by("next_attempt_at")
                .values_list("pk", flat=True)[: min(chunk, batch - requeued)]
            )
            if not ids:
                break
            Message.objects.filter(pk__in=ids).update(enqueued_at=now)
        message_publish(message_ids=ids)
        requeued += len(ids)

    # 3. Running campaigns with nothing left to send are finished.
    open_messages = Message.objects.filter(campaign=OuterRef("pk")).exclude(state__in=Message.FINAL_STATES)
    finished = (
        Campaign.objects.filter(status=Campaign.Status.RUNNING, messages__isnull=False)
        .filter(~Exists(open_messages))
        .distinct()
    )
    finished_count = Campaign.objects.filter(pk__in=list(finished.values_list("pk", flat=True))).update(
        status=Campaign.Status.FINISHED, updated_at=now
    )
    if unstuck or requeued or finished_count:
        logger.info("reconciled", extra={"unstuck": unstuck, "requeued": requeued, "finished": finished_count})
        for action, count in (("unstuck", unstuck), ("requeued", requeued), ("finished", finished_count)):
            if count:
                metrics.incr("reconciler_actions", amount=count, action=action)
    return ReconcileResult(unstuck=unstuck, requeued=requeued, finished=finished_count)
