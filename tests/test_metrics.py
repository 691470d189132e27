"""Counters in Redis and the /metrics endpoint."""
import pytest
from django.db import transaction
from django.test import override_settings

from bounces.services import bounce_record
from lockline import metrics
from tests.factories import MessageFactory, StaffFactory, SuppressionFactory, UserFactory
from tests.ops_fixtures import clean_redis, closed_port_url  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("clean_redis")
TOKEN = "t" * 40


def test_counters_add_up_per_label_set():
    metrics.incr("sends", outcome="sent")
    metrics.incr("sends", outcome="sent")
    metrics.incr("sends", 3, outcome="deferred")
    metrics.incr("reconciler_actions", action="requeued,now")  # a separator inside a value
    assert metrics.snapshot() == {
        "sends": {(("outcome", "sent"),): 2, (("outcome", "deferred"),): 3},
        "reconciler_actions": {(("action", "requeued_now"),): 1},
    }


def test_several_label_sets_at_once_add_up_like_single_increments():
    metrics.incr_many("bounces", [(2, {"category": "hard", "source": "webhook"}),
                                  (1, {"category": "soft", "source": "webhook"})])
    metrics.incr("bounces", category="hard", source="webhook")
    assert metrics.snapshot() == {"bounces": {
        (("category", "hard"), ("source", "webhook")): 3, (("category", "soft"), ("source", "webhook")): 1,
    }}
    with pytest.raises(ValueError):
        metrics.incr_many("bounces", [(1, {"Category": "hard"})])


def test_a_malformed_name_is_a_programming_error():
    with pytest.raises(ValueError):
        metrics.incr("Sends Total")


def test_with_redis_down_counting_never_raises():
    with override_settings(LOCKLINE_METRICS_REDIS_URL=closed_port_url("redis")):
        metrics.incr("sends", outcome="sent")
        metrics.incr_many("sends", [(1, {"outcome": "sent"}), (2, {"outcome": "deferred"})])
        assert metrics.snapshot() == {}


@pytest.mark.django_db(transaction=True)
def test_a_bounce_is_counted_once_when_committed_and_never_when_rolled_back():
    message = MessageFactory()
    for _ in range(2):  # a redelivery of the same event
        bounce_record(email=message.to_email, source="webhook", category="soft", message=message,
                      dedupe_key="esp:event-1")
    with pytest.raises(RuntimeError), transaction.atomic():
        bounce_record(email=message.to_email, source="webhook", category="hard", message=message,
                      dedupe_key="esp:event-2")
        raise RuntimeError("the webhook batch failed")
    assert metrics.snapshot()["bounces"] == {(("category", "soft"), ("source", "webhook")): 1}


@pytest.mark.django_db(transaction=True)
def test_a_new_suppression_is_counted_and_a_repeat_is_not():
    message = MessageFactory()
    bounce_record(email=message.to_email, source="smtp", category="hard", message=message, status="5.1.1")
    bounce_record(email=message.to_email, source="dsn", category="hard", message=message, status="5.1.1")
    assert metrics.snapshot()["suppressions"] == {(("reason", "hard_bounce"),): 1}


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
def test_metrics_are_refused_without_staff_or_the_token(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    with override_settings(METRICS_TOKEN=TOKEN):
        assert client.get("/metrics", **headers).status_code == 403
    client.force_login(UserFactory())  # logged in, not staff
    assert client.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_metrics_without_a_configured_token_accept_no_bearer(client):
    with override_settings(METRICS_TOKEN=""):
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_prometheus_scrapes_database_totals_and_counters_with_the_token(client):
    MessageFactory(state="queued")
    SuppressionFactory(reason="complaint")
    metrics.incr("bounces", category="hard", source="smtp")
    with override_settings(METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    lines = response.content.decode().splitlines()
    assert 'lockline_messages{state="queued"} 1' in lines
    assert 'lockline_messages{state="sent"} 0' in lines
    assert 'lockline_suppressions_active{reason="complaint"} 1' in lines
    assert "# TYPE lockline_bounces_total counter" in lines
    assert 'lockline_bounces_total{category="hard",source="smtp"} 1' in lines


@pytest.mark.django_db
def test_staff_can_read_metrics_in_a_browser(client):
    client.force_login(StaffFactory())
    assert b"lockline_messages" in client.get("/metrics").content
