"""Lockline settings: one file, every value from the environment.

With nothing set, Lockline runs on a laptop that has only Python: SQLite in ``var/``, Celery on
kombu's filesystem transport (also in ``var/``), mail over SMTP to the local sink. Production
differs by environment variables only (see ``.env.example`` and the README's table):
``DATABASE_URL`` moves to PostgreSQL, ``CELERY_BROKER_URL`` to Redis, ``EMAIL_BACKEND`` and
``ANYMAIL_*`` to an ESP. With ``DEBUG`` off, start-up refuses the insecure development defaults.
"""
from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LOCKLINE_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=True)

# The development key is public (it is in this file). It is refused below when DEBUG is off.
DEVELOPMENT_SECRET_KEY = "lockline-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL, used in links that leave the site (one-click unsubscribe).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "leads",
    "campaigns",
    "bounces",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lockline.urls"
WSGI_APPLICATION = "lockline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# SQLite by default so `make run` needs nothing but Python; PostgreSQL through DATABASE_URL.
# CONN_MAX_AGE keeps connections between requests: webhook posts arrive in bursts, and
# reconnecting per request costs more than the work of a small post.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'lockline.sqlite3'}"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share the file: wait for the write lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis (shared state across workers: recipient-domain throttles) --------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# --- Celery -----------------------------------------------------------------------------------
# The filesystem transport needs no server: the development default. Set CELERY_BROKER_URL to
# redis://... in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    (_BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR),
        "data_folder_out": str(_BROKER_DIR),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers a message that is not acked within the visibility timeout. A retry
    # countdown longer than that is redelivered again and again, so keep it above the longest
    # countdown the delivery schedule can pick (LOCKLINE_RETRY_MAX_DELAY, plus margin).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# One task at a time per worker process: a sending task may wait on SMTP for seconds, and a
# prefetched batch would sit behind it (and be redelivered late if the worker dies).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ("default", "send", "bounces")
CELERY_TASK_ROUTES = {
    "campaigns.tasks.*": {"queue": "send"},
    "bounces.tasks.*": {"queue": "bounces"},
}
# Every network call has its own timeout (EMAIL_TIMEOUT, HTTP timeouts); tasks are limited just
# above them so a hung child is replaced rather than holding a slot forever.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BEAT_SCHEDULE = {
    "suppression-expire-due": {"task": "bounces.tasks.suppression_expire_due", "schedule": 3600.0},
}

# --- Email ------------------------------------------------------------------------------------
# SMTP to the local sink by default (`python manage.py smtp_sink`). For an ESP, set
# EMAIL_BACKEND to an Anymail backend (anymail.backends.sendgrid.EmailBackend, ...) and its
# ANYMAIL_* keys.
# Django's SMTP backend, recording each message as sent before the final "." of DATA so a
# worker killed mid-send can never cause a duplicate (campaigns/delivery/smtp.py).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="campaigns.delivery.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=2525)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="outreach@lockline.test")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Anymail takes every ANYMAIL_<NAME> variable as ANYMAIL["<NAME>"], so any ESP's keys
# (ANYMAIL_SENDGRID_API_KEY, ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, ...) need no code change.
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value
}
ANYMAIL.setdefault("WEBHOOK_SECRET", env.str("WEBHOOK_SECRET", default=""))
if DEBUG and not ANYMAIL["WEBHOOK_SECRET"]:
    ANYMAIL["WEBHOOK_SECRET"] = "lockline:development-webhook-secret"

# --- Lockline ---------------------------------------------------------------------------------
# Domain of our Message-IDs and of the VERP Return-Path that bounces come back to.
LOCKLINE_MAIL_DOMAIN = env.str("LOCKLINE_MAIL_DOMAIN", default="lockline.test")
LOCKLINE_BOUNCE_LOCALPART = env.str("LOCKLINE_BOUNCE_LOCALPART", default="bounces")
# Soft bounces suppress only when they persist: this many within the window, with no successful
# delivery in between (a count older than the window starts again, as Mailman does).
LOCKLINE_SOFT_BOUNCE_LIMIT = env.int("LOCKLINE_SOFT_BOUNCE_LIMIT", default=3)
LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS = env.int("LOCKLINE_SOFT_BOUNCE_WINDOW_DAYS", default=7)
# A suppression for persistent soft bounces lapses after this many days; hard bounces,
# complaints and unsubscribes never do.
LOCKLINE_SOFT_SUPPRESSION_DAYS = env.int("LOCKLINE_SOFT_SUPPRESSION_DAYS", default=30)

# --- Bounce mailboxes ------------------------------------------------------------------------
# Polled by beat every BOUNCE_POLL_SECONDS when set: imaps://user:password@host:993/INBOX and/or
# a Maildir path that the MTA delivers the VERP bounce address into.
BOUNCE_IMAP_URL = env.str("BOUNCE_IMAP_URL", default="")
BOUNCE_MAILDIR = env.str("BOUNCE_MAILDIR", default="")
BOUNCE_POLL_SECONDS = env.int("BOUNCE_POLL_SECONDS", default=60)
if BOUNCE_IMAP_URL or BOUNCE_MAILDIR:
    CELERY_BEAT_SCHEDULE["bounce-mailbox-poll"] = {
        "task": "bounces.tasks.bounce_mailbox_poll",
        "schedule": float(BOUNCE_POLL_SECONDS),
    }
# --- Analytics: reputation guard, false-positive review, featured leads -----------------------
# The guard pauses a campaign or prompt version whose rates cross what ESPs enforce: Amazon SES
# puts an account under review above a 5% bounce rate and a 0.1% complaint rate. Each rate is
# checked over a short and a long window, and only once the window holds enough sends for the
# rate to mean something (3 bounces in 20 sends is noise, not a reputation problem).
from celery.schedules import crontab  # noqa: E402  (kept inside this area's block)

LOCKLINE_GUARD_BOUNCE_RATE = env.float("LOCKLINE_GUARD_BOUNCE_RATE", default=0.05)
LOCKLINE_GUARD_COMPLAINT_RATE = env.float("LOCKLINE_GUARD_COMPLAINT_RATE", default=0.001)
LOCKLINE_GUARD_SHORT_WINDOW_HOURS = env.int("LOCKLINE_GUARD_SHORT_WINDOW_HOURS", default=24)
LOCKLINE_GUARD_SHORT_MIN_SENDS = env.int("LOCKLINE_GUARD_SHORT_MIN_SENDS", default=200)
LOCKLINE_GUARD_LONG_WINDOW_DAYS = env.int("LOCKLINE_GUARD_LONG_WINDOW_DAYS", default=7)
LOCKLINE_GUARD_LONG_MIN_SENDS = env.int("LOCKLINE_GUARD_LONG_MIN_SENDS", default=1000)
# Featured leads: score = sum over engagement in the window of weight(type), doubled for events
# in the recent days; leads at or above the minimum are tagged `featured` (never a suppressed or
# bounced lead).
LOCKLINE_FEATURED_WEIGHT_OPEN = env.int("LOCKLINE_FEATURED_WEIGHT_OPEN", default=1)
LOCKLINE_FEATURED_WEIGHT_CLICK = env.int("LOCKLINE_FEATURED_WEIGHT_CLICK", default=3)
LOCKLINE_FEATURED_WEIGHT_REPLY = env.int("LOCKLINE_FEATURED_WEIGHT_REPLY", default=10)
LOCKLINE_FEATURED_WINDOW_DAYS = env.int("LOCKLINE_FEATURED_WINDOW_DAYS", default=30)
LOCKLINE_FEATURED_RECENT_DAYS = env.int("LOCKLINE_FEATURED_RECENT_DAYS", default=7)
LOCKLINE_FEATURED_MIN_SCORE = env.int("LOCKLINE_FEATURED_MIN_SCORE", default=6)
CELERY_BEAT_SCHEDULE |= {
    "reputation-guard": {"task": "analytics.tasks.reputation_guard_run", "schedule": 900.0},
    # Nightly, after the day's engagement has arrived.
    "lead-feature-all": {
        "task": "analytics.tasks.lead_feature_all",
        "schedule": crontab(hour=2, minute=30),
    },
}
# --- Hardening: observability, rate limits, request size, metrics ------------------------------
INSTALLED_APPS += ["ops"]
# Size and rate checks run before sessions, CSRF and the view, so a flood or an oversize post
# costs one Redis round trip and no body read.
MIDDLEWARE[1:1] = ["ops.middleware.BodySizeLimitMiddleware", "ops.middleware.RateLimitMiddleware",
                   "ops.middleware.DatabaseUnavailableMiddleware"]
# What a webhook or inbound post is told when PostgreSQL cannot be reached: 503, retry after (s).
LOCKLINE_DATABASE_RETRY_AFTER = env.int("LOCKLINE_DATABASE_RETRY_AFTER", default=30)
# Paths that ESPs and mail gateways post to: rate-limited and size-checked.
LOCKLINE_WEBHOOK_PATH_PREFIXES = env.list("LOCKLINE_WEBHOOK_PATH_PREFIXES", default=["/anymail/", "/inbound/"])
# Tracking-event batches (SendGrid posts up to ~1,000 events, well under 5 MiB) ...
LOCKLINE_WEBHOOK_MAX_BYTES = env.int("LOCKLINE_WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024)
# ... and inbound mail (a bounce quotes the original message, a reply may carry attachments).
LOCKLINE_INBOUND_MAX_BYTES = env.int("LOCKLINE_INBOUND_MAX_BYTES", default=25 * 1024 * 1024)
# Token bucket per client IP and endpoint. Generous: an ESP flushing a backlog after our outage
# posts fast, and what exceeds the bucket gets 429 + Retry-After, which ESPs retry (delayed, not
# dropped). The limit is there to stop a runaway client from starving the web workers.
LOCKLINE_RATELIMIT_ENABLED = env.bool("LOCKLINE_RATELIMIT_ENABLED", default=True)
LOCKLINE_RATELIMIT_RATE = env.float("LOCKLINE_RATELIMIT_RATE", default=50.0)  # requests/s refill
LOCKLINE_RATELIMIT_BURST = env.int("LOCKLINE_RATELIMIT_BURST", default=500)
LOCKLINE_RATELIMIT_REDIS_URL = env.str("LOCKLINE_RATELIMIT_REDIS_URL", default=REDIS_URL)
# How many reverse proxies in front of gunicorn append to X-Forwarded-For (0: use REMOTE_ADDR).
# Only trust as many as you run: a client can write anything to the left of them.
LOCKLINE_TRUSTED_PROXY_COUNT = env.int("LOCKLINE_TRUSTED_PROXY_COUNT", default=0)
# Counters (sends, bounces, retries, suppressions, reconciler actions) live in Redis.
LOCKLINE_METRICS_REDIS_URL = env.str("LOCKLINE_METRICS_REDIS_URL", default=REDIS_URL)
# Bearer token for /metrics (Prometheus scrapes without a session); staff may use their login.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Probes reach gunicorn over plain HTTP inside the network: no redirect to HTTPS for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A PostgreSQL host that is down or unreachable must fail a request (and /healthz) in seconds.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# JSON lines in production (for a log shipper), key=value in development (for a terminal).
LOG_FORMAT = env.str("LOG_FORMAT", default="keyvalue" if DEBUG else "json")
if LOG_FORMAT not in ("json", "keyvalue"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or keyvalue, not {LOG_FORMAT!r}.")
if not DEBUG and METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be 32+ random characters (or unset: staff only).")
# --- ESP webhooks (Anymail tracking) -------------------------------------------------------
# Events whose own timestamp (or the request's signed timestamp: Mailgun, SendGrid, SNS) is
# older than this are refused: it bounds replays of captured requests. It must exceed the
# longest retry span of a supported ESP (SendGrid retries for 72 hours) or real retries after an
# outage of ours would be refused.
LOCKLINE_WEBHOOK_MAX_AGE = env.int("LOCKLINE_WEBHOOK_MAX_AGE", default=5 * 24 * 3600)
# How far in the future an event's timestamp may be (the ESP's clock against ours).
LOCKLINE_WEBHOOK_MAX_SKEW = env.int("LOCKLINE_WEBHOOK_MAX_SKEW", default=300)
# Amazon SNS: topics whose notifications are accepted (empty: any topic whose signature
# verifies; basic auth still applies), and the function that fetches a signing certificate.
LOCKLINE_SNS_TOPIC_ARNS = env.list("LOCKLINE_SNS_TOPIC_ARNS", default=[])
LOCKLINE_SNS_CERTIFICATE_FETCHER = "bounces.esp.sns.fetch_url"
LOCKLINE_SNS_HTTP_TIMEOUT = env.float("LOCKLINE_SNS_HTTP_TIMEOUT", default=5.0)
# --- Sending (campaigns.delivery: launch, send, classify, retry, throttle, reconcile) ---------
# Retry schedule, modelled on Postfix's deferred queue (minimal_backoff_time 300 s, doubling,
# maximal_backoff_time 4 h, maximal_queue_lifetime 5 days); ± jitter spreads a batch's retries.
LOCKLINE_RETRY_BASE_DELAY = env.int("LOCKLINE_RETRY_BASE_DELAY", default=300)
LOCKLINE_RETRY_MAX_DELAY = env.int("LOCKLINE_RETRY_MAX_DELAY", default=4 * 3600)
LOCKLINE_RETRY_JITTER = env.float("LOCKLINE_RETRY_JITTER", default=0.2)
LOCKLINE_RETRY_LIFETIME = env.int("LOCKLINE_RETRY_LIFETIME", default=5 * 24 * 3600)
# A message gives up after this many soft failures (and its address is then suppressed as a
# persistent soft bounce); transient failures only ever give up on the lifetime.
LOCKLINE_RETRY_MAX_SOFT_FAILURES = env.int("LOCKLINE_RETRY_MAX_SOFT_FAILURES", default=LOCKLINE_SOFT_BOUNCE_LIMIT)
# 554 5.7.1 blocks (spam / policy) within one campaign that pause it: its text or our
# reputation is the problem, and sending more of it makes the reputation worse.
LOCKLINE_BLOCKS_PAUSE_CAMPAIGN = env.int("LOCKLINE_BLOCKS_PAUSE_CAMPAIGN", default=3)
# Recipient-domain throttle after a throttle reply: minimum interval between sends to the
# domain (s), doubling per further throttle reply up to the max, lapsing after the cooldown.
LOCKLINE_THROTTLE_INITIAL_INTERVAL = env.float("LOCKLINE_THROTTLE_INITIAL_INTERVAL", default=5.0)
LOCKLINE_THROTTLE_MAX_INTERVAL = env.float("LOCKLINE_THROTTLE_MAX_INTERVAL", default=300.0)
LOCKLINE_THROTTLE_COOLDOWN = env.float("LOCKLINE_THROTTLE_COOLDOWN", default=900.0)
# Each worker process re-reads the set of throttled domains this often (s): a throttle noted by
# another worker applies here within this time.
LOCKLINE_THROTTLE_REFRESH = env.float("LOCKLINE_THROTTLE_REFRESH", default=1.0)
# A held message (campaign or prompt version paused, send limit reached) is looked at again
# after this many seconds.
LOCKLINE_HOLD_RECHECK = env.int("LOCKLINE_HOLD_RECHECK", default=60)
# Launch: leads streamed and messages written in chunks of this size; send tasks published in
# chunks by the dispatcher.
LOCKLINE_LAUNCH_CHUNK = env.int("LOCKLINE_LAUNCH_CHUNK", default=2000)
# Send tasks carry this many message ids each (campaigns.tasks.message_send_many); each message
# is still claimed, re-checked, sent and recorded on its own. A chunk starts no new message after
# LOCKLINE_SEND_BATCH_BUDGET seconds and re-queues the rest (keep it well under
# CELERY_TASK_SOFT_TIME_LIMIT minus one message's worst case, EMAIL_TIMEOUT per SMTP command).
LOCKLINE_SEND_BATCH = env.int("LOCKLINE_SEND_BATCH", default=20)
LOCKLINE_SEND_BATCH_BUDGET = env.float("LOCKLINE_SEND_BATCH_BUDGET", default=15.0)
# Reconciler (beat): a due message whose task was published longer ago than REQUEUE_AFTER is
# taken as lost (Redis restart, FLUSHALL) and published again; a message in `sending` longer
# than SENDING_STUCK_AFTER (above the task's hard time limit, so its worker is surely gone) is
# resolved. At most RECONCILE_BATCH messages per run.
LOCKLINE_REQUEUE_AFTER = env.int("LOCKLINE_REQUEUE_AFTER", default=900)
# ... or after this much when the broker's send queue is empty (it lost its messages).
LOCKLINE_REQUEUE_AFTER_IDLE = env.int("LOCKLINE_REQUEUE_AFTER_IDLE", default=60)
LOCKLINE_SENDING_STUCK_AFTER = env.int("LOCKLINE_SENDING_STUCK_AFTER", default=2 * CELERY_TASK_TIME_LIMIT)
LOCKLINE_RECONCILE_INTERVAL = env.float("LOCKLINE_RECONCILE_INTERVAL", default=60.0)
LOCKLINE_RECONCILE_BATCH = env.int("LOCKLINE_RECONCILE_BATCH", default=20000)
# Message generation: the template generator unless an OpenAI-compatible endpoint is set.
LOCKLINE_LLM_URL = env.str("LOCKLINE_LLM_URL", default="")
LOCKLINE_LLM_API_KEY = env.str("LOCKLINE_LLM_API_KEY", default="")
LOCKLINE_LLM_MODEL = env.str("LOCKLINE_LLM_MODEL", default="gpt-4o-mini")
LOCKLINE_LLM_TIMEOUT = env.float("LOCKLINE_LLM_TIMEOUT", default=30.0)
LOCKLINE_LLM_RETRIES = env.int("LOCKLINE_LLM_RETRIES", default=3)
LOCKLINE_LLM_BACKOFF = env.float("LOCKLINE_LLM_BACKOFF", default=1.0)
LOCKLINE_LLM_MAX_BACKOFF = env.float("LOCKLINE_LLM_MAX_BACKOFF", default=30.0)
# The local SMTP sink (`manage.py smtp_sink`): where it mails the DSNs of late bounces
# ("host:port"; empty: kept in the sink's log only).
LOCKLINE_SINK_DSN_RELAY = env.str("LOCKLINE_SINK_DSN_RELAY", default="")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web, worker processes and beat write to one SQLite file. A deferred transaction
    # that reads and then writes fails at once with "database is locked" (SQLite cannot wait
    # there without risking deadlock); BEGIN IMMEDIATE takes the write lock up front and waits.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
if CELERY_BROKER_URL.startswith("filesystem"):
    # The filesystem transport polls its folder (1 s by default): the demo's sends would crawl.
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = 0.1
CELERY_BEAT_SCHEDULE.update({
    "message-reconcile": {"task": "campaigns.tasks.message_reconcile", "schedule": LOCKLINE_RECONCILE_INTERVAL},
})
# The dispatcher and the reconciler only publish ids: keep them off the `send` queue so a
# backlog of sends cannot starve them. (An exact name wins over the `campaigns.tasks.*` glob.)
CELERY_TASK_ROUTES = {
    "campaigns.tasks.message_dispatch": {"queue": "default"},
    "campaigns.tasks.message_reconcile": {"queue": "default"},
    **CELERY_TASK_ROUTES,
}
# The broker must not redeliver a retry that is still waiting for its countdown.
if CELERY_BROKER_URL.startswith(("redis", "rediss")) and (
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    <= LOCKLINE_RETRY_MAX_DELAY * (1 + LOCKLINE_RETRY_JITTER) + 600
):
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must exceed the longest retry countdown "
        "(LOCKLINE_RETRY_MAX_DELAY × (1 + LOCKLINE_RETRY_JITTER)) by 10 minutes, or Redis redelivers "
        "waiting retries again and again."
    )

# --- Sending throughput (perf) ----------------------------------------------------------------
# Celery's Django fixup closes every database connection before and after each task unless
# CELERY_DB_REUSE_MAX is set: a new PostgreSQL connection per message (~8 ms here, the largest
# single cost of a send). Reuse it for this many tasks; between tasks lockline/celery.py still
# drops a connection that errored or outlived CONN_MAX_AGE (Django's close_old_connections, as
# for a web request), and CONN_HEALTH_CHECKS pings it once before the next task uses it.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# The send path's per-message statements are PREPAREd once per connection (lockline/prepared.py).
# Turn off behind a pooler that does not keep a session per client (PgBouncer transaction mode).
LOCKLINE_PREPARED_STATEMENTS = env.bool("LOCKLINE_PREPARED_STATEMENTS", default=True)

# --- Static files and the rest ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve admin assets straight from the apps in development (no collectstatic step needed).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Webhook batches from an ESP (SendGrid posts up to ~1,000 events) must fit; anything larger is
# refused by Django with a 400 before a view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # Personal data and secrets out of every line at INFO and above (see lockline/logging.py).
        "redact": {"()": "lockline.logging.RedactFilter"},
    },
    "formatters": {
        "json": {"()": "lockline.logging.JsonFormatter"},
        "keyvalue": {"()": "lockline.logging.KeyValueFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's default "console" handler would print its lines a second time, unredacted.
        "django": {"handlers": [], "level": "INFO"},
    },
}

# --- Production -------------------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

    _problems = []
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
        _problems.append("SECRET_KEY is unset or the development key (set 50+ random characters)")
    if not ANYMAIL["WEBHOOK_SECRET"]:
        _problems.append("WEBHOOK_SECRET (or ANYMAIL_WEBHOOK_SECRET) is unset: webhooks would be open")
    if _problems:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off and insecure settings: " + "; ".join(_problems)
        )
