"""Sending tasks: thin, ids only; the services in campaigns.delivery hold the rules."""
from celery import shared_task
from django.db import InterfaceError, OperationalError


# A database blip before the claim commits is retried soon (nothing was sent); the delivery
# schedule's own retries go through self.retry with the policy's countdown.
@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, retry_jitter=True,
             retry_kwargs={"max_retries": 5},
             # No per-task monitoring events (3 extra broker writes per message): the Message row
             # is the record of every send.
             send_events=False)
def message_send(self, message_id: int) -> None:
    """Send one message (idempotent: acks_late is safe). Retries with the countdown the retry
    policy or the domain throttle chose; the row's next_attempt_at backs it up if the broker
    loses the retry."""
    from campaigns.delivery.send import message_send as send

    outcome = send(message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, exc=outcome.error, max_retries=None)


@shared_task(ignore_result=True)
def message_dispatch(message_ids: list[int]) -> None:
    """Publish a send task for each id (a launch hands over its messages in chunks)."""
    from campaigns.delivery.reconcile import message_publish

    message_publish(message_ids=message_ids)


@shared_task(ignore_result=True)
def message_reconcile() -> None:
    """Beat: unstick, re-publish lost messages, finish campaigns."""
    from campaigns.delivery.reconcile import message_reconcile as reconcile

    reconcile()
