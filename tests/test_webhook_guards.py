"""Rate limits and body size limits on the endpoints ESPs and mail gateways post to."""
import logging
import time

import pytest
from django.test import override_settings

from lockline import metrics
from tests import ops_urls
from tests.ops_fixtures import clean_redis, closed_port_url  # noqa: F401 (fixture)

pytestmark = [pytest.mark.urls("tests.ops_urls"), pytest.mark.usefixtures("clean_redis")]

TRACKING = "/anymail/test/tracking/"
EVENT = b'{"event": "bounce"}'


@pytest.fixture(autouse=True)
def reset_calls():
    ops_urls.calls.clear()


def post(client, path=TRACKING, data=EVENT, ip="198.51.100.7", **extra):
    return client.post(path, data=data, content_type="application/json", REMOTE_ADDR=ip, **extra)


@override_settings(LOCKLINE_RATELIMIT_BURST=3, LOCKLINE_RATELIMIT_RATE=0.5)
def test_a_client_over_its_burst_gets_429_with_retry_after_and_the_view_never_runs(client):
    statuses = [post(client).status_code for _ in range(3)]
    refused = post(client)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "2"  # one token at 0.5/s
    assert b"retry after 2 s" in refused.content
    assert len(ops_urls.calls) == 3


@override_settings(LOCKLINE_RATELIMIT_BURST=1, LOCKLINE_RATELIMIT_RATE=0.01)
def test_each_client_and_each_endpoint_has_its_own_bucket(client):
    assert post(client).status_code == 200
    assert post(client).status_code == 429
    assert post(client, ip="203.0.113.9").status_code == 200  # another ESP address
    assert post(client, path="/inbound/test/").status_code == 200  # another endpoint
    assert post(client, path="/elsewhere/").status_code == 404  # not guarded: no 429


@override_settings(LOCKLINE_RATELIMIT_BURST=1, LOCKLINE_RATELIMIT_RATE=20)
def test_an_esp_retrying_after_retry_after_is_accepted(client):
    assert post(client).status_code == 200
    refused = post(client)
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    # An ESP retries no sooner than it was told; by then the bucket has a token again.
    deadline = time.monotonic() + wait + 2
    time.sleep(wait)
    while (retried := post(client)).status_code == 429 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert retried.status_code == 200
    assert len(ops_urls.calls) == 2  # the first post and the retry: nothing lost


@override_settings(LOCKLINE_RATELIMIT_BURST=1, LOCKLINE_RATELIMIT_RATE=0.01)
def test_varying_an_unknown_path_does_not_buy_new_buckets(client):
    assert post(client, path="/anymail/nope-1/").status_code == 404
    assert post(client, path="/anymail/nope-2/").status_code == 429


@override_settings(LOCKLINE_RATELIMIT_BURST=1, LOCKLINE_RATELIMIT_RATE=0.01, LOCKLINE_TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_client_cannot_spoof_its_way_out(client):
    # The proxy (REMOTE_ADDR 10.0.0.2) appends the real client 198.51.100.7; the client wrote the rest.
    assert post(client, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7").status_code == 200
    assert post(client, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="2.2.2.2, 198.51.100.7").status_code == 429
    assert post(client, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 200


@override_settings(LOCKLINE_RATELIMIT_BURST=1, LOCKLINE_RATELIMIT_RATE=0.01)
def test_refusals_are_counted_for_operators(client):
    post(client)
    post(client)
    post(client)
    assert metrics.snapshot()["ratelimited"] == {(("endpoint", "webhook"),): 2}


def test_with_redis_down_requests_pass_and_a_warning_is_logged(client, caplog):
    with override_settings(
        LOCKLINE_RATELIMIT_BURST=1, LOCKLINE_RATELIMIT_RATE=0.01, LOCKLINE_RATELIMIT_REDIS_URL=closed_port_url("redis")
    ), caplog.at_level(logging.WARNING, logger="ops.middleware"):
        assert [post(client).status_code for _ in range(5)] == [200] * 5
    warnings = [r for r in caplog.records if r.message.startswith("rate limit unavailable")]
    assert len(warnings) == 1  # once, not once per request
    assert len(ops_urls.calls) == 5


@override_settings(LOCKLINE_WEBHOOK_MAX_BYTES=1000)
def test_an_oversize_webhook_post_gets_413_with_a_reason_before_the_view_reads_it(client):
    response = post(client, data=b"x" * 1001)
    assert response.status_code == 413
    assert b"1001 bytes exceeds the 1000-byte limit for webhook posts" in response.content
    assert ops_urls.calls == []
    assert post(client, data=b"x" * 1000).status_code == 200


@override_settings(LOCKLINE_WEBHOOK_MAX_BYTES=1000, LOCKLINE_INBOUND_MAX_BYTES=20000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_inbound_mail_may_carry_attachments_larger_than_a_webhook_batch(client):
    attachment = ("original.eml", b"y" * 5000)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = {"attachment": SimpleUploadedFile(*attachment)}
    assert client.post("/anymail/test/inbound/", upload, REMOTE_ADDR="198.51.100.7").status_code == 200
    upload = {"attachment": SimpleUploadedFile(*attachment)}
    assert client.post(TRACKING, upload, REMOTE_ADDR="198.51.100.7").status_code == 413
    # A JSON body is capped by Django's DATA_UPLOAD_MAX_MEMORY_SIZE on every path: said up front.
    too_big_json = post(client, path="/anymail/test/inbound/", data=b"x" * 1500)
    assert too_big_json.status_code == 413 and b"1000-byte limit for inbound posts" in too_big_json.content


def test_a_malformed_content_length_is_a_400_with_a_reason(client):
    response = post(client, CONTENT_LENGTH="12abc")
    assert response.status_code == 400
    assert b"is not a byte count" in response.content
    assert ops_urls.calls == []


@pytest.mark.slow
def test_a_real_server_answers_an_oversize_post_with_413_before_reading_it(tmp_path, settings):
    import os
    import re
    import subprocess
    import sys

    import requests

    from tests.ops_fixtures import ROOT

    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, "LOCKLINE_WEBHOOK_MAX_BYTES": "100000", "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "lockline.wsgi", "--bind", "127.0.0.1:0", "--workers", "1",
             "--no-control-socket"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        url = f"http://127.0.0.1:{match.group(1)}/anymail/postmark/tracking/"
        response = requests.post(url, data=b"x" * (8 * 1024 * 1024), timeout=30,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert "8388608 bytes exceeds the 100000-byte limit" in response.text
    finally:
        server.terminate()
        server.wait(timeout=30)
