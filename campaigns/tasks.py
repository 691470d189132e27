"""Sending tasks: thin, ids only; the services in campaigns.delivery hold the rules."""
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError


# Both send tasks: a database blip before a claim commits is retried soon (nothing was sent);
# acks_late because a send is idempotent; no per-task monitoring events (3 extra broker writes
# per task): the Message row is the record of every send.
_SEND_TASK_OPTIONS = dict(
    bind=True, acks_late=True, ignore_result=True, send_events=False,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, retry_jitter=True,
    retry_kwargs={"max_retries": 5},
)


# The delivery schedule's own retries go through self.retry with the policy's countdown, unlimited.
@shared_task(max_retries=None, **_SEND_TASK_OPTIONS)
def message_send(self, message_id: int) -> None:
    """Send one message (idempotent: acks_late is safe). Retries with the countdown the retry
    policy or the domain throttle chose; the row's next_attempt_at backs it up if the broker
    loses the retry."""
    from campaigns.delivery.send import message_send as send

    outcome = send(message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, exc=outcome.error, max_retries=None)


@shared_task(**_SEND_TASK_OPTIONS)
def message_send_many(self, message_ids: list[int]) -> None:
    """Send a chunk of messages one after another, each exactly as ``message_send`` does (its own
    claim, suppression re-check, send and record), over the worker process's one SMTP/ESP
    connection. A message that must run again later gets its own ``message_send`` task with the
    countdown, published as soon as its outcome is known.

    Idempotent like ``message_send``: a redelivered or retried chunk skips the messages it
    already sent. After LOCKLINE_SEND_BATCH_BUDGET seconds no further message is started; the
    rest go back to the queue as a new chunk, so a slow server cannot push a chunk past the
    task's time limit.
    """
    from campaigns.delivery.send import messages_send

    def retry(message_id: int, countdown: int) -> None:
        message_send.apply_async((message_id,), countdown=countdown)

    remaining = messages_send(message_ids=message_ids, budget=settings.LOCKLINE_SEND_BATCH_BUDGET, retry=retry)
    if remaining:
        message_send_many.apply_async((remaining,))


@shared_task(ignore_result=True)
def message_dispatch(message_ids: list[int]) -> None:
    """Publish send tasks for these ids (a launch hands over its messages in chunks)."""
    from campaigns.delivery.reconcile import message_publish

    message_publish(message_ids=message_ids)


@shared_task(ignore_result=True)
def message_reconcile() -> None:
    """Beat: unstick, re-publish lost messages, finish campaigns."""
    from campaigns.delivery.reconcile import message_reconcile as reconcile

    reconcile()
