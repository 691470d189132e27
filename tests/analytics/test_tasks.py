"""Beat runs the guard and the featured-lead rule by name: the names must resolve to the tasks."""
from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.utils import timezone

from analytics import tasks
from campaigns.models import Campaign
from tests.analytics.factories import bounce_for, send_messages
from tests.factories import CampaignFactory


def test_the_beat_schedule_names_registered_analytics_tasks():
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"analytics.tasks.reputation_guard_run", "analytics.tasks.lead_feature_all"} <= names
    current_app.loader.import_default_modules()
    assert {"analytics.tasks.reputation_guard_run", "analytics.tasks.lead_feature_all"} <= set(current_app.tasks)


@pytest.mark.django_db
def test_the_guard_task_pauses_what_breaks_a_rule_and_reports_how_many(settings):
    settings.LOCKLINE_GUARD_SHORT_MIN_SENDS = 10
    campaign = CampaignFactory(status=Campaign.Status.RUNNING, launched_at=timezone.now())
    sent = timezone.now() - timedelta(hours=1)
    for message in send_messages(campaign, 10, sent)[:2]:
        bounce_for(message, category="hard", occurred_at=sent)
    # 2 of 10 bounced: both the campaign and its prompt version break the 5% line.
    assert tasks.reputation_guard_run() == 2
    assert tasks.reputation_guard_run() == 0  # paused targets are not paused again
