import factory
from django.contrib.auth import get_user_model

from bounces.models import BounceEvent, Suppression
from campaigns.models import Campaign, Message, PromptVersion
from leads.models import Lead, Tag


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@lockline.test")
    password = factory.django.Password("pw-for-tests-only")


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    name = factory.Faker("first_name")
    company = factory.Faker("company")
    source = "tests"


class PromptVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromptVersion

    name = factory.Sequence(lambda n: f"prompt-{n}")
    version = 1
    prompt = "Hi {name}, a question about {company}."
    subject_template = "{company}: a question"
    model_name = "template"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    prompt_version = factory.SubFactory(PromptVersionFactory)
    sender_email = "outreach@lockline.test"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    campaign = factory.SubFactory(CampaignFactory)
    lead = factory.SubFactory(LeadFactory)
    prompt_version = factory.LazyAttribute(lambda o: o.campaign.prompt_version)
    to_email = factory.LazyAttribute(lambda o: o.lead.email)
    subject = "A question"
    body = "Hello"


class BounceEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BounceEvent

    email = factory.Sequence(lambda n: f"bounced{n}@example.com")
    recipient_domain = "example.com"
    source = BounceEvent.Source.SMTP
    category = BounceEvent.Category.HARD
    reason = "userunknown"
    status = "5.1.1"
    smtp_code = "550"
    diagnostic = "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown"
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    email = factory.Sequence(lambda n: f"suppressed{n}@example.com")
    reason = Suppression.Reason.HARD_BOUNCE
