"""Structured log lines without personal data or secrets.

- ``JsonFormatter`` / ``KeyValueFormatter`` render a record's ``extra=`` fields as fields, so
  ``logger.info("message sent", extra=message_fields(message))`` gives operators
  ``message_id``, ``campaign_id`` and ``prompt_version_id`` to filter on.
- ``RedactFilter`` (attached to the handlers in settings.LOGGING) rewrites records at INFO and
  above: email addresses lose their local part, fields that carry message content (``body``,
  ``raw``, ...) are replaced by their length, multi-line messages keep only their first line,
  and the values of configured secrets are blanked. DEBUG records keep everything: DEBUG is for
  a developer's own machine.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}

# The local-part characters real addresses use. RFC 5322 allows more (' / = ? ...), but those
# also delimit URLs and quotes around an address; a rare address using them keeps only the
# part before such a character ("o'[redacted]@example.com").
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
REDACTED_LOCAL = "[redacted]"

# ``extra=`` fields that hold message content, never logged above DEBUG.
CONTENT_FIELDS = frozenset(
    {"body", "text", "html", "text_body", "html_body", "raw", "payload", "content", "diagnostic", "mime"}
)

# Settings whose values must never appear in a log line.
SECRET_SETTINGS = ("SECRET_KEY", "EMAIL_HOST_PASSWORD", "METRICS_TOKEN")
# Shorter values are too likely to occur by chance in an ordinary line.
_MIN_SECRET_LENGTH = 8


def message_fields(message: Any) -> dict[str, Any]:
    """The context every send and bounce line carries: ids only, never the address or body."""
    return {
        "message_id": getattr(message, "pk", None),
        "campaign_id": getattr(message, "campaign_id", None),
        "prompt_version_id": getattr(message, "prompt_version_id", None),
    }


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every email address's local part and every secret value replaced."""
    text = EMAIL_RE.sub(lambda m: f"{REDACTED_LOCAL}@{m.group(1)}", text)
    for secret in secrets:
        text = text.replace(secret, "[secret]")
    return text


_secrets_cache: tuple[str, ...] | None = None


def _secret_values() -> tuple[str, ...]:
    """The secret strings to blank, computed once (and again after a settings change in tests)."""
    global _secrets_cache
    if _secrets_cache is not None:
        return _secrets_cache
    try:
        from django.conf import settings

        candidates = [getattr(settings, name, "") for name in SECRET_SETTINGS]
        anymail = getattr(settings, "ANYMAIL", {}) or {}
        candidates += [
            value
            for key, value in anymail.items()
            if any(word in key for word in ("SECRET", "KEY", "TOKEN", "PASSWORD"))
        ]
    except Exception:  # settings not configured (a bare script): nothing to hide yet, ask again later
        return ()
    values = set()
    for value in candidates:
        if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
            values.add(value)
            # Anymail's WEBHOOK_SECRET is "user:password": the password alone is the secret.
            if ":" in value:
                values.update(part for part in value.split(":", 1) if len(part) >= _MIN_SECRET_LENGTH)
    # Longest first, so a secret containing another is replaced whole.
    _secrets_cache = tuple(sorted(values, key=len, reverse=True))
    return _secrets_cache


@receiver(setting_changed)
def _forget_secrets(**kwargs) -> None:
    global _secrets_cache
    _secrets_cache = None


def _redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` with addresses and secrets removed from every string inside it.

    Other objects (a request, an exception) become their redacted ``str()``: that is how the
    formatters would render them anyway.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {key: _redact_value(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(item, secrets) for item in value]
    return redact_text(str(value), secrets)


class RedactFilter(logging.Filter):
    """Keep personal data and secrets out of records at ``min_level`` (INFO) and above.

    Never drops a record. Mutates it in place (records are shared by handlers; every handler we
    configure carries this filter, so they all see the redacted form).
    """

    def __init__(self, name: str = "", min_level: int | str = logging.INFO):
        super().__init__(name)
        self.min_level = logging._checkLevel(min_level) if isinstance(min_level, str) else min_level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level or getattr(record, "_lockline_redacted", False):
            return True
        secrets = _secret_values()
        message = record.getMessage()
        first_line, newline, rest = message.partition("\n")
        if newline and rest.strip():
            # A multi-line message is most likely a body, a DSN or a payload.
            message = f"{first_line} [{rest.count(chr(10)) + 1} more lines redacted]"
        record.msg = redact_text(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Exception texts quote addresses too (SMTPRecipientsRefused): render and redact now;
            # Formatter.format uses exc_text when it is already set.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, secrets)
        for key, value in list(vars(record).items()):
            if key in _STANDARD_ATTRS:
                continue
            if key in CONTENT_FIELDS and value:
                setattr(record, key, f"[{len(str(value))} chars redacted]")
            else:
                setattr(record, key, _redact_value(value, secrets))
        record._lockline_redacted = True
        return True


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record, in the order they were given."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRS and not key.startswith("_")
    }


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(record_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, default=str)


def _kv(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n'):
        return json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...``: readable in a terminal, greppable in files."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{key}={_kv(value)}" for key, value in record_fields(record).items()]
        line = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line
