"""Sending through an ESP (Anymail's test backend simulates the ESP's answers) and the sink's
late DSNs."""
from email import message_from_bytes

import pytest
from anymail.message import AnymailRecipientStatus

from bounces.models import BounceEvent, Suppression
from campaigns.delivery import send as send_module
from campaigns.delivery.send import message_send
from campaigns.sink import DEFAULT_RULES, SmtpSink
from campaigns.tokens import find_token
from tests.sending.conftest import running_message
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def esp(settings, mailoutbox):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    send_module._connection_drop()
    yield mailoutbox
    send_module._connection_drop()


def test_an_esp_send_carries_metadata_and_records_the_esp_message_id(esp):
    message = running_message("ada@acme.example")
    assert message_send(message_id=message.pk).action == "sent"
    message.refresh_from_db()
    [sent] = esp
    assert sent.metadata["lockline_message_id"] == str(message.pk)
    assert sent.metadata["prompt_version_id"] == str(message.prompt_version_id)
    assert sent.from_email == "outreach@lockline.test"  # the ESP sets its own Return-Path
    assert find_token(sent.extra_headers["X-Lockline-Message-ID"]) == message.pk
    assert message.state == "sent" and message.esp_message_id == "0"


@pytest.mark.parametrize("status,state,category", [("rejected", "bounced", "hard"), ("failed", "deferred", "transient")])
def test_an_esp_recipient_status_is_classified_like_an_smtp_reply(esp, monkeypatch, status, state, category):
    compose = send_module.message_email

    def with_esp_answer(message, **kwargs):
        email = compose(message, **kwargs)
        email.anymail_test_response = {
            "recipient_status": {message.to_email: AnymailRecipientStatus(message_id="esp-1", status=status)}}
        return email

    monkeypatch.setattr(send_module, "message_email", with_esp_answer)
    message = running_message("ada@acme.example")
    message_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.state == state
    assert BounceEvent.objects.get(message=message).category == category
    assert Suppression.objects.filter(email=message.to_email).exists() == (category == "hard")


def test_the_sink_mails_back_a_dsn_to_the_verp_address_for_a_late_bounce(sink):
    with SmtpSink(rules=[]) as relay:
        sink.dsn_relay, sink.dsn_delay = f"127.0.0.1:{relay.port}", 0.05
        message = running_message("late.ada@acme.example")
        assert message_send(message_id=message.pk).action == "sent"  # accepted first

        wait_for(lambda: relay.received, timeout=10, message="the DSN")
        [dsn] = relay.received
        assert find_token(dsn.rcpt) == message.pk  # it went to bounces+<token>@...
        report = message_from_bytes(dsn.data)
        assert report.get_content_type() == "multipart/report"
        status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
        text = status.as_string()
        assert "Status: 5.1.1" in text and "Final-Recipient: rfc822; late.ada@acme.example" in text
        assert find_token(report.as_string().split("text/rfc822-headers", 1)[1]) == message.pk
    assert DEFAULT_RULES  # the defaults include the late. rule used here
