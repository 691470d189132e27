"""A real SMTP conversation with the sink for every reply code the classifier must handle."""
import pytest

from bounces.models import BounceEvent, Suppression
from campaigns.delivery.errors import (
    BlockedDeliveryError,
    DeliveryError,
    HardBounceError,
    SoftBounceError,
    TransientDeliveryError,
)
from campaigns.delivery.send import message_deliver, message_send
from campaigns.models import Campaign, Message
from leads.models import Lead
from tests.factories import CampaignFactory, LeadFactory, MessageFactory
from tests.sending.conftest import running_message
from tests.sending.conftest import rule

pytestmark = pytest.mark.django_db

H, S, T = "hard", "soft", "transient"

# (address, exception, message state after, category, reason, detail, suppressed at once)
OUTCOMES = [
    ("unknown.ada@acme.example", HardBounceError, "bounced", H, "userunknown", "user_unknown", True),
    ("gone551@acme.example", HardBounceError, "bounced", H, "userunknown", "user_unknown", True),
    ("nodomain553@acme.example", HardBounceError, "bounced", H, "hostunknown", "domain_unknown", True),
    ("full.ada@acme.example", SoftBounceError, "deferred", S, "mailboxfull", "mailbox_full", False),
    ("full452@acme.example", SoftBounceError, "deferred", S, "mailboxfull", "mailbox_full", False),
    ("down.ada@acme.example", SoftBounceError, "deferred", S, "systemerror", "system_unavailable", False),
    ("net421@acme.example", SoftBounceError, "deferred", S, "networkerror", "network_problem", False),
    ("greylist.ada@acme.example", TransientDeliveryError, "deferred", T, "blocked", "greylisted", False),
    ("grey451@acme.example", TransientDeliveryError, "deferred", T, "blocked", "greylisted", False),
    ("throttle.ada@acme.example", TransientDeliveryError, "deferred", T, "toomanyconn", "too_many_recipients", False),
    ("ratelimit.ada@acme.example", TransientDeliveryError, "deferred", T, "speeding", "throttled", False),
    ("gmail428@acme.example", TransientDeliveryError, "deferred", T, "speeding", "rate_limited", False),
    ("blocked.ada@acme.example", BlockedDeliveryError, "failed", T, "spamdetected", "spam_block", False),
    ("policy@acme.example", BlockedDeliveryError, "failed", T, "policyviolation", "policy_block", False),
]

EXTRA_RULES = [
    rule("^gone551@=551 5.1.1 User not local; please try <forward@acme.example>"),
    rule("^nodomain553@=553 5.1.2 Domain does not exist"),
    rule("^full452@=452 4.2.2 Mailbox full"),
    rule("^net421@=421 4.4.2 Connection dropped, bad connection"),
    rule("^grey451@=451 4.7.1 Please try again later (greylisting)"),
    rule("^gmail428@=421 4.7.28 Our system has detected an unusual rate of unsolicited mail"),
    rule("^policy@=554 5.7.1 Relay access denied by local policy"),
]


@pytest.fixture
def sink_rules():
    return EXTRA_RULES


@pytest.fixture(params=[True, False], ids=["pipelined", "one-command-at-a-time"])
def sink_pipelining(request):
    """Every conversation twice: with MAIL, RCPT and DATA pipelined, and without."""
    return request.param


def test_the_seed_test_a_550_answer_raises_hard_bounce_error(sink):
    message = running_message("unknown.grace@initech.example")
    with pytest.raises(HardBounceError) as caught:
        message_deliver(message=message)
    assert caught.value.classification.status == "5.1.1"
    assert caught.value.classification.smtp_code == "550"
    assert isinstance(caught.value, DeliveryError)
    assert sink.received == []


@pytest.mark.parametrize("email,exception,state,category,reason,detail,suppressed", OUTCOMES)
def test_each_smtp_reply_raises_its_exception_and_records_its_outcome(
    sink, email, exception, state, category, reason, detail, suppressed
):
    with pytest.raises(exception):
        message_deliver(message=running_message(email.replace("@acme.example", "@probe.example")))

    message = running_message(email)
    outcome = message_send(message_id=message.pk)

    assert isinstance(outcome.error, exception)
    message.refresh_from_db()
    assert message.state == state
    assert message.attempts == 1
    event = BounceEvent.objects.get(message=message)
    assert (event.category, event.reason, event.detail, event.source) == (category, reason, detail, "smtp")
    assert event.campaign_id == message.campaign_id and event.prompt_version_id == message.prompt_version_id
    assert Suppression.objects.active().filter(email=email).exists() == suppressed
    assert Lead.objects.get(email=email).status == ("suppressed" if suppressed else "active")
    if state == "deferred":
        assert outcome.retry_in is not None and message.next_attempt_at > message.updated_at
    else:
        assert outcome.retry_in is None and message.next_attempt_at is None
    assert sink.received == []


def test_an_accepted_message_is_sent_once_and_resets_the_soft_count(sink):
    message = running_message("ada@acme.example")
    outcome = message_send(message_id=message.pk)
    message.refresh_from_db()
    assert (outcome.action, message.state, message.attempts) == ("sent", "sent", 1)
    assert message.sent_at is not None and message.message_id.endswith("@lockline.test")
    assert Lead.objects.get(pk=message.lead_id).last_delivered_at == message.sent_at
    assert sink.count_by_rcpt() == {"ada@acme.example": 1}
    # A second task for the same message finds nothing to do.
    assert message_send(message_id=message.pk).action == "skipped"
    assert len(sink.received) == 1


def test_greylisting_is_accepted_on_the_next_try_and_never_suppresses(sink):
    message = running_message("greylist.linus@hooli.example")
    assert message_send(message_id=message.pk).action == "deferred"
    Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
    assert message_send(message_id=message.pk).action == "sent"
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("sent", 2)
    assert not Suppression.objects.exists()
    assert BounceEvent.objects.get(message=message).category == "transient"


def test_a_policy_block_fails_the_message_keeps_the_lead_and_pauses_the_campaign_when_they_pile_up(sink, settings):
    settings.LOCKLINE_BLOCKS_PAUSE_CAMPAIGN = 2
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    first, second = (
        MessageFactory(campaign=campaign, lead=LeadFactory(email=f"blocked.{n}@wonka.example"),
                       to_email=f"blocked.{n}@wonka.example")
        for n in (1, 2)
    )
    message_send(message_id=first.pk)
    campaign.refresh_from_db()
    assert campaign.status == "running"
    message_send(message_id=second.pk)
    campaign.refresh_from_db()
    assert campaign.status == "paused" and "554 5.7.1" in campaign.status_reason
    assert set(Message.objects.values_list("state", flat=True)) == {"failed"}
    assert not Suppression.objects.exists()
    assert set(Lead.objects.values_list("status", flat=True)) == {"active"}


def test_a_connection_failure_is_soft_and_retried_but_not_recorded_against_the_address(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens on port 1
    message = running_message("ada@acme.example")
    outcome = message_send(message_id=message.pk)
    assert isinstance(outcome.error, SoftBounceError)
    assert outcome.error.classification.reason == "networkerror"
    message.refresh_from_db()
    assert message.state == "deferred" and outcome.retry_in > 0
    assert not BounceEvent.objects.exists()
