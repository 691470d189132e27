"""A token bucket in Redis, shared by every web process and machine.

One Lua script reads, refills and takes from the bucket atomically, on Redis' own clock (so web
machines with skewed clocks agree). Refill is continuous: ``rate`` tokens per second up to
``burst``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

KEY_PREFIX = "lockline:ratelimit:"

_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
-- A bucket left alone refills completely in burst/rate seconds; after that it can go.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # whole seconds to wait before a retry can succeed (0 when allowed)


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts: when Redis is slow the limiter steps aside rather than slowing webhooks.
    # One immediate retry: after a Redis restart the pooled connection is dead and the retry
    # reconnects; more retries with backoff would only stretch an outage into every request.
    return redis.Redis.from_url(
        url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 1)
    )


@lru_cache(maxsize=4)
def _script(url: str):
    return _client(url).register_script(_TAKE)


def take(*, url: str, key: str, rate: float, burst: int) -> Decision:
    """Take one token from bucket ``key``. Raises redis.RedisError if Redis cannot answer."""
    allowed, wait = _script(url)(keys=[KEY_PREFIX + key], args=[rate, burst])
    if int(allowed):
        return Decision(True, 0)
    return Decision(False, max(1, math.ceil(float(wait))))
