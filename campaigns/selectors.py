from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from campaigns.models import Message
from campaigns.tokens import find_token
from leads.models import normalize_email

# A bounce that names only its recipient is matched to their latest message this recent.
RECENT_MATCH_WINDOW = timedelta(days=30)


def message_match(
    *,
    token: str | None = None,
    message_id: str | None = None,
    esp_message_id: str | None = None,
    email: str | None = None,
) -> Message | None:
    """The Message a bounce or ESP event is about, or None.

    Tried in order of certainty: our signed token (correlation header, VERP Return-Path or our
    Message-ID), our Message-ID as stored, the ESP's message id, then the recipient's most
    recent message within RECENT_MATCH_WINDOW.
    """
    messages = Message.objects.select_related("lead", "campaign", "prompt_version")
    for text in (token, message_id):
        pk = find_token(text or "")
        if pk is not None:
            found = messages.filter(pk=pk).first()
            if found:
                return found
    if message_id:
        found = messages.filter(message_id=message_id.strip().strip("<>")).first()
        if found:
            return found
    if esp_message_id:
        found = messages.filter(esp_message_id=esp_message_id).first()
        if found:
            return found
    if email:
        since = timezone.now() - RECENT_MATCH_WINDOW
        return (
            messages.filter(to_email=normalize_email(email), created_at__gte=since)
            .order_by("-created_at")
            .first()
        )
    return None
