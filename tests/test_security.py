"""The security pass: staff-only pages, CSRF, production settings, webhook credentials, secrets."""
import base64
import hashlib
import hmac
import json
import re

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from ops import secretscan
from tests.factories import UserFactory
from tests.ops_fixtures import ROOT, clean_redis, run_django  # noqa: F401 (fixture)
from tests.test_settings import PRODUCTION_ENV

# Paths anyone may call, each for a reason. A new public path must be added here on purpose;
# everything else must refuse a logged-in user who is not staff.
PUBLIC_PREFIXES = {
    "admin/login/": "the login form itself",
    "admin/logout/": "logging out",
    "healthz": "load balancer and orchestration probes (aggregate counts only)",
    "anymail/": "ESP webhooks: Anymail checks basic auth and signatures",
    "inbound/": "mail gateways: authenticated by the view",
    "static/": "admin assets",
    "unsubscribe/": "RFC 8058 one-click unsubscribe: the signed token in the link is the credential",
}
# Route converters with a value that resolves.
SAMPLE = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000001"}


def _route_samples(patterns, prefix=""):
    """(sample path, route) for every route pattern; regex routes only under known prefixes."""
    for entry in patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            route = prefix + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE[m.group(1) or "str"], str(pattern))
        else:
            # Regex routes (the admin's app index and catch-all, Mailgun's inbound) cannot be
            # sampled generically; they must live under a prefix that is checked another way.
            assert prefix.startswith(("admin/", "anymail/")), f"regex route {pattern} outside admin/ or anymail/"
            continue
        if isinstance(entry, URLResolver):
            yield from _route_samples(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield "/" + route, prefix + str(pattern)


@pytest.mark.django_db
def test_every_non_public_page_refuses_a_logged_in_user_who_is_not_staff(client):
    client.force_login(UserFactory(is_staff=False))
    checked = []
    for path, route in _route_samples(get_resolver().url_patterns):
        if any(route.startswith(prefix) for prefix in PUBLIC_PREFIXES):
            continue
        response = client.get(path)
        refused = response.status_code in (401, 403) or (
            response.status_code == 302 and "login" in response["Location"]
        )
        assert refused, f"{path} answered {response.status_code} to a non-staff user"
        checked.append(path)
    assert "/admin/" in checked and "/metrics" in checked  # the sweep really ran


@pytest.mark.django_db
def test_the_admin_tells_a_non_staff_user_they_are_not_authorised(client):
    client.force_login(UserFactory(username="sales", is_staff=False))
    response = client.get("/admin/bounces/suppression/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert b"not authorized to access this page" in response.content


@pytest.mark.django_db
def test_csrf_is_enforced_on_admin_posts():
    UserFactory(username="staffer", is_staff=True, is_superuser=True)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/admin/login/", {"username": "staffer", "password": "pw-for-tests-only"})
    assert response.status_code == 403


def test_production_settings_are_locked_down():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.X_FRAME_OPTIONS, "
        "'django.middleware.csrf.CsrfViewMiddleware' in s.MIDDLEWARE, s.LOG_FORMAT)"
    )
    result = run_django(code, PRODUCTION_ENV)
    assert result.stdout.split() == ["True"] * 6 + ["DENY", "True", "json"], result.stderr


def test_production_refuses_a_short_metrics_token():
    result = run_django("print('started')", {**PRODUCTION_ENV, "METRICS_TOKEN": "short"})
    assert result.returncode != 0 and "METRICS_TOKEN" in result.stderr


# --- Webhooks: only with valid credentials and signatures ------------------------------------
HOOK_SECRET = "hookuser:hook-password-for-tests"
POSTMARK_BOUNCE = {
    "RecordType": "Delivery", "ServerID": 1, "MessageStream": "outbound",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": "lead@example.com",
    "DeliveredAt": "2026-11-27T21:00:00Z", "Details": "Test delivery webhook details", "Tag": "", "Metadata": {},
}


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.django_db
@pytest.mark.urls("tests.ops_urls")
@pytest.mark.usefixtures("clean_redis")
@override_settings(ANYMAIL={"WEBHOOK_SECRET": HOOK_SECRET})
@pytest.mark.parametrize("authorization,status", [
    (None, 400), (_basic("hookuser:wrong"), 400), (_basic("other:hook-password-for-tests"), 400),
    (_basic(HOOK_SECRET), 200),
])
def test_a_webhook_is_accepted_only_with_the_shared_secret(client, authorization, status):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.post("/anymail/postmark/tracking/", json.dumps(POSTMARK_BOUNCE),
                           content_type="application/json", **headers)
    assert response.status_code == status


def _mailgun_event(key: bytes, *, token="a" * 50, timestamp="1795813200", signature=None):
    signature = signature or hmac.new(key, f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({
        "signature": {"token": token, "timestamp": timestamp, "signature": signature},
        "event-data": {"event": "delivered", "timestamp": 1795813200.0, "id": "evt-1",
                       "recipient": "lead@example.com", "message": {"headers": {"message-id": "m1@lockline.test"}}},
    })


@pytest.mark.django_db
@pytest.mark.urls("tests.ops_urls")
@pytest.mark.usefixtures("clean_redis")
@override_settings(ANYMAIL={"WEBHOOK_SECRET": HOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key-123"})
def test_an_esp_signature_is_checked_on_top_of_the_shared_secret(client):
    auth = {"HTTP_AUTHORIZATION": _basic(HOOK_SECRET)}
    url = "/anymail/mailgun/tracking/"
    forged = _mailgun_event(b"mailgun-signing-key-123", signature="0" * 64)
    assert client.post(url, forged, content_type="application/json", **auth).status_code == 400
    signed = _mailgun_event(b"mailgun-signing-key-123")
    assert client.post(url, signed, content_type="application/json").status_code == 400  # no shared secret
    assert client.post(url, signed, content_type="application/json", **auth).status_code == 200


# --- No secret in the repository -------------------------------------------------------------
def test_no_tracked_file_holds_a_likely_secret():
    findings = secretscan.scan(ROOT, secretscan.tracked_files(ROOT))
    assert findings == [], "\n".join(map(str, findings))


def test_the_scanner_finds_planted_secrets_and_does_not_repeat_them(tmp_path):
    aws = "AKIA" + "Q" * 16
    key_block = "-----BEGIN " + "RSA PRIVATE KEY-----"
    (tmp_path / "deploy.py").write_text(f'AWS = "{aws}"\nSECRET_KEY = "k8Jd02mZ9qLx7Vw3Rt5Yp1Nc"\n')
    (tmp_path / "id_rsa.txt").write_text(key_block + "\nMIIE...\n")
    (tmp_path / ".env").write_text("DEBUG=0\n")
    (tmp_path / "settings.py").write_text(
        'SECRET_KEY = env.str("SECRET_KEY")\nTOKEN = "change-me-please-later"\n'
        "match(token=report.correlation_header)\nAPI_TOKEN = 'report.correlation_header'\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text('SECRET_KEY = "only-a-fixture-for-tests-123"\n')
    findings = secretscan.scan(tmp_path, ["deploy.py", "id_rsa.txt", ".env", "settings.py", "tests/test_x.py"])
    assert sorted(str(f) for f in findings) == [
        ".env:0: secret-bearing file tracked",
        "deploy.py:1: AWS access key id",
        "deploy.py:2: SECRET_KEY assigned a literal",
        "id_rsa.txt:1: private key",
        "settings.py:4: API_TOKEN assigned a literal",  # quoted: a value, whatever it looks like
    ]
    assert all(aws not in str(f) for f in findings)
