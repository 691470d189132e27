"""Unsubscribes: the recipient opted out; suppress the address at once."""
from __future__ import annotations

from bounces.models import BounceEvent
from bounces.services import BounceRecordResult, bounce_record
from campaigns.models import Message


def message_unsubscribe(*, message: Message, source: str = BounceEvent.Source.UNSUBSCRIBE,
                        detail: str = "one_click") -> BounceRecordResult:
    """Record the unsubscribe of ``message``'s recipient (idempotent per message, whichever way
    it came: ``detail`` one_click or mailto) and suppress the address: any of its queued
    messages is then skipped at send time."""
    return bounce_record(
        email=message.to_email, source=source, category=BounceEvent.Category.UNSUBSCRIBE,
        dedupe_key=f"unsubscribe:{message.pk}", message=message, reason="unsubscribe", detail=detail,
    )
