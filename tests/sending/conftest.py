import pytest
import redis
from django.conf import settings

from campaigns.delivery import send as send_module
from campaigns.sink import DEFAULT_RULES, SinkRule, SmtpSink
from tests.workers import Worker


@pytest.fixture(autouse=True)
def clean_throttles():
    """Recipient-domain throttles live in Redis: each test starts without any."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter("lockline:throttle:*"))
    if keys:
        client.delete(*keys)
    yield
    send_module._connection_drop()


@pytest.fixture
def sink_rules():
    """Extra rules a test puts before the defaults."""
    return []


@pytest.fixture
def sink_pipelining():
    """Whether the sink offers PIPELINING (RFC 2920), as most MTAs do."""
    return True


# A test marked with this runs twice: against a sink that offers PIPELINING and one that does not.
both_smtp_dialogues = pytest.mark.parametrize("sink_pipelining", [True, False],
                                              ids=["pipelined", "one-command-at-a-time"])


@pytest.fixture
def sink(sink_rules, sink_pipelining, settings):
    server = SmtpSink(rules=[*sink_rules, *DEFAULT_RULES], pipelining=sink_pipelining).start()
    settings.EMAIL_BACKEND = "campaigns.delivery.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    yield server
    send_module._connection_drop()
    server.stop()


@pytest.fixture
def broker():
    """Our Redis DB, emptied before and after (it is this helper's own database)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def start_worker(sink, broker):
    workers = []

    def start(**kwargs):
        worker = Worker(email_port=sink.port, **kwargs)
        workers.append(worker)
        return worker.wait_ready()

    yield start
    for worker in workers:
        worker.stop()


def rule(spec: str) -> SinkRule:
    return SinkRule.parse(spec)


def running_message(email: str, **campaign_fields):
    """A queued message to ``email`` in a running campaign (the lead is created with it)."""
    from campaigns.models import Campaign
    from tests.factories import CampaignFactory, LeadFactory, MessageFactory

    campaign = CampaignFactory(status=Campaign.Status.RUNNING, **campaign_fields)
    return MessageFactory(campaign=campaign, lead=LeadFactory(email=email), to_email=email)
