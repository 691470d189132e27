import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bounces.models import BounceEvent, EngagementEvent, Suppression
from bounces.services import bounce_record
from campaigns.models import Message
from leads.models import Lead
from tests.factories import (
    BounceEventFactory,
    CampaignFactory,
    LeadFactory,
    MessageFactory,
    PromptVersionFactory,
    SuppressionFactory,
)

pytestmark = pytest.mark.django_db


def test_lead_email_is_normalised_and_its_domain_derived():
    lead = LeadFactory(email="  Ada.Lovelace@Example.COM ")
    lead.refresh_from_db()
    assert lead.email == "ada.lovelace@example.com"
    assert lead.domain == "example.com"


def test_two_leads_whose_emails_differ_only_in_case_are_refused():
    LeadFactory(email="grace@example.com")
    with pytest.raises(IntegrityError):
        LeadFactory(email="GRACE@example.com")


def test_the_database_refuses_a_case_variant_even_when_save_is_bypassed():
    Lead.objects.bulk_create([Lead(email="alan@example.com", domain="example.com")])
    with pytest.raises(IntegrityError):
        Lead.objects.bulk_create([Lead(email="Alan@Example.com", domain="example.com")])


def test_a_second_active_suppression_for_one_address_is_refused():
    SuppressionFactory(email="x@example.com")
    with pytest.raises(IntegrityError):
        SuppressionFactory(email="x@example.com")


def test_a_lifted_suppression_is_kept_and_a_new_one_may_follow():
    old = SuppressionFactory(email="x@example.com")
    Suppression.objects.filter(pk=old.pk).update(lifted_at=timezone.now(), lift_reason="wrong")
    SuppressionFactory(email="x@example.com")
    assert Suppression.objects.filter(email="x@example.com").count() == 2


def test_a_suppression_cannot_be_lifted_without_a_reason():
    suppression = SuppressionFactory()
    with pytest.raises(IntegrityError):
        Suppression.objects.filter(pk=suppression.pk).update(lifted_at=timezone.now())


def test_the_same_esp_event_id_twice_is_one_row():
    BounceEventFactory(esp_name="postmark", esp_event_id="evt-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        BounceEventFactory(esp_name="postmark", esp_event_id="evt-1")
    # Another ESP may use the same id, and events without an id never collide.
    BounceEventFactory(esp_name="mailgun", esp_event_id="evt-1")
    BounceEventFactory(esp_name="postmark", esp_event_id=None)
    BounceEventFactory(esp_name="postmark", esp_event_id=None)
    assert BounceEvent.objects.filter(esp_event_id="evt-1").count() == 2


def test_an_unknown_bounce_category_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        BounceEventFactory(category="bogus")


def test_one_message_per_lead_and_campaign():
    message = MessageFactory()
    with pytest.raises(IntegrityError):
        MessageFactory(campaign=message.campaign, lead=message.lead)


def test_a_prompt_version_used_by_a_message_cannot_be_edited():
    prompt = PromptVersionFactory()
    prompt.prompt = "edited before use"
    prompt.save()
    MessageFactory(campaign=CampaignFactory(prompt_version=prompt))
    prompt.refresh_from_db()
    prompt.prompt = "edited after use"
    with pytest.raises(ValidationError, match="cannot change"):
        prompt.save()
    # Pausing is operational state, not content: allowed.
    prompt.refresh_from_db()
    prompt.paused_reason = "complaints"
    prompt.save()


def test_events_keep_the_message_campaign_and_prompt_and_lose_them_when_those_are_deleted():
    """An event's campaign and prompt version are copies of its message's, without database keys
    (see the note in bounces/models.py): written from the message, cleared by Django's deletes."""
    message = MessageFactory()
    campaign, prompt = message.campaign, message.prompt_version
    bounce = bounce_record(email=message.to_email, source="smtp", category="hard", message=message,
                           status="5.1.1").event
    opened = EngagementEvent.objects.create(
        lead=message.lead, message=message, campaign_id=message.campaign_id,
        prompt_version_id=message.prompt_version_id, email=message.to_email, event_type="opened", dedupe_key="o-1",
    )
    bounce.refresh_from_db()
    assert (bounce.campaign_id, bounce.prompt_version_id) == (campaign.pk, prompt.pk)
    Message.objects.filter(pk=message.pk).delete()
    campaign.delete()
    prompt.delete()
    for event in (bounce, opened):
        event.refresh_from_db()
        assert (event.message_id, event.campaign_id, event.prompt_version_id) == (None, None, None)
        assert event.lead_id == message.lead_id  # the lead stays linked
