"""Operational counters in Redis, shared by every web and worker process.

``incr("bounces", category="hard")`` adds to a counter; ``/metrics`` renders them all in
Prometheus' text format. Counters are for watching rates, not for accounting: the database is
the source of truth (``ops.selectors`` derives the same totals from it), and a counter update
that fails because Redis is down is logged and dropped, never raised into a send or a bounce.

Names in use (call sites pass these, so operators can rely on them):

- ``sends`` (``outcome=sent|deferred|failed|bounced|suppressed``)
- ``bounces`` (``category=hard|soft|transient|complaint|unsubscribe``, ``source=...``)
- ``retries_scheduled`` (``reason=...``)
- ``suppressions`` (``reason=hard_bounce|persistent_soft|complaint|unsubscribe|manual``)
- ``reconciler_actions`` (``action=requeued|released|...``)
- ``ratelimited`` (``endpoint=...``)
"""
from __future__ import annotations

import logging
import re
import time
from functools import lru_cache

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from django.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "lockline:metrics:"
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
# One warning per this many seconds while Redis is down, not one per counter update.
_WARN_EVERY = 60.0
_last_warning = 0.0


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts: a counter must never hold up a send for long when Redis is unhealthy.
    # One immediate retry: after a Redis restart the pooled connection is dead and the retry
    # reconnects; more retries with backoff would only stretch an outage into every request.
    return redis.Redis.from_url(
        url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 1)
    )


def client() -> redis.Redis:
    return _client(settings.LOCKLINE_METRICS_REDIS_URL)


def _labels_field(labels: dict[str, object]) -> str:
    # "," and "=" separate labels in the stored field; they cannot appear inside a value.
    clean = {key: str(value).replace(",", "_").replace("=", "_") for key, value in labels.items()}
    return ",".join(f"{key}={clean[key]}" for key in sorted(clean))


def _warn(action: str, exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        logger.warning("metrics unavailable: %s failed", action, extra={"error": repr(exc)})


def incr(name: str, amount: int = 1, **labels: object) -> None:
    """Add ``amount`` to counter ``name`` with these labels. Never raises on a Redis failure.

    Raises ValueError for a malformed name or label (a programming error, found in tests).
    """
    incr_many(name, [(amount, labels)])


def incr_many(name: str, updates: list[tuple[int, dict[str, object]]]) -> None:
    """``incr(name, amount, **labels)`` for each ``(amount, labels)``, in one Redis round trip
    (a webhook batch counts its bounces by category and source, its suppressions by reason)."""
    for _, labels in updates:
        if not all(_NAME_RE.match(key) for key in (name, *labels)):
            raise ValueError(f"Metric and label names must be snake_case: {name} {sorted(labels)}")
    fields = [(_labels_field(labels), amount) for amount, labels in updates]
    if not fields:
        return
    try:
        if len(fields) == 1:
            client().hincrby(KEY_PREFIX + name, *fields[0])
            return
        pipeline = client().pipeline(transaction=False)
        for field, amount in fields:
            pipeline.hincrby(KEY_PREFIX + name, field, amount)
        pipeline.execute()
    except redis.RedisError as exc:
        _warn(f"incr {name}", exc)


def snapshot() -> dict[str, dict[tuple[tuple[str, str], ...], int]]:
    """Every counter: ``{name: {((label, value), ...): count}}``. Empty if Redis is down."""
    counters: dict[str, dict[tuple[tuple[str, str], ...], int]] = {}
    try:
        redis_client = client()
        for key in redis_client.scan_iter(match=KEY_PREFIX + "*", count=100):
            name = key.decode().removeprefix(KEY_PREFIX)
            values = {}
            for field, count in redis_client.hgetall(key).items():
                pairs = tuple(
                    tuple(item.split("=", 1)) for item in field.decode().split(",") if item
                )
                values[pairs] = int(count)
            counters[name] = values
    except redis.RedisError as exc:
        _warn("snapshot", exc)
    return counters


def reset() -> None:
    """Delete every counter (tests, or an operator starting a fresh measurement)."""
    redis_client = client()
    keys = list(redis_client.scan_iter(match=KEY_PREFIX + "*", count=100))
    if keys:
        redis_client.delete(*keys)
