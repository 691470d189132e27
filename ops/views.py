"""Operator endpoints: ``/healthz`` for probes and dashboards, ``/metrics`` for Prometheus."""
from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from lockline import metrics
from ops import health, prometheus
from ops.selectors import ops_counts

logger = logging.getLogger(__name__)

# Components whose failure makes this process unable to do its job (503). Redis only holds
# throttles, rate limits and counters, which fail open: reported, not fatal.
CRITICAL = ("database", "broker")


def _authorised(request) -> bool:
    """Staff with a session, or a caller presenting ``Authorization: Bearer <METRICS_TOKEN>``."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    return bool(token) and header.startswith("Bearer ") and hmac.compare_digest(
        header.removeprefix("Bearer ").strip().encode(), token.encode()
    )


@never_cache
@require_safe
def healthz(request):
    """200 when the database and the broker answer, else 503 naming the failing components.

    The body also carries aggregate counts (no personal data) unless ``?counts=0``; probes that
    run every few seconds should pass it, as the counts scan tables.
    """
    checks = {
        "database": health.check_database(),
        "broker": health.check_broker(),
        "redis": health.check_redis(),
    }
    want_counts = request.GET.get("counts", "1") != "0"
    counts = None
    if want_counts and checks["database"].ok:
        try:
            counts = ops_counts()
        except DatabaseError as exc:
            # Reachable but unable to answer our queries (migrations not applied, a lock): as
            # unusable as down.
            logger.warning("health counts failed", extra={"error": repr(exc)})
            checks["database"] = health.CheckResult(False, checks["database"].ms, type(exc).__name__)
    failing = [name for name in CRITICAL if not checks[name].ok]
    body = {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checks": {name: result.as_dict() for name, result in checks.items()},
    }
    if counts is not None:
        body["counts"] = counts
    if want_counts and checks["redis"].ok:
        body["counters"] = {
            name: {",".join(f"{k}={v}" for k, v in pairs) or "total": n for pairs, n in values.items()}
            for name, values in metrics.snapshot().items()
        }
    return JsonResponse(body, status=503 if failing else 200)


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus text format; staff or the METRICS_TOKEN bearer only (403 otherwise)."""
    if not _authorised(request):
        return HttpResponse("Forbidden: staff login or a METRICS_TOKEN bearer is required.\n",
                            status=403, content_type="text/plain")
    counts = ops_counts() if health.check_database().ok else None
    text = prometheus.render(counts=counts, counters=metrics.snapshot())
    return HttpResponse(text, content_type="text/plain; version=0.0.4; charset=utf-8")
