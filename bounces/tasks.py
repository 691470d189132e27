from celery import shared_task


@shared_task(ignore_result=True)
def suppression_expire_due() -> int:
    """Lift suppressions whose expiry passed (persistent-soft suppressions lapse)."""
    from bounces.services import suppression_expire_due as expire

    return expire()


@shared_task(ignore_result=True, acks_late=True)
def bounce_mailbox_poll() -> int:
    """Ingest new mail from the configured bounce mailboxes (BOUNCE_IMAP_URL, BOUNCE_MAILDIR).

    acks_late is safe: ingestion is idempotent per message, and a message is marked read only
    after it is stored.
    """
    from bounces.mailboxes import poll_configured_mailboxes

    return poll_configured_mailboxes()
