"""When to try a failed message again, and when to give up.

Modelled on Postfix's deferred queue: the first retry after LOCKLINE_RETRY_BASE_DELAY (300 s,
Postfix's minimal_backoff_time), doubling per failed attempt, capped at LOCKLINE_RETRY_MAX_DELAY
(4 h, maximal_backoff_time), and given up when the message is older than
LOCKLINE_RETRY_LIFETIME (5 days, maximal_queue_lifetime).

Celery's own ``retry_backoff`` does not fit: it caps at 600 s by default and its "full" jitter
may pick ~0 s, which hammers a server that just said "later". Here jitter is a ± fraction
(LOCKLINE_RETRY_JITTER) around the exponential value, so retries of a batch spread out but never
come early by more than that fraction.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings


def retry_countdown(*, failures: int, rng: random.Random | None = None) -> int:
    """Seconds to wait after the ``failures``-th failed attempt (1 for the first failure)."""
    if failures < 1:
        raise ValueError("failures counts failed attempts and starts at 1")
    base = settings.LOCKLINE_RETRY_BASE_DELAY
    cap = settings.LOCKLINE_RETRY_MAX_DELAY
    # min() before the power would overflow for a large count: stop doubling once past the cap.
    delay = cap if failures > 40 else min(cap, base * 2 ** (failures - 1))
    jitter = settings.LOCKLINE_RETRY_JITTER
    factor = (rng or random).uniform(1 - jitter, 1 + jitter)
    return max(1, round(delay * factor))


def retry_longest_countdown() -> int:
    """The longest countdown ``retry_countdown`` can pick (the broker's visibility timeout must
    exceed it)."""
    return round(settings.LOCKLINE_RETRY_MAX_DELAY * (1 + settings.LOCKLINE_RETRY_JITTER))


def retry_gives_up(*, first_queued_at: datetime, now: datetime, soft_failures: int = 0) -> bool:
    """True once a message has been queued longer than LOCKLINE_RETRY_LIFETIME, or has failed
    softly LOCKLINE_RETRY_MAX_SOFT_FAILURES times (transient failures never count here)."""
    if soft_failures >= settings.LOCKLINE_RETRY_MAX_SOFT_FAILURES:
        return True
    return now - first_queued_at >= timedelta(seconds=settings.LOCKLINE_RETRY_LIFETIME)
