"""Sending benchmarks (run by `make bench`), on a dedicated database it creates and drops.

1. Throughput: messages/s delivered by real Celery workers (one worker, concurrency 2) to the
   local SMTP sink, against raw smtplib over one reused connection to the same sink, in the same
   run. Target: workers ≥ 40% of raw smtplib.
2. Launch: campaign_launch of 100,000 leads on PostgreSQL, in a child process: seconds and peak
   RSS. Targets: ≤ 60 s, ≤ 250 MB.

Uses DATABASE_URL's server (database `lockline_bench_send`, dropped at the end) and
CELERY_BROKER_URL's Redis (only the `send` and `default` queues, emptied at start and end).
Rounds and sizes: BENCH_ROUNDS (3), BENCH_MESSAGES (2000), BENCH_LEADS (100000).
"""
from __future__ import annotations

import os
import smtplib
import socket
import statistics
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from soak.infra import free_port  # noqa: E402  (needs the project root on the path)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", 2000))
LEADS = int(os.environ.get("BENCH_LEADS", 100_000))
CONCURRENCY = os.environ.get("BENCH_CONCURRENCY", "2")
BENCH_DB = os.environ.get("BENCH_DB", "lockline_bench_send")

server_url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lockline"))
BENCH_DATABASE_URL = urlunsplit(server_url._replace(path=f"/{BENCH_DB}"))
ADMIN_DATABASE_URL = urlunsplit(server_url._replace(path="/postgres"))
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
if not BROKER_URL.startswith("redis"):
    sys.exit("bench_sending needs CELERY_BROKER_URL=redis://...")


def env(**extra) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "lockline.settings", "DATABASE_URL": BENCH_DATABASE_URL,
            "CELERY_BROKER_URL": BROKER_URL, "REDIS_URL": os.environ.get("REDIS_URL", BROKER_URL),
            "CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING",
            # Production mode, as deployed: with DEBUG on, Django keeps every query's SQL in memory.
            "DEBUG": "0", "SECRET_KEY": "bench-" + "k" * 60, "WEBHOOK_SECRET": "bench:bench",
            **extra}


def admin_sql(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(ADMIN_DATABASE_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def raw_smtplib_rate(port: int, count: int) -> float:
    """Baseline: smtplib over one reused connection, one message per recipient."""
    message = EmailMessage()
    message["From"], message["Subject"] = "outreach@lockline.test", "Acme: a quick question"
    message.set_content("Hi Ada,\n\n" + "Lockline keeps outreach lists clean. " * 8 + "\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        started = time.perf_counter()
        for n in range(count):
            del message["To"]
            message["To"] = f"raw{n}@acme.example"
            client.send_message(message, from_addr="bounces@lockline.test", to_addrs=[message["To"]])
        return count / (time.perf_counter() - started)


def main() -> None:
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    broker = redis.Redis.from_url(BROKER_URL)
    broker.delete("send", "default")
    processes = []
    try:
        port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "manage.py", "smtp_sink", "--port", str(port), "--no-default-rules"],
            cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port)
        throughput(port, processes)
        # The launch is measured alone: stop the worker so it does not send the launch's messages.
        worker = processes.pop(0)
        worker.terminate()
        worker.wait(60)
        if LEADS:
            launch()
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        broker.delete("send", "default")
        from django.db import connections

        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB}")


def throughput(port: int, processes: list) -> None:
    from campaigns.delivery.launch import campaign_launch
    from campaigns.models import Campaign, Message, PromptVersion
    from leads.models import Lead, Tag

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lockline", "worker", "--queues", "send,default", "--concurrency", CONCURRENCY,
         "--loglevel", os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"), "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--hostname", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env=env(EMAIL_PORT=str(port), EMAIL_HOST="127.0.0.1", LOG_LEVEL=os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")), stdout=open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "w"),
        stderr=subprocess.STDOUT)
    processes.insert(0, worker)
    prompt = PromptVersion.objects.create(name="bench", prompt="Hi {name},\n\n" + "Lockline keeps lists clean. " * 8,
                                          subject_template="{company}: a quick question")
    tag = Tag.objects.create(name="bench-throughput")
    Lead.objects.bulk_create(Lead(email=f"t{n}@acme{n % 50}.example", domain=f"acme{n % 50}.example", name="Ada",
                                  company="Acme") for n in range(MESSAGES))
    tag.leads.add(*Lead.objects.values_list("pk", flat=True))
    # Warm-up: the worker's processes start, import and connect.
    warm = Campaign.objects.create(name="warm", prompt_version=prompt, sender_email="o@lockline.test", audience_tag=tag)
    campaign_launch(campaign=warm)
    wait_sent(warm, MESSAGES)

    raw, workers = [], []
    for round_ in range(ROUNDS):
        raw.append(raw_smtplib_rate(port, MESSAGES))
        campaign = Campaign.objects.create(name=f"round {round_}", prompt_version=prompt, sender_email="o@lockline.test",
                                           audience_tag=tag)
        started = time.perf_counter()
        campaign_launch(campaign=campaign)
        wait_sent(campaign, MESSAGES)
        workers.append(MESSAGES / (time.perf_counter() - started))
    raw_median, worker_median = statistics.median(raw), statistics.median(workers)
    print(f"raw smtplib, one reused connection: median {raw_median:,.0f} msg/s  (rounds: "
          f"{', '.join(f'{r:,.0f}' for r in raw)})")
    print(f"Celery workers (1 worker x {CONCURRENCY} processes), launch to last delivery: median {worker_median:,.0f} msg/s  "
          f"(rounds: {', '.join(f'{r:,.0f}' for r in workers)})")
    ratio = worker_median / raw_median
    print(f"ratio workers / raw smtplib: {ratio:.0%}  (target >= 40%: {'met' if ratio >= 0.4 else 'NOT met'})")
    assert Message.objects.exclude(state="sent").count() == 0


def wait_sent(campaign, count: int, timeout: float = 600) -> None:
    from campaigns.models import Message

    deadline = time.monotonic() + timeout
    while Message.objects.filter(campaign=campaign, state="sent").count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{campaign}: not every message was sent")
        time.sleep(0.05)


LAUNCH_CHILD = """
import resource, sys, time
import django
django.setup()
from campaigns.delivery.launch import campaign_launch
from campaigns.models import Campaign
campaign = Campaign.objects.get(name="launch")
started = time.perf_counter()
result = campaign_launch(campaign=campaign)
elapsed = time.perf_counter() - started
print(result.created, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def launch() -> None:
    import redis
    from django.db import connection

    from campaigns.models import Campaign, PromptVersion
    from leads.models import Lead

    prompt = PromptVersion.objects.get(name="bench")
    Lead.objects.bulk_create((Lead(email=f"l{n}@co{n % 997}.example", domain=f"co{n % 997}.example", name=f"Lead {n}",
                                   company=f"Company {n % 997}") for n in range(LEADS)), batch_size=5000)
    total_leads = Lead.objects.count()
    broker = redis.Redis.from_url(BROKER_URL)
    seconds, rss = [], []
    for round_ in range(ROUNDS):
        Campaign.objects.create(name="launch", prompt_version=prompt, sender_email="o@lockline.test")
        output = subprocess.run([sys.executable, "-c", LAUNCH_CHILD], cwd=ROOT, env=env(), capture_output=True,
                                text=True, check=True).stdout.split()
        created, elapsed, maxrss_kb = int(output[0]), float(output[1]), int(output[2])
        assert created == total_leads, (created, total_leads)
        seconds.append(elapsed)
        rss.append(maxrss_kb / 1024)
        # Nothing consumes these here: drop the round's messages and dispatch tasks.
        broker.delete("send", "default")
        campaign = Campaign.objects.get(name="launch")
        # Raw DELETE: the ORM would collect 100,000 rows to null their bounce events first.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM campaigns_message WHERE campaign_id = %s", [campaign.pk])
        campaign.delete()
    print(f"launch of {total_leads:,} leads: median {statistics.median(seconds):.1f} s (target <= 60 s), "
          f"peak RSS median {statistics.median(rss):.0f} MB (target <= 250 MB)  "
          f"(rounds: {', '.join(f'{s:.1f} s / {r:.0f} MB' for s, r in zip(seconds, rss))})")


if __name__ == "__main__":
    main()
