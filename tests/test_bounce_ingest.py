"""Bounce mail ingestion end to end: each route stores, parses, records and suppresses."""
import mailbox
from pathlib import Path

import pytest
from django.core.management import call_command

from bounces.ingest import inbound_mail_ingest
from bounces.models import BounceEvent, InboundMail, Suppression
from campaigns.tokens import message_token, rfc_message_id
from leads.models import Lead
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).parent / "samples"


def render(name: str, message) -> bytes:
    text = (SAMPLES / f"{name}.eml.tmpl").read_text()
    return text.format(
        recipient=message.to_email, token=message_token(message.pk), message_id=message.message_id
    ).encode()


@pytest.fixture
def sent_message():
    message = MessageFactory(lead__email="gone@example.org", state="sent")
    message.message_id = rfc_message_id(message.pk)
    message.save(update_fields=["message_id"])
    return message


def assert_hard_bounce_recorded(message):
    event = BounceEvent.objects.get()
    assert (event.source, event.category, event.reason, event.status) == ("dsn", "hard", "userunknown", "5.1.1")
    assert event.message == message and event.campaign_id == message.campaign_id
    assert event.prompt_version_id == message.prompt_version_id
    assert "Recipient address rejected" in event.raw
    suppression = Suppression.objects.active().get(email="gone@example.org")
    assert suppression.reason == "hard_bounce" and suppression.bounce_event == event
    assert Lead.objects.get(pk=message.lead_id).status == Lead.Status.SUPPRESSED
    message.refresh_from_db()
    assert message.state == "bounced"


def test_a_mailer_daemon_bounce_file_suppresses_the_right_lead(sent_message, tmp_path):
    path = tmp_path / "bounce.eml"
    path.write_bytes(render("postfix-5.1.1", sent_message))
    MessageFactory(lead__email="other@example.org")  # a bystander that must stay untouched
    call_command("ingest_bounces", str(path))
    assert_hard_bounce_recorded(sent_message)
    assert Lead.objects.get(email="other@example.org").status == Lead.Status.ACTIVE


def test_an_mbox_of_bounces_is_ingested(sent_message, tmp_path):
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(render("postfix-5.1.1", sent_message))
    box.add(render("vacation", sent_message))
    box.close()
    call_command("ingest_bounces", "--mbox", str(tmp_path / "bounces.mbox"))
    assert_hard_bounce_recorded(sent_message)
    assert InboundMail.objects.filter(status="ignored").count() == 1


def test_a_maildir_is_ingested_and_its_messages_marked_read(sent_message, tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(mailbox.MaildirMessage(render("postfix-5.1.1", sent_message)))
    call_command("ingest_bounces", "--maildir", str(tmp_path / "Maildir"))
    assert_hard_bounce_recorded(sent_message)
    assert not list((tmp_path / "Maildir" / "new").iterdir())
    assert [p.name.endswith(":2,S") for p in (tmp_path / "Maildir" / "cur").iterdir()] == [True]
    call_command("ingest_bounces", "--maildir", str(tmp_path / "Maildir"))  # nothing new to read
    assert InboundMail.objects.count() == 1


def test_a_bounce_forwarded_by_an_esp_inbound_route_suppresses_the_lead(sent_message, client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "esp:inbound-secret"}
    # SendGrid's Inbound Parse with "POST the raw, full MIME message" on: the MIME is in `email`.
    response = client.post(
        "/anymail/sendgrid/inbound/",
        {"email": render("postfix-5.1.1", sent_message).decode(), "charsets": '{"email": "utf-8"}'},
        HTTP_AUTHORIZATION="Basic ZXNwOmluYm91bmQtc2VjcmV0",
    )
    assert response.status_code == 200
    assert_hard_bounce_recorded(sent_message)
    assert InboundMail.objects.get().origin == "webhook"


def test_the_inbound_route_refuses_requests_without_credentials(sent_message, client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "esp:inbound-secret"}
    response = client.post("/anymail/sendgrid/inbound/", {"email": render("postfix-5.1.1", sent_message).decode()})
    assert response.status_code == 400
    assert not InboundMail.objects.exists() and not BounceEvent.objects.exists()


def test_the_same_bounce_ingested_twice_is_recorded_once(sent_message):
    raw = render("postfix-5.1.1", sent_message)
    first = inbound_mail_ingest(raw=raw, origin="file")
    second = inbound_mail_ingest(raw=raw, origin="file")
    # Re-encoded by a route (CRLF line ends): a different byte digest, the same bounce.
    third = inbound_mail_ingest(raw=raw.replace(b"\n", b"\r\n"), origin="webhook")
    assert not first.duplicate and second.duplicate and not third.duplicate
    assert BounceEvent.objects.count() == 1 and Suppression.objects.count() == 1


def test_a_delay_warning_never_suppresses(sent_message):
    inbound = inbound_mail_ingest(raw=render("delay-4.4.1", sent_message), origin="file").inbound
    assert inbound.kind == "delay"
    event = BounceEvent.objects.get()
    assert event.category == "transient" and event.status == "4.4.1"
    assert not Suppression.objects.exists()
    assert Lead.objects.get(pk=sent_message.lead_id).status == Lead.Status.ACTIVE


def test_an_arf_complaint_suppresses_with_reason_complaint(sent_message):
    inbound = inbound_mail_ingest(raw=render("arf-abuse", sent_message), origin="file").inbound
    assert inbound.kind == "complaint"
    event = BounceEvent.objects.get()
    assert event.category == "complaint" and event.message == sent_message
    assert Suppression.objects.active().get(email=sent_message.to_email).reason == "complaint"


def test_an_auto_reply_is_not_a_bounce(sent_message):
    inbound = inbound_mail_ingest(raw=render("vacation", sent_message), origin="file").inbound
    assert (inbound.status, inbound.kind) == ("ignored", "auto_reply")
    assert not BounceEvent.objects.exists() and not Suppression.objects.exists()


@pytest.mark.parametrize("raw", [b"\x00\xff garbage \x80" * 50, b"", b"Subject: bounce?\n\nno report here"])
def test_mail_that_cannot_be_understood_is_stored_and_flagged_for_review(raw):
    inbound = inbound_mail_ingest(raw=raw, origin="file").inbound
    inbound.refresh_from_db()
    assert inbound.status in ("needs_review", "ignored")
    assert bytes(inbound.raw) == raw
    assert not BounceEvent.objects.exists()


def test_a_bounce_naming_no_recipient_goes_to_review(tmp_path):
    raw = (b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\n"
           b"Content-Type: text/plain\n\nYour message could not be delivered.\n")
    inbound = inbound_mail_ingest(raw=raw, origin="file").inbound
    assert inbound.status == "needs_review" and inbound.parse_error


def test_the_bounce_mailbox_is_polled_over_imap_and_read_mail_is_not_read_twice(sent_message, imap_server, settings):
    imap_server.deliver(render("postfix-5.1.1", sent_message))
    imap_server.deliver(render("vacation", sent_message))
    settings.BOUNCE_IMAP_URL = imap_server.url
    settings.BOUNCE_MAILDIR = ""
    from bounces.tasks import bounce_mailbox_poll

    assert bounce_mailbox_poll() == 2
    assert_hard_bounce_recorded(sent_message)
    assert bounce_mailbox_poll() == 0  # both flagged \Seen on the server
    client = imap_server.client()
    client.select("INBOX")
    assert len(client.uid("SEARCH", None, "SEEN")[1][0].split()) == 2
    client.logout()


def test_ingest_command_reads_an_imap_mailbox(sent_message, imap_server):
    imap_server.deliver(render("postfix-5.1.1", sent_message))
    call_command("ingest_bounces", "--imap", imap_server.url)
    assert_hard_bounce_recorded(sent_message)


def unsubscribe_mail(token: str, *, to_header: str | None = None) -> bytes:
    """What a mail client sends for the mailto in our List-Unsubscribe header."""
    to = to_header or f"unsubscribe+{token}@lockline.test"
    return (f"From: Ada <gone@example.org>\r\nTo: {to}\r\nSubject: unsubscribe\r\n"
            f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <reply-{token[:8]}@example.org>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease remove me.\r\n").encode()


def test_mail_to_the_unsubscribe_mailto_suppresses_the_recipient(sent_message, client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "esp:inbound-secret"}
    raw = unsubscribe_mail(message_token(sent_message.pk), to_header=f'"Lockline" <unsubscribe+{message_token(sent_message.pk)}@lockline.test>')

    response = client.post("/anymail/sendgrid/inbound/", {"email": raw.decode(), "charsets": '{"email": "utf-8"}'},
                           HTTP_AUTHORIZATION="Basic ZXNwOmluYm91bmQtc2VjcmV0")

    assert response.status_code == 200
    event = BounceEvent.objects.get()
    assert (event.category, event.reason, event.detail, event.message) == ("unsubscribe", "unsubscribe", "mailto", sent_message)
    assert Suppression.objects.active().get(email="gone@example.org").reason == "unsubscribe"
    inbound = InboundMail.objects.get()
    assert (inbound.status, inbound.kind, inbound.event_count) == ("recorded", "unsubscribe", 1)
    # The same request sent again (a second click of the mailto) changes nothing.
    inbound_mail_ingest(raw=unsubscribe_mail(message_token(sent_message.pk)), origin="file")
    assert BounceEvent.objects.count() == 1 and Suppression.objects.count() == 1


def test_a_forged_unsubscribe_token_unsubscribes_nobody(sent_message):
    token = message_token(sent_message.pk)
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")

    inbound_mail_ingest(raw=unsubscribe_mail(forged), origin="file")

    assert not Suppression.objects.exists() and not BounceEvent.objects.exists()


def test_a_bounce_that_quotes_our_unsubscribe_address_is_still_a_bounce(sent_message):
    # The returned headers carry our own List-Unsubscribe: only the bounce's own headers count.
    raw = render("postfix-5.1.1", sent_message).replace(
        b"X-Lockline-Message-ID:",
        f"List-Unsubscribe: <mailto:unsubscribe+{message_token(sent_message.pk)}@lockline.test>\nX-Lockline-Message-ID:".encode(), 1)

    inbound_mail_ingest(raw=raw, origin="file")

    assert_hard_bounce_recorded(sent_message)
