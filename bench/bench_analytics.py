"""Analytics aggregates in SQL versus counting rows in Python (the baseline), same data, same run.

Builds a history in its own throw-away database (20,000 sent messages, their bounces and
engagement), then times `metrics_by("prompt_version")` and `metrics_by("day", "prompt_version")`
against a Python loop that streams the same rows and counts them in dictionaries. Prints the
median of several rounds and the ratio baseline / Lockline (higher is better).

Run: make bench  (or DATABASE_URL=postgres://... python bench/bench_analytics.py)
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lockline.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", 20000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))


def build():
    from bounces.models import BounceEvent, EngagementEvent
    from campaigns.models import Campaign, Message, PromptVersion
    from leads.models import Lead

    rng = random.Random(1)
    now = timezone.now()
    versions = [PromptVersion.objects.create(name=f"bench-{i}", prompt="p") for i in range(4)]
    campaigns = [Campaign.objects.create(name=f"bench {i}", prompt_version=versions[i], sender_email="s@bench.test")
                 for i in range(4)]
    leads = Lead.objects.bulk_create(
        [Lead(email=f"b{i}@d{i % 50}.test", domain=f"d{i % 50}.test") for i in range(MESSAGES)], batch_size=5000
    )
    messages = Message.objects.bulk_create([
        Message(campaign=campaigns[i % 4], prompt_version=versions[i % 4], lead=lead, to_email=lead.email,
                subject="s", body="b", state="sent", sent_at=now - timedelta(hours=rng.uniform(0, 720)))
        for i, lead in enumerate(leads)
    ], batch_size=5000)
    bounces, engagement = [], []
    for i, m in enumerate(messages):
        roll = rng.random()
        if roll < 0.08:
            category = rng.choice(["hard", "soft", "transient", "complaint"])
            bounces.append(BounceEvent(
                message=m, lead_id=m.lead_id, campaign_id=m.campaign_id, prompt_version_id=m.prompt_version_id,
                email=m.to_email, recipient_domain=m.to_email.rpartition("@")[2], source="dsn", category=category,
                reason=rng.choice(["userunknown", "spamdetected", "mailboxfull"]), status="5.1.1",
                dedupe_key=f"bench:{i}", occurred_at=m.sent_at))
        else:
            for kind in ["delivered"] + (["opened"] if roll > 0.6 else []) + (["clicked"] if roll > 0.9 else []):
                engagement.append(EngagementEvent(
                    message=m, lead_id=m.lead_id, campaign_id=m.campaign_id, prompt_version_id=m.prompt_version_id,
                    email=m.to_email, event_type=kind, dedupe_key=f"bench:{i}:{kind}", occurred_at=m.sent_at))
    BounceEvent.objects.bulk_create(bounces, batch_size=5000)
    EngagementEvent.objects.bulk_create(engagement, batch_size=5000)
    return len(bounces), len(engagement)


def python_baseline(by_day: bool):
    """What a naive report does: stream every row and count it in Python."""
    from bounces.models import BounceEvent, EngagementEvent
    from campaigns.models import Message

    counts = Counter()
    for version, sent_at in Message.objects.filter(sent_at__isnull=False).values_list("prompt_version_id", "sent_at").iterator():
        counts[(sent_at.date() if by_day else None, version, "sends")] += 1
    for version, at, category in BounceEvent.objects.values_list("prompt_version_id", "occurred_at", "category").iterator():
        counts[(at.date() if by_day else None, version, category)] += 1
    seen = set()
    for version, at, kind, message in EngagementEvent.objects.values_list(
        "prompt_version_id", "occurred_at", "event_type", "message_id"
    ).iterator():
        key = (at.date() if by_day else None, version, kind)
        if (key, message) not in seen:
            seen.add((key, message))
            counts[key] += 1
    return counts


def median_time(fn, rounds=ROUNDS):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    from analytics.aggregates import metrics_by

    name = settings.DATABASES["default"]["NAME"]
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"{name}_bench_analytics"
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        bounces, engagement = build()
        print(f"data: {MESSAGES} sent messages, {bounces} bounce events, {engagement} engagement events; "
              f"{ROUNDS} rounds, medians")
        for label, dims, by_day in (("per prompt version", ("prompt_version",), False),
                                    ("per day and prompt version", ("day", "prompt_version"), True)):
            sql = median_time(lambda: metrics_by(*dims))
            loop = median_time(lambda: python_baseline(by_day))
            print(f"{label:>28}: lockline SQL {sql * 1000:8.1f} ms | python loop {loop * 1000:8.1f} ms | "
                  f"ratio {loop / sql:5.1f}x")
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


if __name__ == "__main__":
    main()
