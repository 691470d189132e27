"""An event's lead without a database key (see the note in bounces/models.py): the rows never
name a lead that is gone, whoever deletes it and whenever."""
import threading
import time

import pytest
from django.db import connection, transaction

from bounces.models import BounceEvent, EngagementEvent
from bounces.services import bounce_record
from leads.models import Lead
from tests.factories import LeadFactory, MessageFactory


def dangling_links() -> list[tuple[str, int]]:
    """(table, lead id) of every event row naming a lead that does not exist."""
    found = []
    with connection.cursor() as cursor:
        for model in (BounceEvent, EngagementEvent):
            table = model._meta.db_table
            cursor.execute(f"SELECT %s, lead_id FROM {table} e WHERE lead_id IS NOT NULL "
                           "AND NOT EXISTS (SELECT 1 FROM leads_lead l WHERE l.id = e.lead_id)", [table])
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


@pytest.mark.django_db(transaction=True)
def test_a_lead_deleted_while_an_event_naming_it_is_written_leaves_no_dangling_link():
    """The writer holds the lead it links by address until it commits; the deletion waits for
    it, then clears the committed row's link."""
    LeadFactory(email="racing@example.com")
    linked, release, errors = threading.Event(), threading.Event(), []

    def writer():
        try:
            with transaction.atomic():
                bounce_record(email="racing@example.com", source="dsn", category="soft", status="4.2.2")
                linked.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    def deleter():
        try:
            Lead.objects.filter(email="racing@example.com").delete()
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
        assert _waiting_on_a_lock('DELETE FROM "leads_lead"'), "the deletion did not wait for the writer"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert not Lead.objects.filter(email="racing@example.com").exists()
    event = BounceEvent.objects.get(email="racing@example.com")
    assert event.lead_id is None
    assert dangling_links() == []
