"""What sending one message can raise: one base, one subclass per decision the caller makes."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Classification:
    """A delivery failure, classified.

    ``category`` is hard / soft / transient (BounceEvent.Category values); ``reason`` is Sisimai's
    vocabulary (userunknown, mailboxfull, ...); ``detail`` our finer reason (greylisted, ...).
    ``recipient_specific`` is False when no server said anything about this address (we could
    not connect, the ESP's API failed): such failures are retried but not recorded against it.
    ``throttle`` marks a reply that asks us to slow down for the whole recipient domain.
    """

    category: str
    reason: str
    detail: str = ""
    smtp_code: str = ""
    status: str = ""
    diagnostic: str = ""
    recipient_specific: bool = True
    throttle: bool = False
    # A policy or spam block (554 5.7.1): the content or our reputation, not the address.
    blocked: bool = False


class DeliveryError(Exception):
    """Sending one message failed; ``classification`` says how and why."""

    def __init__(self, classification: Classification):
        self.classification = classification
        super().__init__(
            f"{classification.category} {classification.reason}"
            f"{' (' + classification.detail + ')' if classification.detail else ''}: "
            f"{classification.diagnostic or (classification.smtp_code + ' ' + classification.status).strip()}"
        )


class HardBounceError(DeliveryError):
    """The address is dead (550 5.1.1, ...): suppress it, never retry."""


class SoftBounceError(DeliveryError):
    """The mailbox or its server failed (mailbox full, 421 4.3.2, no connection): retry with
    backoff; suppress only if it persists."""


class TransientDeliveryError(DeliveryError):
    """Greylisting, throttling, a policy block: retry (or stop); never counts against the lead."""


class BlockedDeliveryError(TransientDeliveryError):
    """554 5.7.1: refused as spam or by policy. The text or our reputation is the problem, not
    the address: the message fails without retry (the same text would be refused again), the
    lead stays clean, and the campaign is paused once blocks pile up."""


_BY_CATEGORY = {"hard": HardBounceError, "soft": SoftBounceError, "transient": TransientDeliveryError}


def delivery_error(classification: Classification) -> DeliveryError:
    """The exception to raise for a classification."""
    if classification.blocked:
        return BlockedDeliveryError(classification)
    return _BY_CATEGORY[classification.category](classification)
