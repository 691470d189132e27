"""Fixtures and helpers for the hardening tests (health, metrics, rate limits, logging)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings

from lockline import metrics
from ops import ratelimit

ROOT = Path(__file__).resolve().parent.parent


def closed_port_url(scheme: str) -> str:
    """A URL on 127.0.0.1 where nothing listens: a server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{scheme}://postgres@127.0.0.1:{port}/lockline" if scheme == "postgres" else f"{scheme}://127.0.0.1:{port}/0"


@pytest.fixture
def clean_redis():
    """The test Redis DB without our counters and buckets; yields a client for it."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for prefix in (metrics.KEY_PREFIX, ratelimit.KEY_PREFIX):
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    yield client
    client.close()


# What a settings test must not inherit from the test run's own environment.
_DEPLOYMENT_VARIABLES = ("DATABASE_URL", "CELERY_", "ANYMAIL_", "WEBHOOK_SECRET", "SECRET_KEY", "DEBUG")


def run_django(code: str, env: dict[str, str], timeout: float = 60, *,
               isolated: bool = False) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Django process with ``env`` over the current environment.

    ``isolated``: drop the deployment variables first (and keep SQLite files out of the tree),
    so the process sees only what ``env`` sets, as on a fresh machine.
    """
    base = dict(os.environ)
    if isolated:
        base = {k: v for k, v in base.items() if not k.startswith(_DEPLOYMENT_VARIABLES)}
        base["LOCKLINE_VAR_DIR"] = "/tmp/lockline-settings-test"
    full = {**base, "DJANGO_SETTINGS_MODULE": "lockline.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout,
    )
