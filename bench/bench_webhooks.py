"""ESP webhook ingest: Lockline's batched path against one ORM save per event, same run.

Lockline's path is the real one: a SendGrid-style POST through Django's test client (URL
routing, basic auth, Anymail's parser, our classification, message matching, one upsert per
table, the suppression policy). The naive path parses the same body with Anymail's own view
and writes each event with one plain ``Model.save()`` (autocommit, one transaction per event):
"Anymail plus one ORM save per event". Every round uses new events for new addresses, so both
paths insert (no redelivery short-cuts). Prints medians over the rounds and the ratios.

Uses its own database (<DATABASE_URL's name>_bench_hooks), created empty and migrated at
the start of every run (so runs compare), and left behind for a look afterwards.
Targets (issue 5): batched >= 6x the naive events/s; a 1,000-event batch under 500 ms median.
"""
from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import time
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "11"))
BATCH = 1000
SINGLES = 200
SECRET = "bench:fake-webhook-secret"  # a benchmark's own credentials, never deployed

base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lockline")
parts = urlsplit(base_url)
bench_db = parts.path.strip("/") + "_bench_hooks"
os.environ.update(
    DATABASE_URL=urlunsplit(parts._replace(path="/" + bench_db)),
    DEBUG="0",  # production settings: no query log, no debug wrappers
    SECRET_KEY="bench-" + "k" * 60,
    WEBHOOK_SECRET=SECRET,
    ALLOWED_HOSTS="testserver,127.0.0.1",
    SECURE_SSL_REDIRECT="0",
    LOG_LEVEL="WARNING",
    CONN_MAX_AGE="600",
    # This bench measures ingest; the rate limiter in front of it has its own bench
    # (bench_hardening.py), and 1,400 posts a round from one client would trip it.
    LOCKLINE_RATELIMIT_ENABLED="0",
)


def fresh_database() -> None:
    """An empty database for every run: one that kept the rows of earlier runs grew past the
    server's buffers run after run, and each run measured a different (slower) database."""
    import psycopg2

    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{bench_db}"')
    admin.close()


fresh_database()
import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lockline.settings")
django.setup()
warnings.simplefilter("ignore")

from anymail.signals import tracking  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import include, path  # noqa: E402

import lockline.urls as root_urls  # noqa: E402
from bounces.receivers import tracking_event_received  # noqa: E402

from bounces.models import BounceEvent, EngagementEvent  # noqa: E402
from campaigns.models import Campaign, Message, PromptVersion  # noqa: E402
from campaigns.tokens import message_token  # noqa: E402
from leads.models import Lead  # noqa: E402
from lockline.heap import freeze_startup_heap  # noqa: E402

AUTH = "Basic " + base64.b64encode(SECRET.encode()).decode()
# A SendGrid day in proportion: mostly processing, deliveries and engagement, some failures.
MIX = (["processed"] * 20 + ["delivered"] * 30 + ["open"] * 20 + ["click"] * 10 + ["deferred"] * 8
       + ["bounce"] * 5 + ["blocked"] * 2 + ["dropped"] * 2 + ["spamreport"] * 1 + ["unsubscribe"] * 2)


def prepare(run: str, count: int) -> list[str]:
    """Leads and sent messages for ``count`` new addresses. Returns the addresses; the
    messages' ids are in MESSAGE_IDS (Lockline's sends carry them as Anymail metadata)."""
    prompt = PromptVersion.objects.create(name=f"bench-{run}", prompt="p")
    campaign = Campaign.objects.create(name=f"bench {run}", prompt_version=prompt, sender_email="b@lockline.test")
    emails = [f"{run}-{i}@bench.example" for i in range(count)]
    leads = Lead.objects.bulk_create([Lead(email=e, domain="bench.example") for e in emails], batch_size=2000)
    messages = Message.objects.bulk_create([
        Message(campaign=campaign, lead=lead, prompt_version=prompt, to_email=lead.email, subject="s", body="b",
                state="sent", esp_message_id=f"<{lead.email}-sg>") for lead in leads
    ], batch_size=2000)
    MESSAGE_IDS.update((m.to_email, m.pk) for m in messages)
    return emails


MESSAGE_IDS: dict[str, int] = {}


def sendgrid_events(emails: list[str]) -> list[dict]:
    now = int(time.time())
    events = []
    for i, email in enumerate(emails):
        kind = MIX[i % len(MIX)]
        event = {"email": email, "timestamp": now, "sg_event_id": uuid.uuid4().hex, "smtp-id": f"<{email}-sg>",
                 "sg_message_id": f"{email}.filter0001", "category": ["bench"]}
        if email in MESSAGE_IDS:  # SendGrid returns Anymail metadata as top-level custom args
            pk = MESSAGE_IDS[email]
            event.update(lockline_message_id=str(pk), lockline_token=message_token(pk))
        if kind == "bounce":
            event.update(event="bounce", type="bounce", status="5.1.1", reason="550 5.1.1 user unknown")
        elif kind == "blocked":
            event.update(event="bounce", type="blocked", status="5.7.1", reason="550 5.7.1 blocked")
        elif kind == "dropped":
            event.update(event="dropped", reason="Bounced Address", status="5.0.0")
        elif kind == "deferred":
            event.update(event="deferred", response="421 4.7.0 try later", attempt="1")
        elif kind == "delivered":
            event.update(event="delivered", response="250 OK")
        elif kind == "open":
            event.update(event="open", useragent="Mozilla/5.0", ip="192.0.2.1")
        elif kind == "click":
            event.update(event="click", url="https://lockline.test/x", useragent="Mozilla/5.0")
        else:
            event.update(event=kind)
        events.append(event)
    return events


def timed_post(client: Client, path: str, events: list[dict]) -> float:
    """Seconds for one authenticated POST of ``events`` (the body is encoded before the clock starts)."""
    body = json.dumps(events)
    start = time.perf_counter()
    response = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=AUTH)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.content
    return elapsed


def lockline_post(client: Client, events: list[dict]) -> float:
    return timed_post(client, "/anymail/sendgrid/tracking/", events)


NAIVE_CATEGORY = {"bounced": "hard", "rejected": "hard", "deferred": "transient", "complained": "complaint",
                  "unsubscribed": "unsubscribe"}


def naive_receiver(sender, event, esp_name, **kwargs):
    """What a receiver without batching does: one plain ORM save per event (autocommit)."""
    if event.event_type in ("delivered", "opened", "clicked"):
        EngagementEvent(email=event.recipient, event_type=event.event_type, esp_name=esp_name,
                        dedupe_key=f"naive:{uuid.uuid4().hex}", raw=json.dumps(event.esp_event),
                        occurred_at=event.timestamp).save()
    elif event.event_type in NAIVE_CATEGORY:
        BounceEvent(email=event.recipient, recipient_domain=event.recipient.rpartition("@")[2],
                    source="webhook", category=NAIVE_CATEGORY[event.event_type], esp_name=esp_name,
                    dedupe_key=f"naive:{uuid.uuid4().hex}", raw=json.dumps(event.esp_event),
                    occurred_at=event.timestamp).save()


# The naive path is Anymail's own, unwrapped view, served beside Lockline's (same middleware,
# same HTTP handling through the test client), with the naive receiver in place of ours.
urlpatterns = [path("naive/", include("anymail.urls")), *root_urls.urlpatterns]


@contextmanager
def naive_receiver_connected():
    """The naive receiver in place of Lockline's, for a batch or a loop of one-event posts.

    Swapped once around them, not per post: every weak ``Signal.connect`` leaves a finalizer
    behind for as long as the receiver lives, and per-post swaps grew this process's heap by
    1,600 objects a round, which made the garbage collector's full passes (80-100 ms here)
    longer with every round and landed them in whichever measurement was running."""
    tracking.disconnect(dispatch_uid="lockline.bounces.tracking")
    tracking.connect(naive_receiver, dispatch_uid="bench.naive", weak=False)
    try:
        yield
    finally:
        tracking.disconnect(dispatch_uid="bench.naive")
        tracking.connect(tracking_event_received, dispatch_uid="lockline.bounces.tracking")


def naive_post(client: Client, events: list[dict]) -> float:
    """Post to Anymail's own view; call inside ``naive_receiver_connected``."""
    return timed_post(client, "/naive/sendgrid/tracking/", events)


def main() -> None:
    call_command("migrate", verbosity=0)
    settings.ROOT_URLCONF = __name__
    client = Client()
    results: dict[str, list[float]] = {k: [] for k in ("batch", "naive_batch", "single", "naive_single")}
    # Warm-up (imports, connection, plan caches, the batch path's per-connection staging
    # tables) outside the measurement: one full-size batch through each path.
    warm = uuid.uuid4().hex[:8]
    lockline_post(client, sendgrid_events(prepare(f"w{warm}", BATCH)))
    with naive_receiver_connected():
        naive_post(client, sendgrid_events(prepare(f"x{warm}", BATCH)))
    # What lockline.wsgi does at the end of start-up in every web process (lockline.heap).
    freeze_startup_heap()
    for round_no in range(ROUNDS):
        run = f"r{round_no}-{uuid.uuid4().hex[:6]}"
        emails = prepare(run, 2 * BATCH + 2 * SINGLES)
        batch_a, batch_b = emails[:BATCH], emails[BATCH:2 * BATCH]
        singles_a, singles_b = emails[2 * BATCH:2 * BATCH + SINGLES], emails[2 * BATCH + SINGLES:]
        # Alternate which path goes first so drift on a shared machine hits both alike.
        order = [("batch", batch_a), ("naive_batch", batch_b)]
        for name, chunk in (order if round_no % 2 == 0 else order[::-1]):
            events = sendgrid_events(chunk)
            if name == "batch":
                seconds = lockline_post(client, events)
            else:
                with naive_receiver_connected():
                    seconds = naive_post(client, events)
            results[name].append(seconds)
        single_events = sendgrid_events(singles_a)
        start = time.perf_counter()
        for event in single_events:
            lockline_post(client, [event])
        results["single"].append((time.perf_counter() - start) / SINGLES)
        single_events = sendgrid_events(singles_b)
        with naive_receiver_connected():
            start = time.perf_counter()
            for event in single_events:
                naive_post(client, [event])
            results["naive_single"].append((time.perf_counter() - start) / SINGLES)
        print(f"round {round_no + 1}/{ROUNDS}: batch {results['batch'][-1] * 1000:.0f} ms, "
              f"naive {results['naive_batch'][-1] * 1000:.0f} ms", flush=True)

    median = {k: statistics.median(v) for k, v in results.items()}
    batch_eps = BATCH / median["batch"]
    naive_eps = BATCH / median["naive_batch"]
    single_eps = 1 / median["single"]
    naive_single_eps = 1 / median["naive_single"]
    print()
    print(f"ESP webhooks, SendGrid-style, {ROUNDS} rounds, medians (database {bench_db}):")
    print(f"  1,000-event batch, Lockline (classify, match, upsert, policy): {median['batch'] * 1000:7.1f} ms"
          f"  = {batch_eps:8.0f} events/s   (target: < 500 ms)")
    print(f"  1,000-event batch, naive (Anymail + one ORM save per event):    {median['naive_batch'] * 1000:7.1f} ms"
          f"  = {naive_eps:8.0f} events/s")
    print(f"  one-event posts, Lockline:                                      {median['single'] * 1000:7.2f} ms"
          f"  = {single_eps:8.0f} events/s")
    print(f"  one-event posts, naive:                                         {median['naive_single'] * 1000:7.2f} ms"
          f"  = {naive_single_eps:8.0f} events/s")
    ratio = batch_eps / naive_eps
    print(f"  ratio batched / naive: {ratio:.1f}x (target >= 6x): {'MET' if ratio >= 6 else 'NOT MET'}")
    # The two batches of a round run back to back, so their ratio is the least affected by
    # load that drifts over the run (the machine is shared): its spread shows the noise.
    per_round = sorted(n / b for b, n in zip(results["batch"], results["naive_batch"]))
    print(f"  per-round ratios: min {per_round[0]:.1f}x, median {statistics.median(per_round):.1f}x, "
          f"max {per_round[-1]:.1f}x")
    print(f"  ratio one-event posts / naive one-event: {single_eps / naive_single_eps:.2f}x")
    print(f"  1,000-event batch under 500 ms: {'MET' if median['batch'] < 0.5 else 'NOT MET'}")


if __name__ == "__main__":
    main()
