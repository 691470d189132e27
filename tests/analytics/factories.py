import factory
from django.utils import timezone

from bounces.models import EngagementEvent


class EngagementEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EngagementEvent

    message = None
    lead = factory.LazyAttribute(lambda o: o.message.lead if o.message else None)
    campaign = factory.LazyAttribute(lambda o: o.message.campaign if o.message else None)
    prompt_version = factory.LazyAttribute(lambda o: o.message.prompt_version if o.message else None)
    email = factory.LazyAttribute(lambda o: o.message.to_email if o.message else "someone@example.com")
    event_type = EngagementEvent.EventType.DELIVERED
    dedupe_key = factory.Sequence(lambda n: f"engagement-test:{n}")
    occurred_at = factory.LazyFunction(timezone.now)


def bounce_for(message, **fields):
    """A BounceEvent tied to ``message`` as bounce_record would tie it (no policy applied)."""
    from tests.factories import BounceEventFactory

    return BounceEventFactory(
        message=message, lead=message.lead, campaign=message.campaign, prompt_version=message.prompt_version,
        email=message.to_email, recipient_domain=message.to_email.rpartition("@")[2], **fields,
    )


def send_messages(campaign, count, sent_at, version=None):
    """``count`` sent messages of ``campaign`` (to fresh leads), bulk-created."""
    from campaigns.models import Message
    from tests.factories import LeadFactory

    version = version or campaign.prompt_version
    messages = []
    for _ in range(count):
        lead = LeadFactory()
        messages.append(Message(campaign=campaign, lead=lead, prompt_version=version, to_email=lead.email,
                                subject="s", body="b", state="sent", sent_at=sent_at))
    return Message.objects.bulk_create(messages)
