"""Log lines carry ids as fields and no personal data or secrets above DEBUG."""
import io
import json
import logging

import pytest
from django.test import override_settings

from bounces.services import bounce_record
from lockline.logging import JsonFormatter, KeyValueFormatter, RedactFilter, message_fields
from tests.factories import MessageFactory


@pytest.fixture
def log():
    """A logger writing JSON lines through the redaction filter into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("tests.lockline.logging")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_an_info_line_with_an_address_keeps_only_the_domain(log):
    logger, lines = log
    logger.info("sending to %s", "Jane.Doe+x@Example.com", extra={"recipient": "jane@example.org"})
    (line,) = lines()
    assert line["message"] == "sending to [redacted]@Example.com"
    assert line["recipient"] == "[redacted]@example.org"


def test_addresses_inside_structured_fields_and_objects_are_redacted(log):
    class Request:
        def __str__(self):
            return "<WSGIRequest: GET '/unsubscribe?email=jane@example.com'>"

    logger, lines = log
    logger.warning("odd", extra={"recipients": ["a@example.com", 3], "meta": {"to": "b@example.org"},
                                 "request": Request()})
    (line,) = lines()
    assert line["recipients"] == ["[redacted]@example.com", 3]
    assert line["meta"] == {"to": "[redacted]@example.org"}
    assert line["request"] == "<WSGIRequest: GET '/unsubscribe?email=[redacted]@example.com'>"


def test_debug_lines_keep_addresses_for_a_developer(log):
    logger, lines = log
    logger.debug("sending to %s", "jane@example.com")
    assert lines()[0]["message"] == "sending to jane@example.com"


def test_message_bodies_never_reach_an_info_line(log):
    logger, lines = log
    body = "Hi Jane,\n\nI noticed Acme is hiring.\n\nBest, Sam"
    logger.warning("generated message:\n%s", body, extra={"body": body, "message_id": 7})
    (line,) = lines()
    assert "Acme" not in json.dumps(line)
    assert line["message"] == "generated message: [5 more lines redacted]"
    assert line["body"] == f"[{len(body)} chars redacted]"
    assert line["message_id"] == 7


@override_settings(EMAIL_HOST_PASSWORD="smtp-password-value-123", ANYMAIL={"WEBHOOK_SECRET": "hookuser:hook-password-456"})
def test_secret_values_are_blanked(log):
    logger, lines = log
    logger.error("login failed with smtp-password-value-123 and hook-password-456")
    assert lines()[0]["message"] == "login failed with [secret] and [secret]"


def test_exception_texts_are_redacted(log):
    logger, lines = log
    try:
        raise ValueError("recipient refused: <jane@example.com>")
    except ValueError:
        logger.exception("send failed", extra=message_fields(None))
    (line,) = lines()
    assert "jane@" not in line["exc"] and "[redacted]@example.com" in line["exc"]


def test_key_value_lines_render_fields_and_quote_spaces():
    record = logging.LogRecord("lockline", logging.INFO, __file__, 1, "bounce recorded", None, None)
    record.message_id = 12
    record.reason = "user unknown"
    text = KeyValueFormatter().format(record)
    assert text.endswith('INFO lockline bounce recorded message_id=12 reason="user unknown"')


def test_settings_put_the_filter_on_every_root_handler():
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    configured = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert configured and all(any(isinstance(f, RedactFilter) for f in h.filters) for h in configured)


@pytest.mark.django_db
def test_a_bounce_line_names_message_campaign_and_prompt_version_but_not_the_address(caplog):
    message = MessageFactory(to_email="gone@example.com", lead__email="gone@example.com")
    with caplog.at_level(logging.INFO, logger="bounces.services"):
        bounce_record(email="gone@example.com", source="smtp", category="hard", message=message,
                      status="5.1.1", smtp_code="550")
    (record,) = [r for r in caplog.records if r.getMessage() == "bounce recorded"]
    assert (record.message_id, record.campaign_id, record.prompt_version_id) == (
        message.pk, message.campaign_id, message.prompt_version_id,
    )
    assert record.category == "hard" and record.status == "5.1.1"
    assert "gone@" not in JsonFormatter().format(record)
