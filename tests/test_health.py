"""/healthz for the web process and `worker_health` for workers."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from freezegun import freeze_time

from bounces.models import Suppression
from tests.factories import BounceEventFactory, MessageFactory, SuppressionFactory
from tests.ops_fixtures import ROOT, clean_redis, closed_port_url, run_django  # noqa: F401 (fixture)
from lockline import metrics

HEALTHZ = (
    "from django.test import Client; r = Client().get('/healthz'); "
    "print(r.status_code); print(r.content.decode())"
)


@pytest.mark.django_db
def test_healthz_reports_components_and_counts_from_the_database(client, clean_redis):
    now = timezone.now()
    MessageFactory(state="sent")
    MessageFactory(state="sent")
    MessageFactory(state="deferred", next_attempt_at=now - timedelta(hours=1))  # overdue
    MessageFactory(state="sending")
    BounceEventFactory(category="soft")
    with freeze_time(now - timedelta(days=2)):
        BounceEventFactory(category="hard")  # received before the window
    SuppressionFactory(reason="hard_bounce")
    SuppressionFactory(reason="persistent_soft", expires_at=now - timedelta(days=1))  # lapsed
    metrics.incr("reconciler_actions", action="requeued")

    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "broker": True, "redis": True,
    }
    counts = body["counts"]
    assert counts["messages"] == {
        "queued": 0, "sending": 1, "sent": 2, "deferred": 1, "failed": 0, "bounced": 0, "suppressed": 0,
    }
    assert counts["messages_overdue"] == 1
    assert counts["messages_stuck_sending"] == 0
    assert counts["bounce_events_24h"]["soft"] == 1 and counts["bounce_events_24h"]["hard"] == 0
    assert counts["suppressions_active"]["hard_bounce"] == 1
    assert counts["suppressions_active"]["persistent_soft"] == 0
    assert body["counters"] == {"reconciler_actions": {"action=requeued": 1}}


@pytest.mark.django_db
def test_a_frequent_probe_can_skip_the_counts(client):
    body = client.get("/healthz?counts=0").json()
    assert body["status"] == "ok" and "counts" not in body
    assert client.head("/healthz?counts=0").status_code == 200


def test_healthz_answers_503_naming_the_database_when_it_is_down():
    result = run_django(HEALTHZ, {"DATABASE_URL": closed_port_url("postgres"), "ALLOWED_HOSTS": "testserver"})
    status, text = result.stdout.split("\n", 1)
    assert status == "503", result.stderr
    body = json.loads(text)
    assert body["failing"] == ["database"] and body["checks"]["database"]["error"] == "OperationalError"
    assert "counts" not in body
    assert "127.0.0.1" not in text  # no connection details for an anonymous caller


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_broker_when_it_is_down():
    from django.conf import settings

    db = settings.DATABASES["default"]  # the test database: only SELECT 1 runs with counts=0
    result = run_django(HEALTHZ.replace("/healthz", "/healthz?counts=0"),
                        {"CELERY_BROKER_URL": closed_port_url("redis"), "ALLOWED_HOSTS": "testserver",
                         "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"})
    status, text = result.stdout.split("\n", 1)
    assert status == "503", result.stderr
    assert json.loads(text)["failing"] == ["broker"]


def test_probes_over_plain_http_are_not_redirected_in_production():
    from tests.test_settings import PRODUCTION_ENV

    from django.conf import settings

    db = settings.DATABASES["default"]  # the real database: only SELECT 1 runs with counts=0
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": "testserver", "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    code = ("from django.test import Client; c = Client(); "
            "print(c.get('/healthz?counts=0').status_code, c.get('/admin/').status_code)")
    result = run_django(code, env)
    assert result.stdout.split() == ["200", "301"], result.stderr  # the admin still goes to HTTPS


@pytest.mark.django_db
def test_worker_health_reports_no_worker_and_an_unreachable_broker(settings):
    with pytest.raises(CommandError) as no_worker:
        call_command("worker_health", destination=[f"nobody-{uuid.uuid4().hex}@nowhere"], timeout=0.5)
    assert no_worker.value.returncode == 1

    result = subprocess.run(
        [sys.executable, "manage.py", "worker_health", "--timeout", "0.5"],
        cwd=ROOT, env={**os.environ, "CELERY_BROKER_URL": closed_port_url("redis")},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Broker unreachable" in result.stderr


@pytest.mark.slow
@pytest.mark.django_db
def test_worker_health_sees_a_running_worker_on_its_queue_and_its_logs_are_structured(settings, tmp_path):
    name = f"hardening-{uuid.uuid4().hex[:8]}@localhost"
    queue = f"health-{uuid.uuid4().hex[:8]}"
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "LOG_FORMAT": "keyvalue",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lockline", "worker", "-n", name, "-Q", queue,
             "--pool", "solo", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                call_command("worker_health", destination=[name], queue=queue, timeout=1)
                break
            except CommandError as error:
                assert error.returncode == 1
                assert worker.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "worker never answered: " + log_path.read_text()
        with pytest.raises(CommandError):  # up, but not consuming that queue
            call_command("worker_health", destination=[name], queue="no-such-queue", timeout=1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    output = log_path.read_text()
    # The worker logs through settings.LOGGING: our key=value lines, not Celery's own format.
    assert re.search(r"^\d{4}-\d\d-\d\dT[\d:.]+\+00:00 INFO celery\.\S+ .*ready", output, re.M), output


def test_a_database_without_lockline_tables_is_unhealthy_not_a_500(tmp_path):
    # A fresh SQLite file: reachable, but migrations were never applied.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "ALLOWED_HOSTS": "testserver"}
    result = run_django(HEALTHZ, env)
    status, text = result.stdout.split("\n", 1)
    assert status == "503", result.stderr
    assert json.loads(text)["failing"] == ["database"]


def _drop_our_database_connection():
    """Have PostgreSQL terminate this process's connection, as a server restart would."""
    import psycopg2
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.get_backend_pid()
    params = connection.get_connection_params()
    with psycopg2.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")}) as other:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()


@pytest.mark.django_db(transaction=True)
def test_after_postgres_drops_the_connection_one_probe_fails_and_the_next_reconnects():
    from ops import health

    _drop_our_database_connection()
    first, second = health.check_database(), health.check_database()
    assert (first.ok, first.error) == (False, "OperationalError")
    assert second.ok

