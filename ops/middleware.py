"""Guards in front of the endpoints that ESPs and mail gateways post to.

Both run before sessions, CSRF and the view, and only for paths under
``LOCKLINE_WEBHOOK_PATH_PREFIXES`` (``/anymail/``, ``/inbound/``):

- ``BodySizeLimitMiddleware`` refuses an oversize post from its Content-Length with 413 and a
  reason, before anything reads the body (Django would otherwise answer a bare 400, or read
  a multipart upload to disk first).
- ``DatabaseUnavailableMiddleware`` answers 503 with ``Retry-After`` when PostgreSQL cannot be
  reached (a restart, a failover, too many connections), instead of a 500.
- ``RateLimitMiddleware`` answers 429 with ``Retry-After`` once a client's token bucket is
  empty. ESPs treat 429 (like 5xx) as "try again later" and retry with backoff for hours to
  days, so a legitimate burst is delayed, not lost. If Redis is down it lets everything through
  and logs a warning: refusing real bounces would be worse than an unthrottled minute.
"""
from __future__ import annotations

import logging
import re
import time

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.urls import Resolver404, resolve

from lockline import metrics
from ops import ratelimit

logger = logging.getLogger(__name__)

# Anymail's inbound views live under /anymail/<esp>/inbound/ (and mailgun's inbound_mime/).
_ANYMAIL_INBOUND_RE = re.compile(r"^/anymail/[^/]+/inbound")


def endpoint_kind(path: str) -> str | None:
    """``"inbound"`` (mail posted to us), ``"webhook"`` (tracking events) or None (not guarded)."""
    prefixes = settings.LOCKLINE_WEBHOOK_PATH_PREFIXES
    if not any(path.startswith(prefix) for prefix in prefixes):
        return None
    if path.startswith("/inbound/") or _ANYMAIL_INBOUND_RE.match(path):
        return "inbound"
    return "webhook"


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        kind = endpoint_kind(request.path_info)
        if kind is None or request.method not in ("POST", "PUT", "PATCH"):
            return self.get_response(request)
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
            if length < 0:
                raise ValueError(raw)
        except ValueError:
            return _plain(400, f"Bad Request: Content-Length {raw[:32]!r} is not a byte count.")
        limit = settings.LOCKLINE_INBOUND_MAX_BYTES if kind == "inbound" else settings.LOCKLINE_WEBHOOK_MAX_BYTES
        if not request.content_type.startswith("multipart/"):
            # Django caps a non-multipart body (JSON, form fields) at DATA_UPLOAD_MAX_MEMORY_SIZE
            # when the view reads it, with a bare 400: say so here instead.
            limit = min(limit, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or limit)
        if length > limit:
            logger.warning(
                "request body too large",
                extra={"path": request.path_info, "content_length": length, "limit": limit, "endpoint": kind},
            )
            return _plain(413, f"Payload Too Large: {length} bytes exceeds the {limit}-byte limit for {kind} posts.")
        return self.get_response(request)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the address our trusted proxies saw.

    With LOCKLINE_TRUSTED_PROXY_COUNT = n, the n-th X-Forwarded-For entry from the right is the
    one our outermost proxy appended; entries left of it are whatever the client wrote.
    """
    count = settings.LOCKLINE_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-count] if len(hops) >= count else hops[0]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# One warning per this many seconds while Redis is down, not one per request.
_WARN_EVERY = 60.0


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._last_warning = 0.0

    def _bucket(self, request, kind: str) -> str:
        # The route, not the raw path: varying a path under the prefix must not buy new buckets.
        try:
            route = resolve(request.path_info).route or kind
        except Resolver404:
            route = kind
        return f"{client_ip(request)}|{route}"

    def __call__(self, request):
        kind = endpoint_kind(request.path_info)
        if kind is None or not settings.LOCKLINE_RATELIMIT_ENABLED:
            return self.get_response(request)
        try:
            decision = ratelimit.take(
                url=settings.LOCKLINE_RATELIMIT_REDIS_URL,
                key=self._bucket(request, kind),
                rate=settings.LOCKLINE_RATELIMIT_RATE,
                burst=settings.LOCKLINE_RATELIMIT_BURST,
            )
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._last_warning >= _WARN_EVERY:
                self._last_warning = now
                logger.warning("rate limit unavailable, letting requests through", extra={"error": repr(exc)})
            return self.get_response(request)
        if decision.allowed:
            return self.get_response(request)
        metrics.incr("ratelimited", endpoint=kind)
        logger.info(
            "rate limited", extra={"path": request.path_info, "endpoint": kind, "retry_after": decision.retry_after}
        )
        response = _plain(429, f"Too Many Requests: retry after {decision.retry_after} s.")
        response["Retry-After"] = str(decision.retry_after)
        return response


class DatabaseUnavailableMiddleware:
    """503 + Retry-After, not 500, when the database cannot be reached during a post to a
    webhook or inbound endpoint.

    Every ESP retries both, but a 503 with Retry-After says what happened and when to come
    back, and it keeps an outage apart from a bug in monitoring (a 500 still means a bug).
    OperationalError and InterfaceError are what Django raises for a server that is down,
    restarting, refusing connections or dropped the connection mid-request; the request's
    transaction died with it, so nothing of the post was recorded and the retry starts clean.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        kind = endpoint_kind(request.path_info)
        if kind is None or not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        metrics.incr("database_unavailable", endpoint=kind)
        logger.error("database unavailable, post refused for a retry: %s", request.path_info, exc_info=exception)
        retry_after = settings.LOCKLINE_DATABASE_RETRY_AFTER
        response = _plain(503, f"Service Unavailable: the database cannot be reached; nothing was recorded, "
                               f"retry after {retry_after} s.")
        response["Retry-After"] = str(retry_after)
        return response
