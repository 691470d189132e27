from __future__ import annotations

import functools
from datetime import timedelta
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import Message
from campaigns.tokens import find_token
from lockline.db import AnyOf, key_share_rows
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


class MessageRef(NamedTuple):
    """The ids an ESP event needs from its message; ``pk`` like a model's."""

    pk: int
    lead_id: int
    campaign_id: int
    prompt_version_id: int
    to_email: str
    esp_message_id: str | None


def message_match_many(
    *,
    lookups: list[tuple[int | None, int | None, str, str]],
    hold: bool = False,
) -> list[MessageRef | None]:
    """``message_match`` for many ESP events in at most three queries; one result per lookup.

    Each lookup is (pk from a verified token, pk claimed by unsigned metadata, ESP message id,
    recipient). Tried in order of certainty: the token's message; the claimed message if it
    was sent to that recipient; the ESP's message id (with or without angle brackets); the
    recipient's most recent message within RECENT_MATCH_WINDOW. Returns MessageRefs (the ids
    a recorded event links to), not Message instances.

    ``hold``: lock every message read, as ``bounces.services.messages_hold_for_link`` does, in
    the reading queries themselves (call inside the transaction that writes the rows naming
    them): a webhook batch then needs no second pass over its messages.
    """
    messages = _message_refs()
    results: list[MessageRef | None] = [None] * len(lookups)
    pks = {pk for token_pk, claimed_pk, _, _ in lookups for pk in (token_pk, claimed_pk) if pk is not None}
    by_pk = {row[0]: MessageRef(*row) for row in _rows(messages.filter(AnyOf("pk", pks)), hold)} if pks else {}
    for i, (token_pk, claimed_pk, _, email) in enumerate(lookups):
        found = by_pk.get(token_pk)
        if found is None and claimed_pk in by_pk and by_pk[claimed_pk].to_email == normalize_email(email):
            found = by_pk[claimed_pk]
        results[i] = found
    # The id as the ESP gives it first (what Anymail stored at send time); the same id with
    # angle brackets added or removed only for the misses.
    for variant in (lambda esp_id: esp_id, _toggle_brackets):
        wanted = {variant(esp_id) for i, (_, _, esp_id, _) in enumerate(lookups) if results[i] is None and esp_id}
        if not wanted:
            break
        by_esp_id = {row[5]: MessageRef(*row) for row in _rows(messages.filter(AnyOf("esp_message_id", wanted)), hold)}
        for i, (_, _, esp_id, _) in enumerate(lookups):
            if results[i] is None and esp_id:
                results[i] = by_esp_id.get(variant(esp_id))
    emails = {normalize_email(email) for i, (_, _, _, email) in enumerate(lookups) if results[i] is None and email}
    if emails:
        latest: dict[str, MessageRef] = {}
        recent = messages.filter(AnyOf("to_email", emails), created_at__gte=timezone.now() - RECENT_MATCH_WINDOW)
        for row in _rows(recent.order_by("to_email", "-created_at"), hold):
            latest.setdefault(row[4], MessageRef(*row))
        for i, (_, _, _, email) in enumerate(lookups):
            if results[i] is None and email:
                results[i] = latest.get(normalize_email(email))
    return results


def _rows(query: QuerySet, hold: bool):
    """The query's rows, held (``key_share_rows``) when the caller asks."""
    return key_share_rows(query) if hold else query


@functools.cache
def _message_refs() -> QuerySet:
    """Messages as MessageRef rows: plain rows, not model instances (a webhook batch matches a
    thousand messages at once). Built once and only ever filtered (a filter is a new queryset):
    setting up a values() query costs more than the lookup of a one-event post."""
    return Message.objects.values_list(*MessageRef._fields).order_by()


def _toggle_brackets(esp_id: str) -> str:
    return esp_id[1:-1] if esp_id.startswith("<") and esp_id.endswith(">") else f"<{esp_id}>"
