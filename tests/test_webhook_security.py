"""Webhook authentication: basic auth everywhere, ESP signatures, SNS verification, freshness."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from anymail.exceptions import AnymailWebhookValidationFailure

from bounces.esp import sns
from bounces.models import BounceEvent, EngagementEvent, FlaggedWebhookEvent, Suppression
from tests.webhook_support import (
    AUTH, REGION, SNS_CERT_PEM, SNS_CERT_URL, TOPIC_ARN, FakeAws, brevo_event, esp_settings, mailersend_event,
    mailersend_signature, mailgun_failed, mailgun_sign, post, post_sns, postal_failed, postmark_bounce, sendgrid_event,
    sendgrid_signed_headers, ses_bounce, sns_envelope, sns_sign,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("esp_settings")]
assert esp_settings
WRONG = "Basic bG9ja2xpbmU6d3Jvbmc="  # lockline:wrong


def nothing_recorded():
    return not (BounceEvent.objects.exists() or EngagementEvent.objects.exists() or Suppression.objects.exists()
                or FlaggedWebhookEvent.objects.exists())


# Each case: (path, body, extra headers) of an otherwise valid request.
def cases():
    mailersend = json.dumps(mailersend_event())
    return {
        "sendgrid": ("/anymail/sendgrid/tracking/", [sendgrid_event("a@example.com")], {}),
        "postmark": ("/anymail/postmark/tracking/", postmark_bounce(), {}),
        "brevo": ("/anymail/brevo/tracking/", brevo_event(), {}),
        "mailgun": ("/anymail/mailgun/tracking/", mailgun_failed(), {}),
        "mailersend": ("/anymail/mailersend/tracking/", mailersend,
                       {"HTTP_SIGNATURE": mailersend_signature(mailersend)}),
    }


@pytest.mark.parametrize("esp", ["sendgrid", "postmark", "brevo", "mailgun", "mailersend"])
@pytest.mark.parametrize("auth", [None, WRONG, "Bearer abc", "Basic !!!"])
def test_missing_or_wrong_basic_auth_is_a_4xx_and_records_nothing(client, esp, auth):
    path, body, headers = cases()[esp]
    response = post(client, path, body, auth=auth, **headers)
    assert 400 <= response.status_code < 500
    assert nothing_recorded()
    assert post(client, path, body, **headers).status_code == 200  # the same request, authenticated


def test_postmark_has_only_basic_auth_and_it_is_enough(client):
    assert post(client, "/anymail/postmark/tracking/", postmark_bounce()).status_code == 200


def test_a_wrong_mailgun_signature_is_refused(client):
    body = mailgun_failed()
    body["signature"]["signature"] = "0" * 64
    assert post(client, "/anymail/mailgun/tracking/", body).status_code == 400
    assert nothing_recorded()


def test_a_stale_mailgun_signature_is_refused_even_when_valid(client, settings):
    old = int((datetime.now(timezone.utc) - timedelta(seconds=settings.LOCKLINE_WEBHOOK_MAX_AGE + 60)).timestamp())
    body = mailgun_sign({k: v for k, v in mailgun_failed().items() if k != "signature"}, timestamp=old)
    response = post(client, "/anymail/mailgun/tracking/", body)
    assert response.status_code == 400 and b"tolerance window" in response.content
    assert nothing_recorded()


def test_a_wrong_postal_or_mailersend_signature_is_refused(client):
    body = json.dumps(postal_failed())
    assert post(client, "/anymail/postal/tracking/", body, HTTP_X_POSTAL_SIGNATURE="AAAA").status_code == 400
    assert post(client, "/anymail/mailersend/tracking/", json.dumps(mailersend_event()), HTTP_SIGNATURE="bad").status_code == 400
    assert nothing_recorded()


def test_sendgrid_signature_is_verified_when_its_key_is_set(client, settings):
    from tests.webhook_support import SENDGRID_PUBLIC_KEY

    settings.ANYMAIL = {**settings.ANYMAIL, "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": SENDGRID_PUBLIC_KEY}
    body = json.dumps([sendgrid_event("a@example.com")])
    assert post(client, "/anymail/sendgrid/tracking/", body).status_code == 400
    stale = sendgrid_signed_headers(body, timestamp=1_500_000_000)
    assert post(client, "/anymail/sendgrid/tracking/", body, **stale).status_code == 400
    assert nothing_recorded()
    assert post(client, "/anymail/sendgrid/tracking/", body, **sendgrid_signed_headers(body)).status_code == 200


def test_an_unconfigured_signing_esp_answers_503_so_the_esp_retries(client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": settings.ANYMAIL["WEBHOOK_SECRET"]}
    response = post(client, "/anymail/mailgun/tracking/", mailgun_failed())
    assert response.status_code == 503 and b"not configured" in response.content


def test_events_outside_the_timestamp_window_are_refused_and_kept_aside(client, settings):
    event = sendgrid_event("a@example.com")
    event["timestamp"] = 1_513_299_569  # 2017, the date of SendGrid's documented sample
    response = post(client, "/anymail/sendgrid/tracking/", [event])
    assert response.status_code == 400
    assert not BounceEvent.objects.exists() and not Suppression.objects.exists()
    assert "tolerance window" in FlaggedWebhookEvent.objects.get().problem
    future = sendgrid_event("b@example.com")
    future["timestamp"] += settings.LOCKLINE_WEBHOOK_MAX_SKEW + 600
    assert post(client, "/anymail/sendgrid/tracking/", [future]).status_code == 400


# --- Amazon SNS -------------------------------------------------------------------------------------

def test_sns_signature_version_2_verifies(client):
    assert post_sns(client, sns_envelope(ses_bounce(), version="2")).status_code == 200
    assert BounceEvent.objects.count() == 1


def test_an_sns_message_with_a_tampered_body_is_refused(client):
    envelope = sns_envelope(ses_bounce())
    envelope["Message"] = envelope["Message"].replace("recipient@example.com", "victim@example.com")
    assert post_sns(client, envelope).status_code == 400
    assert nothing_recorded()


def test_an_sns_message_signed_by_another_key_is_refused(client):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert post_sns(client, sns_envelope(ses_bounce(), key=other)).status_code == 400
    assert nothing_recorded()


@pytest.mark.parametrize("url", [
    f"http://sns.{REGION}.amazonaws.com/cert.pem",
    "https://sns.evil.com/cert.pem",
    f"https://sns.{REGION}.amazonaws.com.evil.com/cert.pem",
    f"https://evil.com/sns.{REGION}.amazonaws.com/cert.pem",
    f"https://user@sns.{REGION}.amazonaws.com/cert.pem",
    f"https://sns.{REGION}.amazonaws.com:8443/cert.pem",
    "https://sns.eu-west-1.amazonaws.com/cert.pem",  # not the topic's region
    f"https://sns.{REGION}.amazonaws.com/cert.txt",
    f"https://s3.{REGION}.amazonaws.com/cert.pem",
    None,
])
def test_sns_certificate_urls_not_pinned_to_aws_are_never_fetched(client, url):
    FakeAws.certificates[url] = SNS_CERT_PEM  # even if something were served there
    envelope = sns_envelope(ses_bounce(), cert_url=url)
    assert post_sns(client, envelope).status_code == 400
    assert url not in FakeAws.fetched
    assert nothing_recorded()


def test_sns_pinning_accepts_only_https_aws_regional_hosts():
    assert sns.pinned_region(SNS_CERT_URL) == REGION
    with pytest.raises(AnymailWebhookValidationFailure):
        sns.pinned_region("https://sns.us-east-1.amazonaws.com.evil.com/x.pem")


def test_sns_certificates_are_cached(client):
    post_sns(client, sns_envelope(ses_bounce("a@example.com")))
    post_sns(client, sns_envelope(ses_bounce("b@example.com")))
    assert FakeAws.fetched.count(SNS_CERT_URL) == 1


def test_a_stale_sns_message_is_refused(client):
    envelope = sns_envelope(ses_bounce(), timestamp="2017-08-05T00:41:02.669Z")
    assert post_sns(client, envelope).status_code == 400
    assert nothing_recorded()


def test_sns_without_basic_auth_gets_the_401_challenge_sns_needs(client):
    response = post_sns(client, sns_envelope(ses_bounce()), auth=None)
    assert response.status_code == 401 and "Basic" in response["WWW-Authenticate"]
    assert nothing_recorded()


def test_a_subscription_confirmation_is_confirmed_only_after_verification(client):
    forged = sns_envelope("You have chosen to subscribe", sns_type="SubscriptionConfirmation")
    forged["Token"] = "another-token"  # breaks the signature
    assert post_sns(client, forged).status_code == 400
    assert not [u for u in FakeAws.fetched if "ConfirmSubscription" in u]
    genuine = sns_envelope("You have chosen to subscribe", sns_type="SubscriptionConfirmation")
    assert post_sns(client, genuine).status_code == 200
    assert genuine["SubscribeURL"] in FakeAws.fetched


def test_a_subscription_url_off_aws_is_never_fetched(client):
    envelope = sns_envelope("subscribe", sns_type="SubscriptionConfirmation", SubscribeURL="https://evil.com/confirm")
    assert post_sns(client, envelope).status_code == 400
    assert "https://evil.com/confirm" not in FakeAws.fetched


def test_sns_topics_outside_the_allow_list_are_refused(client, settings):
    settings.LOCKLINE_SNS_TOPIC_ARNS = ["arn:aws:sns:us-east-1:123456789012:other"]
    assert post_sns(client, sns_envelope(ses_bounce())).status_code == 400
    settings.LOCKLINE_SNS_TOPIC_ARNS = [TOPIC_ARN]
    assert post_sns(client, sns_envelope(ses_bounce())).status_code == 200


def test_an_unknown_signature_version_is_refused(client):
    envelope = sns_envelope(ses_bounce())
    envelope = sns_sign({**envelope, "SignatureVersion": "1"})
    envelope["SignatureVersion"] = "3"
    assert post_sns(client, envelope).status_code == 400


def test_the_app_refuses_to_start_without_a_webhook_secret_when_debug_is_off():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 60, "WEBHOOK_SECRET": "", "ANYMAIL_WEBHOOK_SECRET": ""}
    result = subprocess.run([sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
                             "'lockline.settings'; django.setup()"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "WEBHOOK_SECRET" in result.stderr
    assert AUTH
