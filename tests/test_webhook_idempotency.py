"""Redeliveries, concurrent deliveries and a database failure in the middle of a batch."""
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from bounces.models import BounceEvent, EngagementEvent, FlaggedWebhookEvent, Suppression
from tests.factories import LeadFactory
from tests.webhook_support import (
    brevo_event, esp_settings, mailgun_failed, mailjet_bounce, now_epoch, post, post_sns, postmark_bounce,
    resend_bounce, resend_headers, sendgrid_batch, sendgrid_event, ses_bounce, sns_envelope, sparkpost_bounce,
)

pytestmark = [pytest.mark.usefixtures("esp_settings")]
assert esp_settings


def counts():
    return (BounceEvent.objects.count(), EngagementEvent.objects.count(), Suppression.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize("path, body", [
    ("/anymail/sendgrid/tracking/", sendgrid_batch()),
    ("/anymail/brevo/tracking/", brevo_event()),  # Brevo sends no event id
    ("/anymail/mailjet/tracking/", [mailjet_bounce()]),  # nor does Mailjet
    ("/anymail/postmark/tracking/", postmark_bounce()),
    ("/anymail/mailgun/tracking/", mailgun_failed()),
])
def test_the_same_post_twice_is_recorded_once(client, path, body):
    assert post(client, path, body).status_code == 200
    first = counts()
    assert first[0] >= 1
    assert post(client, path, body).status_code == 200
    assert counts() == first


@pytest.mark.django_db
def test_sendgrid_retries_with_new_sg_event_ids_are_still_one_event(client):
    body = [sendgrid_event("a@example.com", status="5.1.1", reason="550 5.1.1 unknown")]
    post(client, "/anymail/sendgrid/tracking/", body)
    body[0]["sg_event_id"] = "a-different-id-on-retry"
    post(client, "/anymail/sendgrid/tracking/", body)
    assert counts() == (1, 0, 1)


@pytest.mark.django_db
def test_a_resend_event_replayed_under_a_new_svix_id_is_still_one_event(client):
    body = json.dumps(resend_bounce("gone@example.com"))
    for _ in range(2):  # a new svix-id each time, as a resend from Resend's dashboard has
        assert post(client, "/anymail/resend/tracking/", body, **resend_headers(body)).status_code == 200
    assert counts() == (1, 0, 1)


@pytest.mark.django_db
def test_events_of_different_types_sharing_an_esp_event_id_are_each_recorded(client):
    # SparkPost's documented samples give every event type the same event_id and recipient.
    (bounce, _ping) = sparkpost_bounce("shared@example.com", event_id="92356927693813856")
    complaint = json.loads(json.dumps(bounce))
    complaint["msys"]["message_event"].update(type="spam_complaint", fbtype="abuse")
    click = {"msys": {"track_event": {**bounce["msys"]["message_event"], "type": "click",
                                      "target_link_url": "https://lockline.test/offer"}}}
    batch = [bounce, complaint, click]
    assert post(client, "/anymail/sparkpost/tracking/", batch).status_code == 200
    assert sorted(BounceEvent.objects.values_list("category", flat=True)) == ["complaint", "hard"]
    assert list(EngagementEvent.objects.values_list("event_type", flat=True)) == ["clicked"]
    assert post(client, "/anymail/sparkpost/tracking/", batch).status_code == 200
    assert counts() == (2, 1, 1)


@pytest.mark.django_db
def test_two_clicks_on_different_links_in_the_same_second_are_two_events(client):
    ts = now_epoch()
    clicks = [sendgrid_event("reader@example.com", event="click", url=url, timestamp=ts)
              for url in ("https://lockline.test/a", "https://lockline.test/b")]
    assert post(client, "/anymail/sendgrid/tracking/", clicks).status_code == 200
    for click in clicks:
        click["sg_event_id"] = "changed-on-retry"  # SendGrid's ids are not trusted
    assert post(client, "/anymail/sendgrid/tracking/", clicks).status_code == 200
    assert sorted(EngagementEvent.objects.values_list("click_url", flat=True)) == [
        "https://lockline.test/a", "https://lockline.test/b"]


@pytest.mark.django_db
def test_events_told_apart_only_by_an_esp_internal_id_or_campaign_are_each_recorded(client):
    ts = now_epoch()
    # Mailjet's grouped events may carry only mj_message_id; Brevo's marketing events only camp_id.
    sends = [{"event": "sent", "time": ts, "email": "twice@example.com", "mj_message_id": mj_id, "mj_campaign_id": 7}
             for mj_id in ("188000000000000172", "188000000000000684")]
    opens = [{"event": "opened", "email": "twice@example.com", "camp_id": camp, "ts_event": ts,
              "date_event": "2026-11-28 10:00:00"} for camp in (41, 42)]
    for path, events in (("/anymail/mailjet/tracking/", sends), ("/anymail/brevo/tracking/", opens)):
        bodies = [events] if path.startswith("/anymail/mailjet") else events
        for _ in range(2):  # and a redelivery changes nothing
            for body in bodies:
                assert post(client, path, body).status_code == 200, path
    assert sorted(EngagementEvent.objects.values_list("esp_name", "event_type")) == [
        ("Brevo", "opened"), ("Brevo", "opened"), ("Mailjet", "delivered"), ("Mailjet", "delivered")]


@pytest.mark.django_db
def test_a_mailgun_retry_with_a_new_signature_token_is_still_one_event(client):
    first = mailgun_failed(event_id="mailgun-event-1")
    post(client, "/anymail/mailgun/tracking/", first)
    retry = mailgun_failed(event_id="mailgun-event-1")
    retry["event-data"]["timestamp"] = first["event-data"]["timestamp"]
    assert retry["signature"]["token"] != first["signature"]["token"]
    post(client, "/anymail/mailgun/tracking/", retry)
    assert counts() == (1, 0, 1)


@pytest.mark.django_db
def test_an_sns_redelivery_is_one_event(client):
    envelope = sns_envelope(ses_bounce())
    post_sns(client, envelope)
    post_sns(client, envelope)
    assert counts() == (1, 0, 1)


def _post_concurrently(n, path, body, **headers):
    barrier = threading.Barrier(n)
    statuses = []

    def worker():
        try:
            barrier.wait(timeout=10)
            statuses.append(post(Client(), path, body, **headers).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_posts_of_one_event_make_one_event_and_one_suppression():
    body = [sendgrid_event("race@example.com", status="5.1.1", reason="550 5.1.1 unknown")]
    assert _post_concurrently(5, "/anymail/sendgrid/tracking/", body) == [200] * 5
    assert counts() == (1, 0, 1)


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_posts_of_a_batch_record_each_event_once():
    LeadFactory(email="example@test.com")
    body = sendgrid_batch()
    assert _post_concurrently(5, "/anymail/sendgrid/tracking/", body) == [200] * 5
    assert counts() == (6, 3, 1)


def _batch_of(n):
    """A SendGrid batch of n events for n addresses: a mix of bounces and engagement."""
    kinds = [dict(event="bounce", status="5.1.1", reason="550 5.1.1 unknown"), dict(event="delivered"),
             dict(event="bounce", type="blocked", status="5.7.1", reason="550 5.7.1 blocked"), dict(event="open")]
    return [sendgrid_event(f"user{i}@example.com", sg_message_id=f"m{i}", **kinds[i % 4]) for i in range(n)]


@pytest.fixture
def failing_table():
    """Make inserts into a table fail for one address, as a full disk or a lost connection would,
    partway through a batch's statement; yields a function that arms the trigger."""
    armed = []

    def arm(table, email):
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION lockline_test_fail() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.email = '{email}' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(f"CREATE TRIGGER lockline_test_fail BEFORE INSERT ON {table} FOR EACH ROW "
                           "EXECUTE FUNCTION lockline_test_fail()")
        armed.append(table)

    def disarm():
        with connection.cursor() as cursor:
            for table in armed:
                cursor.execute(f"DROP TRIGGER IF EXISTS lockline_test_fail ON {table}")
        armed.clear()

    arm.disarm = disarm
    yield arm
    disarm()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", ["bounces_bounceevent", "bounces_engagementevent", "bounces_suppression"])
def test_a_database_failure_mid_batch_answers_5xx_and_the_retry_records_every_event_once(failing_table, table):
    body = _batch_of(400)
    # user200: a hard bounce (index 200 % 4 == 0); user201: a delivery. Both mid-batch.
    failing_table(table, "user201@example.com" if "engagement" in table else "user200@example.com")
    client = Client(raise_request_exception=False)
    response = post(client, "/anymail/sendgrid/tracking/", body)
    assert response.status_code == 500  # the ESP will retry the whole batch
    assert counts() == (0, 0, 0) and not FlaggedWebhookEvent.objects.exists()  # nothing half-written
    failing_table.disarm()
    assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 200  # the ESP's retry
    assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 200  # and a duplicate retry
    assert counts() == (200, 200, 100)
    assert BounceEvent.objects.values("dedupe_key").distinct().count() == 200
    assert set(EngagementEvent.objects.values_list("email", flat=True)) == {
        f"user{i}@example.com" for i in range(400) if i % 4 in (1, 3)}
    assert json.loads(BounceEvent.objects.get(email="user200@example.com").raw)["event"] == "bounce"


@pytest.fixture
def database_outage():
    """Take the test database away as a PostgreSQL restart does: no new connections, the open ones
    dropped. ``database_outage()`` starts it, ``database_outage.end()`` ends it."""
    import psycopg2

    name, params = connection.settings_dict["NAME"], connection.get_connection_params()
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True

    def start():
        with admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", [name])

    def end():
        with admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        connection.close()  # the old session is gone; the next query reconnects

    start.end = end
    yield start
    end()
    admin.close()


@pytest.mark.django_db(transaction=True)
def test_a_post_while_the_database_is_down_answers_503_with_retry_after_and_the_retry_records_it(database_outage):
    body = _batch_of(40)
    client = Client(raise_request_exception=False)
    database_outage()

    response = post(client, "/anymail/sendgrid/tracking/", body)

    assert response.status_code == 503
    assert response["Retry-After"] == "30" and b"database cannot be reached" in response.content
    database_outage.end()
    assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 200  # the ESP's retry
    assert counts() == (20, 20, 10)
