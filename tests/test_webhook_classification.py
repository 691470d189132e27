"""How each ESP's own labels become our categories: documented payloads through the real endpoints."""
import json

import pytest

from bounces.models import BounceEvent, Suppression
from tests.webhook_support import esp_settings, mailgun_failed, post, post_sns, ses_bounce, sns_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("esp_settings")]
Category = BounceEvent.Category
assert esp_settings and json  # the fixture is used through usefixtures


def only_bounce():
    (event,) = BounceEvent.objects.all()
    return event


# --- 1. A 4.x.x status is never permanent, whatever the ESP's label ---------------------------------

@pytest.mark.parametrize("status", ["4.4.7", "4.0.0", "4.2.2", "4.7.1"])
def test_ses_permanent_with_an_enhanced_4_x_x_status_is_soft_and_suppresses_nothing(client, status):
    post_sns(client, sns_envelope(ses_bounce(bounce_type="Permanent", subtype="General", status=status,
                                             diagnostic=f"smtp; 451 {status} try again later")))
    event = only_bounce()
    assert (event.category, event.esp_category, event.status) == (Category.SOFT, Category.HARD, status)
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("message", ["4.0.0 Temporary failure", "4.4.7 Delivery time expired", "4.2.2 Mailbox full"])
def test_mailgun_permanent_failure_with_an_enhanced_4_x_x_status_is_soft(client, message):
    post(client, "/anymail/mailgun/tracking/", mailgun_failed("alice@example.com", code=452, message=message))
    event = only_bounce()
    assert (event.category, event.esp_category) == (Category.SOFT, Category.HARD)
    assert not Suppression.objects.exists()


def test_mailgun_permanent_failure_with_a_bare_4xx_reply_keeps_the_esp_label(client):
    post(client, "/anymail/mailgun/tracking/", mailgun_failed("alice@example.com", code=421, message="Service busy"))
    assert only_bounce().category == Category.HARD
