from celery import shared_task


@shared_task(ignore_result=True)
def suppression_expire_due() -> int:
    """Lift suppressions whose expiry passed (persistent-soft suppressions lapse)."""
    from bounces.services import suppression_expire_due as expire

    return expire()
