"""The engagement export for the AI feedback loop."""
import csv
import io
import json
from datetime import datetime, timezone as tz

import pytest
from django.core.management import CommandError, call_command

from bounces.services import bounce_record
from tests.analytics.factories import EngagementEventFactory
from tests.factories import CampaignFactory, LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 11, 2, 10, 0, tzinfo=tz.utc)


@pytest.fixture
def messages():
    campaign = CampaignFactory(name="Launch")
    made = {name: MessageFactory(campaign=campaign, lead=LeadFactory(email=f"{name}@example.com"), sent_at=SENT, state="sent")
            for name in ("replier", "opener", "dead", "refused", "quiet")}
    MessageFactory(campaign=campaign, lead=LeadFactory(email="unsent@example.com"), sent_at=None)
    for name, kinds in (("replier", ["delivered", "opened", "replied"]), ("opener", ["delivered", "opened"]),
                        ("quiet", ["delivered"])):
        for kind in kinds:
            EngagementEventFactory(message=made[name], event_type=kind, occurred_at=SENT)
    bounce_record(email="dead@example.com", source="dsn", category="hard", reason="userunknown", status="5.1.1",
                  message=made["dead"])
    bounce_record(email="refused@example.com", source="dsn", category="soft", reason="spamdetected", status="5.7.1",
                  message=made["refused"])
    return made


def export(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_engagement", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_csv_export_has_one_row_per_sent_message_with_its_outcome_and_labels(messages):
    text, err = export("--format", "csv")
    rows = {row["message_id"]: row for row in csv.DictReader(io.StringIO(text))}
    by_email = {name: rows[str(m.pk)] for name, m in messages.items()}
    assert len(rows) == 5 and "5 message rows written" in err
    assert by_email["replier"]["outcome"] == "replied" and by_email["replier"]["exclusion"] == ""
    assert by_email["opener"]["outcome"] == "opened"
    assert by_email["quiet"]["outcome"] == "delivered"
    assert (by_email["dead"]["outcome"], by_email["dead"]["exclusion"]) == ("bounced", "suppressed")
    # Refused for its content: kept, it is what the prompt must learn from.
    assert (by_email["refused"]["outcome"], by_email["refused"]["exclusion"]) == ("content_refused", "")
    assert by_email["replier"]["prompt_version"].endswith("v1") and by_email["replier"]["campaign"] == "Launch"


def test_jsonl_export_with_exclude_drops_bounced_and_suppressed_rows(messages, tmp_path):
    target = tmp_path / "engagement.jsonl"
    export("--format", "jsonl", "--exclude", "--output", str(target))
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert {row["message_id"] for row in rows} == {messages[n].pk for n in ("replier", "opener", "refused", "quiet")}
    assert all(row["exclusion"] == "" for row in rows)


def test_a_bad_date_is_refused_with_the_expected_format():
    with pytest.raises(CommandError, match="ISO 8601"):
        export("--since", "last tuesday")
