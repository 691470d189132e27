"""Reachability checks for the components a Lockline process depends on.

Each check returns a ``CheckResult`` and never raises: a health endpoint that errors is a health
endpoint that lies. Error details (host names, ports) go to the log, not to the caller.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

# Each probe must answer well inside a load balancer's check timeout (typically 5 s).
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    ms: float
    error: str = ""  # the exception's class name: enough to act on, nothing to exploit

    def as_dict(self) -> dict:
        data = {"ok": self.ok, "ms": round(self.ms, 1)}
        if self.error:
            data["error"] = self.error
        return data


def _timed(component: str, probe) -> CheckResult:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # any failure means "not reachable"; the class name says which
        logger.warning("health check failed", extra={"component": component, "error": repr(exc)})
        return CheckResult(False, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return CheckResult(True, (time.perf_counter() - started) * 1000)


def check_database() -> CheckResult:
    def probe():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            # A broken persistent connection (PostgreSQL bounced) must not stay cached.
            connection.close()
            raise

    return _timed("database", probe)


def _ping_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def check_broker() -> CheckResult:
    url = settings.CELERY_BROKER_URL

    def probe():
        if url.startswith(("redis://", "rediss://")):
            _ping_redis(url)
        elif url.startswith("filesystem"):
            folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            if not folder.is_dir():
                raise FileNotFoundError("broker folder missing")
        else:
            from lockline.celery import app

            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT)

    return _timed("broker", probe)


def check_redis() -> CheckResult:
    return _timed("redis", lambda: _ping_redis(settings.REDIS_URL))
