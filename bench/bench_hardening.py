"""What the hardening costs: webhook guards per post, redaction per log line.

Targets (the machine is small and noisy; ratios are what we compare):
- guards (size check + Redis token bucket) add under 1 ms to a webhook post;
- redaction adds under 50 µs to a structured log line (against the same JSON line without the
  redacting filter, measured in the same run: what a line costs without it depends on the
  machine; on a slow one the plain line alone takes longer than 50 µs).

Run with `make bench` (uses TEST_REDIS_URL). Prints medians over ROUNDS rounds.
"""
from __future__ import annotations

import io
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lockline.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.http import HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from lockline.logging import JsonFormatter, RedactFilter  # noqa: E402

ROUNDS = 7
POSTS = 400
LINES = 5000


@csrf_exempt
def tracking(request):
    return HttpResponse(str(len(request.body)))


urlpatterns = [path("anymail/bench/tracking/", tracking)]
PAYLOAD = json.dumps([{"event": "bounce", "email": f"lead{i}@example.com", "reason": "550 5.1.1"} for i in range(20)])


UNGUARDED = {"LOCKLINE_WEBHOOK_PATH_PREFIXES": [], "LOCKLINE_RATELIMIT_ENABLED": False}
GUARDED = {"LOCKLINE_RATELIMIT_BURST": 10**9, "LOCKLINE_RATELIMIT_RATE": 10**6}


def time_round(overrides: dict) -> float:
    """µs per webhook post through the full middleware stack, one round."""
    with override_settings(ROOT_URLCONF=__name__, **overrides):
        client = Client()
        started = time.perf_counter()
        for _ in range(POSTS):
            response = client.post("/anymail/bench/tracking/", PAYLOAD, content_type="application/json",
                                   REMOTE_ADDR="198.51.100.7")
            assert response.status_code == 200, response.status_code
        return (time.perf_counter() - started) / POSTS * 1e6


def time_posts() -> tuple[float, float]:
    """Medians (unguarded, guarded); rounds alternate so drift on a shared machine hits both."""
    unguarded, guarded = [], []
    for _ in range(ROUNDS):
        unguarded.append(time_round(UNGUARDED))
        guarded.append(time_round(GUARDED))
    return statistics.median(unguarded), statistics.median(guarded)


def time_lines(with_filter: bool) -> float:
    """Median µs per INFO line (an address, a body field, ids) formatted as JSON."""
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())
    if with_filter:
        handler.addFilter(RedactFilter())
    logger = logging.getLogger(f"bench.{with_filter}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for i in range(LINES):
            logger.info("sent to %s", f"lead{i}@example.com",
                        extra={"message_id": i, "campaign_id": 3, "prompt_version_id": 2, "body": "Hi there\nBye"})
        samples.append((time.perf_counter() - started) / LINES * 1e6)
    return statistics.median(samples)


def main() -> None:
    unguarded, guarded = time_posts()
    print(f"webhook post, guards off (baseline): {unguarded:8.1f} µs (median of {ROUNDS}x{POSTS})")
    print(f"webhook post, guards on:             {guarded:8.1f} µs  ratio {guarded / unguarded:.2f}, "
          f"+{guarded - unguarded:.0f} µs (target < 1000 µs)")
    plain = time_lines(with_filter=False)
    redacted = time_lines(with_filter=True)
    print(f"log line, JSON, no filter (baseline): {plain:7.1f} µs (median of {ROUNDS}x{LINES})")
    print(f"log line, JSON, redacted:             {redacted:7.1f} µs  ratio {redacted / plain:.2f}, "
          f"+{redacted - plain:.0f} µs (target: redaction adds < 50 µs)")


if __name__ == "__main__":
    main()
