"""An event's lead and message without database keys (see the note in bounces/models.py): the
rows never name a lead or a message that is gone, whoever deletes it and whenever."""
import threading
import time

import psycopg2
import pytest
from django.db import IntegrityError, connection, transaction

from bounces.models import BounceEvent, EngagementEvent
from bounces.services import bounce_record, messages_hold_for_link
from campaigns.models import Message
from campaigns.tokens import message_token
from leads.models import Lead
from tests.factories import LeadFactory, MessageFactory
from tests.webhook_support import esp_settings, post, sendgrid_event

assert esp_settings  # a fixture


def dangling_links() -> list[tuple[str, str, int]]:
    """(table, column, id) of every event row naming a lead or a message that does not exist."""
    found = []
    with connection.cursor() as cursor:
        for model in (BounceEvent, EngagementEvent):
            table = model._meta.db_table
            for column, target in (("lead_id", "leads_lead"), ("message_id", "campaigns_message")):
                cursor.execute(f"SELECT %s, %s, {column} FROM {table} e WHERE {column} IS NOT NULL "
                               f"AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.id = e.{column})", [table, column])
                found.extend(cursor.fetchall())
    return found


@pytest.mark.django_db
def test_deleting_leads_outside_django_clears_their_events_lead():
    """What ON DELETE SET NULL did: a lead deleted by SQL (an operator's script, a data-erasure
    job) takes its events' link with it, the events stay."""
    lead = LeadFactory(email="erased@example.com")
    kept = LeadFactory(email="kept@example.com")
    bounce = bounce_record(email="erased@example.com", source="dsn", category="soft", status="4.2.2").event
    other = bounce_record(email="kept@example.com", source="dsn", category="soft", status="4.2.2").event
    opened = EngagementEvent.objects.create(lead=lead, email=lead.email, event_type="opened", dedupe_key="o-erased")
    assert bounce.lead_id == lead.pk  # linked by address, no message
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM leads_lead WHERE id = %s", [lead.pk])
    for event in (bounce, opened, other):
        event.refresh_from_db()
    assert (bounce.lead_id, opened.lead_id, other.lead_id) == (None, None, kept.pk)
    assert dangling_links() == []


@pytest.mark.django_db
def test_deleting_a_lead_through_django_clears_its_events_lead():
    message = MessageFactory()
    lead = message.lead
    bounce = bounce_record(email=lead.email, source="smtp", category="soft", status="4.2.2", message=message).event
    assert bounce.lead_id == lead.pk
    message.delete()
    lead.delete()
    bounce.refresh_from_db()
    assert (bounce.lead_id, bounce.message_id) == (None, None)


def _waiting_on_a_lock(statement_start: str, timeout: float = 10.0) -> bool:
    """Whether another session is waiting on a lock while running a statement starting so."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                [statement_start + "%"],
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def _write_while_deleting(*, write, delete, delete_starts: str) -> None:
    """Run ``write`` in a transaction held open on one thread, then ``delete`` on another;
    assert the deletion waits for the writer (a statement starting ``delete_starts`` waiting on
    a lock), then let the writer commit and both finish without error."""
    linked, release, errors = threading.Event(), threading.Event(), []

    def writer():
        try:
            with transaction.atomic():
                write()
                linked.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    def deleter():
        try:
            delete()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer)]
    threads[0].start()
    assert linked.wait(10)
    threads.append(threading.Thread(target=deleter))
    threads[1].start()
    try:
        assert _waiting_on_a_lock(delete_starts), "the deletion did not wait for the writer"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_a_lead_deleted_while_an_event_naming_it_is_written_leaves_no_dangling_link():
    """The writer holds the lead it links by address until it commits; the deletion waits for
    it, then clears the committed row's link."""
    LeadFactory(email="racing@example.com")
    _write_while_deleting(
        write=lambda: bounce_record(email="racing@example.com", source="dsn", category="soft", status="4.2.2"),
        delete=lambda: Lead.objects.filter(email="racing@example.com").delete(),
        delete_starts='DELETE FROM "leads_lead"',
    )
    assert not Lead.objects.filter(email="racing@example.com").exists()
    event = BounceEvent.objects.get(email="racing@example.com")
    assert event.lead_id is None
    assert dangling_links() == []


@pytest.mark.django_db
def test_deleting_messages_outside_django_clears_their_events_message():
    message, kept = MessageFactory(), MessageFactory()
    bounce = bounce_record(email=message.to_email, source="smtp", category="soft", status="4.2.2", message=message).event
    other = bounce_record(email=kept.to_email, source="smtp", category="soft", status="4.2.2", message=kept).event
    opened = EngagementEvent.objects.create(message=message, lead=message.lead, email=message.to_email,
                                            event_type="opened", dedupe_key="o-deleted-message")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM campaigns_message WHERE id = %s", [message.pk])
    for event in (bounce, opened, other):
        event.refresh_from_db()
    assert (bounce.message_id, opened.message_id, other.message_id) == (None, None, kept.pk)
    assert bounce.lead_id == message.lead_id  # the lead is still there: its link stays
    assert dangling_links() == []


@pytest.mark.django_db
def test_an_event_naming_a_message_that_is_gone_is_refused_and_nothing_is_written():
    message = MessageFactory()
    Message.objects.filter(pk=message.pk).delete()
    with pytest.raises(IntegrityError, match="deleted while their events were being recorded"):
        with transaction.atomic():
            bounce_record(email=message.to_email, source="smtp", category="hard", status="5.1.1", message=message)
    assert not BounceEvent.objects.exists()
    with pytest.raises(IntegrityError):
        messages_hold_for_link(ids=[MessageFactory().pk, message.pk])


@pytest.mark.django_db(transaction=True)
def test_a_message_deleted_while_an_event_naming_it_is_written_leaves_no_dangling_link():
    """The writer holds the message its row names until it commits; the deletion waits for it,
    then clears the committed row's link."""
    message = MessageFactory()

    def delete():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM campaigns_message WHERE id = %s", [message.pk])

    _write_while_deleting(
        write=lambda: bounce_record(email=message.to_email, source="smtp", category="soft", status="4.2.2",
                                    message=message),
        delete=delete,
        delete_starts="DELETE FROM campaigns_message",
    )
    assert not Message.objects.filter(pk=message.pk).exists()
    event = BounceEvent.objects.get(email=message.to_email)
    assert event.message_id is None
    assert dangling_links() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("esp_settings")
@pytest.mark.parametrize("event", [dict(event="open"), dict(event="deferred", response="450 4.2.1 try later")])
@pytest.mark.parametrize("matched_by", ["token", "esp message id", "recipient"])
def test_a_webhook_batch_holds_the_messages_its_rows_name_until_it_commits(client, event, matched_by):
    """Engagement and bounce rows alike, however their message was found: until the request's
    transaction ends (here an outer one the test keeps open), the message cannot be deleted."""
    message = MessageFactory(esp_message_id="<sg-held@ismtpd>")  # committed
    if matched_by == "token":
        event = dict(event, lockline_message_id=str(message.pk), lockline_token=message_token(message.pk))
    elif matched_by == "esp message id":
        event = dict(event, **{"smtp-id": message.esp_message_id})
    body = [sendgrid_event(message.to_email, **event)]
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with transaction.atomic():
            assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 200
            assert [*BounceEvent.objects.values_list("message_id", flat=True),
                    *EngagementEvent.objects.values_list("message_id", flat=True)] == [message.pk]
            with other.cursor() as cursor:
                cursor.execute("SET lock_timeout = '300ms'")
                with pytest.raises(psycopg2.errors.LockNotAvailable):
                    cursor.execute("DELETE FROM campaigns_message WHERE id = %s", [message.pk])
            other.rollback()
        with other.cursor() as cursor:  # once committed, the deletion goes through and clears the link
            cursor.execute("DELETE FROM campaigns_message WHERE id = %s", [message.pk])
        other.commit()
    finally:
        other.close()
    assert dangling_links() == []
    assert [*BounceEvent.objects.values_list("message_id", flat=True),
            *EngagementEvent.objects.values_list("message_id", flat=True)] == [None]
