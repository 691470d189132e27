import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from campaigns.models import Campaign, PromptVersion
from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_the_demo_seed_can_run_twice_without_duplicating_anything():
    call_command("seed_demo")
    counts = (Lead.objects.count(), Campaign.objects.count(), PromptVersion.objects.count(), get_user_model().objects.count())
    call_command("seed_demo")
    assert (Lead.objects.count(), Campaign.objects.count(), PromptVersion.objects.count(), get_user_model().objects.count()) == counts
    assert counts[0] >= 30
    demo = get_user_model().objects.get(username="demo")
    assert demo.is_staff and demo.check_password("lockline-demo")
