"""Matching ESP events to our messages, the soft-bounce policy through webhooks, analytics."""
import pytest

from bounces.models import BounceEvent, Suppression
from bounces.selectors import esp_verdict_disagreements
from campaigns.tokens import message_token
from tests.factories import LeadFactory, MessageFactory
from tests.webhook_support import esp_settings, post, post_sns, postmark_bounce, sendgrid_event, ses_bounce, sns_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("esp_settings")]
assert esp_settings


def test_the_signed_token_in_anymail_metadata_matches_first(client):
    ours = MessageFactory(state="sent", esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483")
    other = MessageFactory(state="sent", to_email="john@example.com")
    body = postmark_bounce("john@example.com", metadata={"lockline_token": message_token(ours.pk)})
    post(client, "/anymail/postmark/tracking/", body)
    event = BounceEvent.objects.get()
    assert event.message_id == ours.pk != other.pk
    ours.refresh_from_db()
    assert ours.state == "bounced"


def test_an_unsigned_message_id_counts_only_for_its_own_recipient(client):
    ours = MessageFactory(state="sent", to_email="a@example.com", lead=LeadFactory(email="a@example.com"))
    post(client, "/anymail/sendgrid/tracking/", [sendgrid_event("b@example.com", lockline_message_id=str(ours.pk),
                                                                status="5.1.1", reason="550 5.1.1")])
    assert BounceEvent.objects.get().message_id is None
    post(client, "/anymail/sendgrid/tracking/", [sendgrid_event("a@example.com", lockline_message_id=str(ours.pk),
                                                                status="5.1.1", reason="550 5.1.1")])
    assert BounceEvent.objects.get(email="a@example.com").message_id == ours.pk


def test_the_esp_message_id_matches_with_or_without_angle_brackets(client):
    message = MessageFactory(state="sent", esp_message_id="<EXAMPLE-ses@email.amazonses.com>")
    post_sns(client, sns_envelope(ses_bounce(message.to_email, message_id="EXAMPLE-ses@email.amazonses.com")))
    event = BounceEvent.objects.get()
    assert (event.message_id, event.campaign_id, event.prompt_version_id) == (
        message.pk, message.campaign_id, message.prompt_version_id)


def test_the_recipients_latest_message_is_the_last_resort(client):
    lead = LeadFactory(email="late@example.com")
    MessageFactory(lead=lead, to_email=lead.email)
    latest = MessageFactory(lead=lead, to_email=lead.email)
    post(client, "/anymail/sendgrid/tracking/", [sendgrid_event(lead.email, sg_message_id="unknown")])
    assert BounceEvent.objects.get().message_id == latest.pk


def test_soft_bounces_from_an_esp_suppress_only_when_they_persist(client, settings):
    settings.LOCKLINE_SOFT_BOUNCE_LIMIT = 3
    for n in range(3):
        post(client, "/anymail/sendgrid/tracking/", [sendgrid_event(
            "soft@example.com", type="blocked", status="5.7.1", reason=f"550 5.7.1 blocked #{n}",
            timestamp=sendgrid_event("x@y.z")["timestamp"] - 60 * (3 - n))])
        assert Suppression.objects.exists() == (n == 2)
    assert Suppression.objects.get().reason == Suppression.Reason.PERSISTENT_SOFT


def test_disagreements_between_the_esp_and_the_status_code_are_counted_per_esp(client):
    post_sns(client, sns_envelope(ses_bounce("a@example.com", bounce_type="Transient", status="5.4.4")))
    post_sns(client, sns_envelope(ses_bounce("b@example.com", bounce_type="Transient", status="5.4.4")))
    post_sns(client, sns_envelope(ses_bounce("c@example.com")))  # Permanent 5.1.1: they agree
    assert esp_verdict_disagreements() == [
        {"esp_name": "Amazon SES", "esp_category": "soft", "category": "hard", "count": 2}]
