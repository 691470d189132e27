"""Recipient-domain throttles, shared by every worker through Redis.

A throttle reply (421 4.7.0, 452 4.5.3, 4.7.28) from one domain means "slow down" for every
message to it, not just the one that drew it. ``throttle_note`` sets a minimum interval between
sends to the domain (doubling on each further throttle reply, up to
LOCKLINE_THROTTLE_MAX_INTERVAL) that lapses after LOCKLINE_THROTTLE_COOLDOWN seconds without
one. ``throttle_acquire`` takes the domain's next send slot or says how long to wait for it.

Both run as Lua scripts, so the read-modify-write is atomic across workers, and use Redis's
clock, so workers on hosts with skewed clocks (or frozen in tests) agree.

Almost every send goes to a domain that is not throttled, so ``throttle_acquire`` asks Redis
only about domains in the set of throttled domains (``lockline:throttle:domains``), which each
process reads at most every LOCKLINE_THROTTLE_REFRESH seconds (one round trip per second
instead of one per message). A throttle noted by another worker therefore takes effect here
within that interval; one noted by this process at once.
"""
from __future__ import annotations

import functools
import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS: interval key, next-slot key. Returns milliseconds to wait (0: go, the slot is taken).
_ACQUIRE = """
local interval = tonumber(redis.call('GET', KEYS[1]) or '0')
if interval <= 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = tonumber(redis.call('GET', KEYS[2]) or '0')
if slot > now then return slot - now end
redis.call('SET', KEYS[2], now + interval, 'PX', interval + 60000)
return 0
"""

# KEYS: interval key, next-slot key, throttled-domains set. ARGV: initial ms, max ms, cooldown
# ms, domain. Returns the new interval. The set's scores are expiry times; lapsed entries go.
_NOTE = """
local interval = tonumber(redis.call('GET', KEYS[1]) or '0')
interval = math.min(tonumber(ARGV[2]), math.max(tonumber(ARGV[1]), interval * 2))
redis.call('SET', KEYS[1], interval, 'PX', tonumber(ARGV[3]))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[2], now + interval, 'PX', interval + 60000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[4])
return interval
"""
_DOMAINS_KEY = "lockline:throttle:domains"


@functools.cache
def _redis() -> redis.Redis:
    # One pool per process; redis-py resets it in a forked child (it checks the pid).
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def _keys(domain: str) -> list[str]:
    domain = domain.lower()
    return [f"lockline:throttle:{domain}:interval", f"lockline:throttle:{domain}:slot"]


# This process's copy of the throttled-domains set, and when to read it again (monotonic s).
_throttled = {"domains": frozenset(), "refresh_at": 0.0}


def _maybe_throttled(domain: str) -> bool:
    now = time.monotonic()
    if now >= _throttled["refresh_at"]:
        members = _redis().zrange(_DOMAINS_KEY, 0, -1)
        _throttled.update(domains=frozenset(m.decode() for m in members),
                          refresh_at=now + settings.LOCKLINE_THROTTLE_REFRESH)
    return domain in _throttled["domains"]


def throttle_acquire(*, domain: str) -> float:
    """Take the domain's send slot: 0.0 means send now; otherwise the seconds to wait.

    Without a reachable Redis (the demo on a laptop with only Python) there are no shared
    throttles: sends go ahead and a warning is logged, rather than no mail going out at all.
    """
    domain = domain.lower()
    try:
        if not _maybe_throttled(domain):
            return 0.0
        return int(_redis().eval(_ACQUIRE, 2, *_keys(domain))) / 1000
    except redis.ConnectionError as exc:
        logger.warning("recipient-domain throttles are off, Redis is unreachable: %s", exc)
        return 0.0


def throttle_note(*, domain: str) -> float:
    """Record a throttle reply from ``domain``; returns the interval (s) now between its sends."""
    domain = domain.lower()
    try:
        interval_ms = _redis().eval(
            _NOTE,
            3,
            *_keys(domain),
            _DOMAINS_KEY,
            int(settings.LOCKLINE_THROTTLE_INITIAL_INTERVAL * 1000),
            int(settings.LOCKLINE_THROTTLE_MAX_INTERVAL * 1000),
            int(settings.LOCKLINE_THROTTLE_COOLDOWN * 1000),
            domain,
        )
    except redis.ConnectionError as exc:
        logger.warning("throttle reply from %s not shared, Redis is unreachable: %s", domain, exc)
        return 0.0
    _throttled["domains"] = _throttled["domains"] | {domain}
    return int(interval_ms) / 1000


def throttle_clear(*, domain: str) -> None:
    """Forget a domain's throttle (staff action; tests)."""
    domain = domain.lower()
    client = _redis()
    client.delete(*_keys(domain))
    client.zrem(_DOMAINS_KEY, domain)
