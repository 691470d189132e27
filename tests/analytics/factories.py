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
    event_type = EngagementEvent.Type.DELIVERED
    dedupe_key = factory.Sequence(lambda n: f"engagement-test:{n}")
    occurred_at = factory.LazyFunction(timezone.now)


def bounce_for(message, **fields):
    """A BounceEvent tied to ``message`` as bounce_record would tie it (no policy applied)."""
    from tests.factories import BounceEventFactory

    return BounceEventFactory(
        message=message, lead=message.lead, campaign=message.campaign, prompt_version=message.prompt_version,
        email=message.to_email, recipient_domain=message.to_email.rpartition("@")[2], **fields,
    )
