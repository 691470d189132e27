"""How each ESP's own labels become our categories: documented payloads through the real endpoints."""
import json

import pytest

from bounces.models import BounceEvent, EngagementEvent, FlaggedWebhookEvent, Suppression
from tests.webhook_support import (
    esp_settings, mailgun_failed, mailgun_legacy, now_epoch, post, post_form, post_sns, ses_bounce, sns_envelope,
)

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


# --- 2. Mailgun's legacy (form-encoded) webhooks ------------------------------------------------------

MAILGUN = "/anymail/mailgun/tracking/"


@pytest.mark.parametrize("event, fields, category, suppressed", [
    ("bounced", dict(code=550, error="5.1.1 The email account that you tried to reach does not exist",
                     notification=""), Category.HARD, True),
    ("bounced", dict(code=552, error="5.2.2 Mailbox full", notification=""), Category.SOFT, False),
    ("dropped", dict(reason="hardfail", code=605, description="Not delivering to previously bounced address"),
     Category.HARD, True),
    ("dropped", dict(reason="hardfail", code=606, description="Not delivering to unsubscribed address"),
     Category.UNSUBSCRIBE, True),
    ("dropped", dict(reason="hardfail", code=607, description="Not delivering to a user who marked your messages as spam"),
     Category.COMPLAINT, True),
    ("dropped", dict(reason="old", description="Too old"), Category.SOFT, False),
    ("dropped", dict(reason="maxfails", description="Too many soft bounces"), Category.SOFT, False),
    ("complained", dict(), Category.COMPLAINT, True),
    ("unsubscribed", dict(), Category.UNSUBSCRIBE, True),
])
def test_mailgun_legacy_events_are_classified_end_to_end(client, event, fields, category, suppressed):
    response = post_form(client, MAILGUN, mailgun_legacy(event, "alice@example.com", **fields))
    assert response.status_code == 200, response.content
    assert not FlaggedWebhookEvent.objects.exists()
    stored = only_bounce()
    assert (stored.category, stored.esp_event_type) == (category, f"legacy/{event}")
    assert Suppression.objects.active().filter(email="alice@example.com").exists() == suppressed


def test_mailgun_legacy_temporary_severity_is_transient(client):
    post_form(client, MAILGUN, mailgun_legacy("bounced", code=421, error="4.4.1 try later", severity="temporary"))
    assert only_bounce().category == Category.TRANSIENT


def test_mailgun_legacy_delivery_is_engagement(client):
    assert post_form(client, MAILGUN, mailgun_legacy("delivered")).status_code == 200
    assert EngagementEvent.objects.get().event_type == "delivered"
    assert not FlaggedWebhookEvent.objects.exists()


def test_a_mailgun_legacy_event_redelivered_with_a_new_signature_is_one_event(client):
    fields = dict(code=550, error="5.1.1 no such user", notification="")
    first = post_form(client, MAILGUN, mailgun_legacy("bounced", timestamp=now_epoch() - 600, **fields))
    again = post_form(client, MAILGUN, mailgun_legacy("bounced", **fields))
    assert (first.status_code, again.status_code) == (200, 200)
    assert "1 duplicates" in again.content.decode()
    assert BounceEvent.objects.count() == 1
    other = post_form(client, MAILGUN, mailgun_legacy("bounced", "bob@example.com", **fields))
    assert other.status_code == 200 and BounceEvent.objects.count() == 2
