"""The webhooks served by gunicorn on 127.0.0.1, as an ESP reaches them in production."""
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bounces.models import BounceEvent, EngagementEvent, Suppression
from tests.webhook_support import AUTH, MAILGUN_KEY, WEBHOOK_SECRET, mailgun_failed, postmark_bounce, sendgrid_event

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(settings):
    """gunicorn (2 workers) on a socket bound to a free port chosen now, on the test database."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "ANYMAIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "lockline.wsgi", "--bind", f"fd://{listener.fileno()}", "--workers", "2",
         "--log-level", "warning"],
        cwd=ROOT, env=env, pass_fds=[listener.fileno()],
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.head(f"{base}/anymail/postmark/tracking/", timeout=5)
            break
        except requests.RequestException:  # the socket listens before a worker has booted
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.05)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    listener.close()


def send(base, path, body, auth=AUTH, **kw):
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(f"{base}{path}", data=data, headers=headers, timeout=30, **kw)


def test_gunicorn_serves_batches_once_refuses_bad_credentials_and_bad_bodies(server):
    batch = [sendgrid_event(f"g{i}@example.com", sg_message_id=f"gm{i}",
                            **({"status": "5.1.1", "reason": "550 5.1.1 unknown"} if i % 2 else {"event": "delivered"}))
             for i in range(1000)]
    assert send(server, "/anymail/sendgrid/tracking/", batch, auth=None).status_code == 400
    assert send(server, "/anymail/sendgrid/tracking/", batch, auth="Basic bm9wZTpub3Bl").status_code == 400
    assert BounceEvent.objects.count() == 0
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: send(server, "/anymail/sendgrid/tracking/", batch).status_code, range(5)))
    assert answers == [200] * 5
    assert (BounceEvent.objects.count(), EngagementEvent.objects.count(), Suppression.objects.count()) == (500, 500, 500)
    assert send(server, "/anymail/postmark/tracking/", postmark_bounce("p@example.com")).status_code == 200
    assert send(server, "/anymail/mailgun/tracking/", mailgun_failed("m@example.com")).status_code == 200
    assert BounceEvent.objects.filter(email__in=["p@example.com", "m@example.com"], category="hard").count() == 2
    malformed = send(server, "/anymail/sendgrid/tracking/", "[{\"event\": ")
    assert malformed.status_code == 400 and "unreadable" in malformed.text
    huge = send(server, "/anymail/sendgrid/tracking/", b"[" + b" " * (6 * 1024 * 1024) + b"]")
    assert huge.status_code == 413
