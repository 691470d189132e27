"""bounces.bulk: what goes in by COPY comes back exactly (or made storable), once per key."""
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounces import bulk
from bounces.bulk import _copy_text, insert_ignoring_conflicts, insert_rows
from bounces.models import EngagementEvent, FlaggedWebhookEvent
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["copy", "values"])
def insert_path(request, monkeypatch):
    """Every test runs through both ways in: COPY (batches) and VALUES (a few rows)."""
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 1 if request.param == "copy" else 10**9)
    return request.param

NASTY = [
    "", "plain", "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\", "ends with \\",
    "quote ' and \" and ,", "ünïcödé ✓ 漢字 🙂", "a\x00b", "lone \ud800 surrogate", "\\t literal", " \t\n ",
]


def _columns():
    return ("esp_name", "esp_event_type", "problem", "dedupe_key", "raw", "received_at")


def test_text_survives_copy_exactly_and_nul_and_surrogates_become_storable():
    now = timezone.now()
    rows = [("esp", "t", text, f"key-{i}", text, now) for i, text in enumerate(NASTY)]
    inserted = insert_rows(FlaggedWebhookEvent, _columns(), rows, returning=("dedupe_key",))
    assert len(inserted) == len(NASTY)
    stored = dict(FlaggedWebhookEvent.objects.values_list("dedupe_key", "raw"))
    for i, text in enumerate(NASTY):
        expected = text.replace("\x00", "\ufffd").replace("\ud800", "?")
        assert stored[f"key-{i}"] == expected, (i, text)


def test_rows_go_in_under_djangos_debug_cursor_too(insert_path):
    """With DEBUG on, Django wraps every cursor to log its queries, COPY included; the wrapper
    passes on only positional arguments."""
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        inserted = insert_rows(FlaggedWebhookEvent, _columns(), [("esp", "t", "p", "k", "raw", now)],
                               returning=("dedupe_key",))
    assert inserted == [("k",)]
    assert any("COPY" in q["sql"] for q in queries.captured_queries) == (insert_path == "copy")


def test_a_nul_inside_one_value_of_a_column_does_not_shift_the_others():
    now = timezone.now()
    rows = [("esp", "t", "p", f"k{i}", text, now) for i, text in enumerate(["a", "b\x00c", "d"])]
    insert_rows(FlaggedWebhookEvent, _columns(), rows, returning=("id",))
    assert dict(FlaggedWebhookEvent.objects.values_list("dedupe_key", "raw")) == {"k0": "a", "k1": "b\ufffdc", "k2": "d"}


def test_nulls_ids_and_datetimes_round_trip():
    message = MessageFactory()
    at = timezone.now() - timedelta(days=1, microseconds=7)
    columns = ("lead_id", "message_id", "campaign_id", "prompt_version_id", "email", "event_type", "esp_name",
               "esp_event_id", "esp_event_type", "click_url", "user_agent", "dedupe_key", "raw", "occurred_at",
               "received_at")
    rows = [
        (message.lead_id, message.pk, message.campaign_id, message.prompt_version_id, "a@example.com", "opened",
         "SendGrid", "id-1", "open", "", "UA", "k1", "{}", at, at),
        (None, None, None, None, "b@example.com", "clicked", "SendGrid", None, "click", "https://x/\t", "", "k2",
         "", at, at),
    ]
    assert sorted(insert_rows(EngagementEvent, columns, rows, returning=("dedupe_key",))) == [("k1",), ("k2",)]
    one, two = EngagementEvent.objects.get(dedupe_key="k1"), EngagementEvent.objects.get(dedupe_key="k2")
    assert (one.lead_id, one.message_id, one.campaign_id, one.prompt_version_id) == (
        message.lead_id, message.pk, message.campaign_id, message.prompt_version_id)
    assert one.occurred_at == at and one.esp_event_id == "id-1"
    assert (two.lead_id, two.message_id, two.esp_event_id, two.click_url, two.raw) == (None, None, None, "https://x/\t", "")


def test_conflicting_rows_are_skipped_and_only_inserted_rows_are_returned():
    now = timezone.now()
    first = insert_rows(FlaggedWebhookEvent, _columns(), [("e", "t", "p", "same", "1", now)], returning=("dedupe_key",))
    again = insert_rows(FlaggedWebhookEvent, _columns(),
                        [("e", "t", "p", "same", "2", now), ("e", "t", "p", "new", "3", now),
                         ("e", "t", "p", "new", "4", now)], returning=("dedupe_key",))
    assert first == [("same",)] and again == [("new",)]
    assert dict(FlaggedWebhookEvent.objects.values_list("dedupe_key", "raw")) == {"same": "1", "new": "3"}


def test_with_a_named_key_its_conflicts_are_skipped_and_another_key_conflict_raises():
    now = timezone.now()
    columns = ("email", "event_type", "esp_name", "esp_event_type", "click_url", "user_agent", "dedupe_key",
               "raw", "occurred_at", "received_at")
    row = ("a@example.com", "opened", "e", "open", "", "", "k1", "{}", now, now)
    first = insert_rows(EngagementEvent, columns, [row], returning=("dedupe_key",), unique=("dedupe_key",))
    again = insert_rows(EngagementEvent, columns, [row, row[:6] + ("k2",) + row[7:]], returning=("dedupe_key",),
                        unique=("dedupe_key",))
    assert first == [("k1",)] and again == [("k2",)]
    assert EngagementEvent.objects.count() == 2
    taken = EngagementEvent.objects.get(dedupe_key="k1").pk
    with pytest.raises(IntegrityError), transaction.atomic():  # the primary key is not the named key
        insert_rows(EngagementEvent, ("id", *columns), [(taken, *row[:6], "k3", *row[7:])], returning=("id",),
                    unique=("dedupe_key",))


def test_two_batches_in_one_transaction_do_not_see_each_others_staged_rows():
    now = timezone.now()
    with transaction.atomic():
        a = insert_rows(FlaggedWebhookEvent, _columns(), [("e", "t", "p", "a", "", now)], returning=("dedupe_key",))
        FlaggedWebhookEvent.objects.filter(dedupe_key="a").delete()  # so a staged "a" left over would go in again
        b = insert_rows(FlaggedWebhookEvent, _columns(), [("e", "t", "p", "b", "", now)], returning=("dedupe_key",))
    assert (a, b) == ([("a",)], [("b",)])
    assert list(FlaggedWebhookEvent.objects.values_list("dedupe_key", flat=True)) == ["b"]


def test_model_instances_take_the_same_path():
    objs = [FlaggedWebhookEvent(esp_name="e", problem="p", dedupe_key=f"m{i}", raw=text) for i, text in enumerate(NASTY[:6])]
    assert len(insert_ignoring_conflicts(objs, returning=("id",))) == 6
    assert all(o.received_at is not None for o in objs)
    assert dict(FlaggedWebhookEvent.objects.values_list("dedupe_key", "raw")) == {
        f"m{i}": text for i, text in enumerate(NASTY[:6])}


def test_rows_are_inserted_in_the_order_given():
    now = timezone.now()
    keys = [f"o{i:03d}" for i in range(50)][::-1]
    insert_rows(FlaggedWebhookEvent, _columns(), [("e", "t", "p", k, "", now) for k in keys], returning=("id",))
    assert list(FlaggedWebhookEvent.objects.order_by("id").values_list("dedupe_key", flat=True)) == keys


def test_copy_text_escapes_what_copy_reads_as_syntax():
    line = _copy_text([("a\tb\\c\nd\re", None, 7, True)])
    assert line == "0\ta\\tb\\\\c\\nd\\re\t\\N\t7\tt\n"
