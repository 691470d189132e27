"""Settings come from the environment; production refuses insecure defaults."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.ops_fixtures import run_django as run_ops_django

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-for-tests-only-0123456789",
    "WEBHOOK_SECRET": "user:webhook-secret",
    "ALLOWED_HOSTS": "lockline.example.com",
    "DATABASE_URL": "postgres://lockline:pw@db.internal:5432/lockline",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
}


def run_django(code: str, env: dict[str, str]):
    return run_ops_django(code, env, isolated=True)

def test_with_nothing_set_lockline_runs_on_sqlite_and_the_filesystem_broker():
    result = run_django(
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG)", {}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "True"]


def test_database_and_broker_urls_move_to_postgres_and_redis():
    result = run_django(
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['ENGINE'], d['HOST'], d['NAME'], s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'])",
        PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    engine, host, name, broker, visibility = result.stdout.split()
    assert (engine, host, name, broker) == (
        "django.db.backends.postgresql", "db.internal", "lockline", "redis://redis.internal:6379/0",
    )
    assert int(visibility) > 4 * 3600  # above the longest retry countdown


def test_anymail_settings_come_from_anymail_variables():
    result = run_django(
        "from django.conf import settings as s; print(s.ANYMAIL['POSTMARK_SERVER_TOKEN'], s.ANYMAIL['WEBHOOK_SECRET'], s.EMAIL_BACKEND)",
        {**PRODUCTION_ENV, "ANYMAIL_POSTMARK_SERVER_TOKEN": "pm-token",
         "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pm-token", "user:webhook-secret", "anymail.backends.postmark.EmailBackend"]


@pytest.mark.parametrize("missing,message", [("SECRET_KEY", "SECRET_KEY"), ("WEBHOOK_SECRET", "WEBHOOK_SECRET")])
def test_production_refuses_to_start_with_insecure_defaults(missing, message):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_django("print('started')", env)
    assert result.returncode != 0
    assert "Refusing to start with DEBUG off" in result.stderr and message in result.stderr


def test_check_deploy_passes_with_a_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**os.environ, **PRODUCTION_ENV}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
