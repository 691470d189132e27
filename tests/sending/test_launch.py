"""Campaign launch: one message per eligible lead, streamed in chunks, enqueued on commit."""
import pytest

from bounces.services import suppression_create
from campaigns.delivery.generators import GenerationError, TemplateGenerator
from campaigns.delivery.launch import CampaignLaunchError, campaign_launch
from campaigns.models import Campaign, Message
from leads.models import Lead
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, PromptVersionFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience():
    tag = TagFactory(name="launch")
    leads = [LeadFactory(email=f"lead{n}@acme.example", name=f"Ada{n} Lovelace", company="Acme") for n in range(10)]
    for lead in leads:
        lead.tags.add(tag)
    LeadFactory(email="outsider@acme.example")  # not in the audience
    return tag, leads


def test_launch_creates_one_message_per_eligible_lead_in_chunks_and_enqueues_each_chunk_after_commit(
    audience, django_capture_on_commit_callbacks, monkeypatch
):
    tag, leads = audience
    suppression_create(email=leads[0].email, reason="hard_bounce")
    Lead.objects.filter(pk=leads[1].pk).update(status=Lead.Status.ARCHIVED)
    campaign = CampaignFactory(audience_tag=tag)
    MessageFactory(campaign=campaign, lead=leads[2])  # already messaged in this campaign
    dispatched = []
    monkeypatch.setattr("campaigns.tasks.message_dispatch.delay", dispatched.append)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = campaign_launch(campaign=campaign, chunk_size=3)

    assert result.created == 7
    assert len(callbacks) == 3 and [len(ids) for ids in dispatched] == [3, 3, 1]
    new = Message.objects.filter(campaign=campaign).exclude(lead=leads[2])
    assert sorted(i for ids in dispatched for i in ids) == sorted(new.values_list("pk", flat=True))
    assert set(new.values_list("state", flat=True)) == {"queued"}
    assert {m.lead_id for m in new} == {lead.pk for lead in leads[3:]}
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.launched_at is not None


def test_launching_again_adds_only_new_leads(audience, django_capture_on_commit_callbacks):
    tag, _ = audience
    campaign = CampaignFactory(audience_tag=tag)
    with django_capture_on_commit_callbacks():
        assert campaign_launch(campaign=campaign).created == 10
        assert campaign_launch(campaign=campaign).created == 0
        LeadFactory(email="late@acme.example").tags.add(tag)
        assert campaign_launch(campaign=campaign).created == 1
    assert Message.objects.filter(campaign=campaign).count() == 11


def test_the_template_is_rendered_with_the_lead_and_stored_so_a_retry_resends_the_same_text(audience):
    tag, _ = audience
    prompt = PromptVersionFactory(prompt="You write emails.\nHi {first_name} at {company}, {unknown}bye.",
                                  subject_template="{company}: hello")
    campaign = CampaignFactory(audience_tag=tag, prompt_version=prompt)
    campaign_launch(campaign=campaign)
    message = Message.objects.get(campaign=campaign, lead__email="lead4@acme.example")
    assert message.subject == "Acme: hello"
    assert message.body == "Hi Ada4 at Acme, bye.\n"
    assert message.prompt_version == prompt


def test_a_paused_campaign_cannot_be_launched(audience):
    campaign = CampaignFactory(audience_tag=audience[0], status=Campaign.Status.PAUSED)
    with pytest.raises(CampaignLaunchError):
        campaign_launch(campaign=campaign)
    assert not Message.objects.exists()


def test_a_broken_template_fails_with_a_clear_error_and_creates_nothing(audience):
    prompt = PromptVersionFactory(prompt="Hi {name", subject_template="x")
    campaign = CampaignFactory(audience_tag=audience[0], prompt_version=prompt)
    with pytest.raises(GenerationError, match="template cannot be rendered"):
        campaign_launch(campaign=campaign, generator=TemplateGenerator())
    assert not Message.objects.exists()


def test_sends_go_to_the_send_queue_and_the_dispatcher_and_reconciler_stay_off_it():
    from lockline.celery import app

    def queue(name):
        return app.amqp.router.route({}, name)["queue"].name

    assert queue("campaigns.tasks.message_send") == "send"
    assert queue("campaigns.tasks.message_dispatch") == "default"
    assert queue("campaigns.tasks.message_reconcile") == "default"
    assert "message-reconcile" in app.conf.beat_schedule
