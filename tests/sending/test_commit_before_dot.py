"""The SMTP backend records a message as sent before the server can accept it."""
import pytest
from django.core.mail import EmailMessage, get_connection

from campaigns.delivery.send import message_send
from campaigns.delivery.smtp import before_final_dot
from campaigns.models import Message
from tests.sending.conftest import both_smtp_dialogues, rule, running_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink_rules():
    return [rule(r"^filtered\.=data:554 5.7.1 Message refused: spam content detected")]


def send_one(to: str) -> None:
    connection = get_connection(fail_silently=False)
    EmailMessage("Hello", "A body\n.\nwith a lone dot line", "outreach@lockline.test", [to],
                 connection=connection).send()
    connection.close()


def test_the_hook_runs_after_the_body_and_before_the_server_accepts(sink):
    seen_by_server_at_hook = []
    with before_final_dot(lambda: seen_by_server_at_hook.append(len(sink.received))):
        send_one("ada@acme.example")
    assert seen_by_server_at_hook == [0]  # the hook ran while the server had no message yet
    assert len(sink.received) == 1
    # A line holding only "." in the body was dot-stuffed, so it did not end the message early.
    assert b"A body\r\n.\r\nwith a lone dot line" in sink.received[0].data


def test_a_failing_hook_sends_no_final_dot_and_the_server_keeps_nothing(sink):
    def database_down():
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError), before_final_dot(database_down):
        send_one("ada@acme.example")
    assert sink.received == []


def test_without_a_hook_the_backend_sends_like_djangos(sink):
    send_one("ada@acme.example")
    assert sink.count_by_rcpt() == {"ada@acme.example": 1}


def test_a_send_is_recorded_before_the_final_dot_and_confirmed_after(sink):
    message = running_message("ada@acme.example")
    outcome = message_send(message_id=message.pk)
    message.refresh_from_db()
    assert outcome.action == "sent" and message.state == "sent"
    assert message.lead.__class__.objects.get(pk=message.lead_id).last_delivered_at is not None
    assert sink.count_by_rcpt() == {"ada@acme.example": 1}


@both_smtp_dialogues
def test_a_refusal_after_the_final_dot_replaces_the_provisional_sent(sink):
    # The server takes the whole message, then its content filter refuses it.
    message = running_message("filtered.ada@acme.example")

    outcome = message_send(message_id=message.pk)

    message.refresh_from_db()
    assert outcome.action == "failed"
    assert message.state == Message.State.FAILED and "554" in message.last_response
    assert sink.received == []
