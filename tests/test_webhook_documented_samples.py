"""The ESPs' documented sample payloads (as django-anymail's tests and the ESPs' docs give them)
that the other webhook tests do not already carry, posted through the real endpoints. Timestamps
are made current, as everywhere in these tests: the samples' own dates are years old."""
import json

import pytest

from bounces.models import BounceCategory as Category
from bounces.models import BounceEvent, FlaggedWebhookEvent
from tests.webhook_support import esp_settings, now_iso, post, resend_headers

pytestmark = [pytest.mark.usefixtures("esp_settings"), pytest.mark.django_db]
assert esp_settings


def post_resend(client, body: dict):
    text = json.dumps(body)
    return post(client, "/anymail/resend/tracking/", text, **resend_headers(text))


# --- Resend: email.bounced without a bounce type ----------------------------------------------
# Resend's docs: email.bounced "occurs whenever the recipient's mail server permanently rejected
# the email". Its earlier posts (the samples django-anymail captured) carry only a message.

def resend_untyped_bounce(email: str, message: str) -> dict:
    return {"created_at": now_iso(), "type": "email.bounced", "data": {
        "bounce": {"message": message}, "created_at": now_iso(), "email_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "from": "Sender <from@example.com>", "subject": "Sending test", "to": [email]}}


def test_a_resend_bounce_without_a_type_is_a_hard_bounce(client):
    message = ("The recipient's email provider sent a hard bounce message, but didn't specify the reason for the "
               "hard bounce. We recommend removing the recipient's email address from your mailing list.")
    response = post_resend(client, resend_untyped_bounce("bounced@resend.dev", message))
    assert response.status_code == 200, response.content
    event = BounceEvent.objects.get()
    assert (event.category, event.esp_category, event.esp_event_type) == (Category.HARD, Category.HARD, "bounced//")
    assert not FlaggedWebhookEvent.objects.exists()


def test_a_resend_bounce_typed_transient_or_undetermined_stays_soft(client):
    for n, bounce_type in enumerate(("Transient", "Undetermined")):
        body = resend_untyped_bounce(f"soft{n}@resend.dev", "The recipient's mailbox is full.")
        body["data"]["bounce"].update(type=bounce_type, subType="MailboxFull")
        assert post_resend(client, body).status_code == 200
    assert set(BounceEvent.objects.values_list("category", flat=True)) == {Category.SOFT}
