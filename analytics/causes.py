"""Who a bounce counts against: the address (and the list it came from) or the content.

A dead address (userunknown, hostunknown, hasmoved) says nothing about the message: it counts
against the lead and its source list. A refused message (spam filters, content or policy
rejections, 5.7.x blocks, SES ContentRejected) says nothing about the address: it counts against
the prompt version that wrote it and the domain that sent it, never against the lead.

Both are SQL conditions on BounceEvent (``Q`` objects), so every report can count them in the
database. ``prefix`` lets a caller apply them through a relation (``"bounce_event__"``).
"""
from __future__ import annotations

from django.db.models import Q

# Sisimai reasons that mean the recipient address itself does not work.
ADDRESS_REASONS = ("userunknown", "hostunknown", "hasmoved", "notaccept", "suspend", "norelaying")
# Sisimai reasons that mean the receiving side refused this message, whatever the address.
CONTENT_REASONS = ("spamdetected", "contenterror", "policyviolation", "blocked", "rejected", "virusdetected")
# What ESPs call a content refusal in their own vocabulary (SES bounceSubType, ...).
CONTENT_ESP_TYPES = ("ContentRejected", "MessageRejected", "Suppressed-Content")


def content_caused(prefix: str = "") -> Q:
    """Refused for what the message said or where it came from (counts against content)."""
    return (
        Q(**{f"{prefix}reason__in": CONTENT_REASONS})
        | Q(**{f"{prefix}status__startswith": "5.7."})
        | Q(**{f"{prefix}esp_event_type__in": CONTENT_ESP_TYPES})
    ) & Q(**{f"{prefix}category__in": ("hard", "soft", "transient")})


def address_caused(prefix: str = "") -> Q:
    """The address is dead (counts against the lead and its source list), and not a refusal."""
    return Q(**{f"{prefix}reason__in": ADDRESS_REASONS}) & ~content_caused(prefix)
