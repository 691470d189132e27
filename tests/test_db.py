"""lockline.db: key lists handed to PostgreSQL as one array parameter come back exactly."""
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bounces.models import FlaggedWebhookEvent
from lockline.db import AnyOf, pg_array

pytestmark = pytest.mark.django_db

AWKWARD = ["plain", 'a "quoted" word', "back\\slash", "\\", 'ends with \\"', "comma, {brace}", " spaced ",
           "NULL", "", "it's", "ünïcödé 漢字 🙂", "tab\tand\nnewline"]


def test_text_ints_and_datetimes_round_trip_through_an_array_literal():
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[], %s::bigint[], %s::timestamptz[]",
                       [pg_array(AWKWARD), pg_array([1, 2**40, -3]), pg_array([now, now - timedelta(days=1)])])
        texts, ints, moments = cursor.fetchone()
    assert texts == AWKWARD
    assert ints == [1, 2**40, -3]
    assert moments == [now, now - timedelta(days=1)]


def test_values_it_does_not_write_are_left_to_the_driver():
    assert pg_array([1, True]) == [1, True]  # a bool is not an int here
    assert pg_array([timezone.now().replace(tzinfo=None)])[0].tzinfo is None


def test_any_of_finds_rows_by_awkward_keys_and_nothing_else():
    FlaggedWebhookEvent.objects.bulk_create(
        [FlaggedWebhookEvent(esp_name="e", problem="p", dedupe_key=key) for key in [*AWKWARD, "other"]]
    )
    found = FlaggedWebhookEvent.objects.filter(AnyOf("dedupe_key", AWKWARD)).values_list("dedupe_key", flat=True)
    assert sorted(found) == sorted(AWKWARD)
    pks = list(FlaggedWebhookEvent.objects.filter(dedupe_key__in=AWKWARD[:3]).values_list("pk", flat=True))
    assert FlaggedWebhookEvent.objects.filter(AnyOf("pk", pks)).count() == 3
