"""The soak run: the whole system under a mixed campaign, with faults, then its invariants.

    python -m soak.run --messages 20000        (``make soak``)

Starts, on 127.0.0.1 and on servers of its own: PostgreSQL, Redis, the SMTP sink, gunicorn,
a sending worker (queue ``send``), a bounce worker (``bounces``, ``default``) and beat. Drives a
campaign whose recipients answer 250, 550, 552, 421, 450-then-250 and 554 in known proportions
(plus ``late.`` recipients that are accepted and bounce later by DSN), while it posts SendGrid
webhook batches (each batch twice, some five times at once) and drops DSNs into the Maildir
that beat polls. Mid-run it SIGKILLs the sending worker, restarts Redis (losing everything
queued there) and restarts PostgreSQL. Then it checks the invariants against the sink's own
record and the database, prints them, and exits non-zero on any violation.

Bounded: every wait has a deadline, the run stops after --max-seconds whatever happens, and it
stops everything it started.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from campaigns.tokens import message_pk_from_token
from soak.infra import ROOT, Stack, free_port, port_open, wait_for
from soak.plan import OUTCOMES, outcome_for, recipients

WEBHOOK_USER, WEBHOOK_PASSWORD = "soak", "soak-webhook-secret"


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def environment(stack: Stack, *, sink_port: int, maildir: Path) -> dict[str, str]:
    """Production-like settings, with delivery schedules shrunk from hours to seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "REDIS_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "lockline.settings",
        "DEBUG": "0",
        "SECRET_KEY": "soak-" + "k" * 60,
        "WEBHOOK_SECRET": f"{WEBHOOK_USER}:{WEBHOOK_PASSWORD}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": stack.postgres.url("lockline_soak"),
        "CELERY_BROKER_URL": stack.redis.url,
        "REDIS_URL": stack.redis.url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink_port),
        "EMAIL_TIMEOUT": "10",
        "LOCKLINE_VAR_DIR": str(stack.root / "var"),
        "BOUNCE_MAILDIR": str(maildir),
        "BOUNCE_POLL_SECONDS": "2",
        "LOCKLINE_RECONCILE_INTERVAL": "3",
        # With a backlog the send queue is busy, not lost: re-publishing it early only adds
        # duplicate (no-op) tasks. After the Redis restart the queue is empty: IDLE applies.
        "LOCKLINE_REQUEUE_AFTER": "600",
        "LOCKLINE_REQUEUE_AFTER_IDLE": "5",
        "LOCKLINE_SENDING_STUCK_AFTER": "15",
        "LOCKLINE_RETRY_BASE_DELAY": "1",
        "LOCKLINE_RETRY_MAX_DELAY": "4",
        # Longer than the whole run: a greylisted recipient queued at the start may get its
        # second try only at the end, behind the backlog (a 20,000 run takes ~25 min here).
        "LOCKLINE_RETRY_LIFETIME": "7200",
        "LOCKLINE_HOLD_RECHECK": "2",
        "LOCKLINE_THROTTLE_INITIAL_INTERVAL": "0.2",
        "LOCKLINE_THROTTLE_MAX_INTERVAL": "1",
        "LOCKLINE_THROTTLE_COOLDOWN": "5",
        # The soak's mix bounces far above any reputation threshold on purpose: keep the guards
        # from pausing it, so the run measures delivery, not the guard.
        "LOCKLINE_BLOCKS_PAUSE_CAMPAIGN": "1000000",
        "LOCKLINE_GUARD_BOUNCE_RATE": "1.0",
        "LOCKLINE_GUARD_COMPLAINT_RATE": "1.0",
        "LOCKLINE_WEBHOOK_MAX_AGE": str(7 * 24 * 3600),
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_SOFT_TIME_LIMIT": "30",
        "CELERY_TASK_TIME_LIMIT": "40",
    })
    return env


class Soak:
    def __init__(self, *, messages: int, max_seconds: float, seed: int, keep: bool):
        self.total = messages
        self.deadline = time.monotonic() + max_seconds
        self.random = random.Random(seed)
        self.keep = keep
        self.stack = Stack()
        self.maildir = self.stack.root / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        self.faults: list[str] = []
        self.posted_events: dict[str, dict] = {}  # sg_event_id -> event, each posted ≥ twice
        self.dsn_files: list[str] = []
        self.suppressed_before: set[str] = set()

    # --- set-up --------------------------------------------------------------------------------
    def start(self) -> None:
        log(f"servers in {self.stack.root}")
        self.stack.postgres.init()
        self.stack.postgres.start()
        self.stack.postgres.create_database("lockline_soak")
        self.stack.redis.start()

        from campaigns.sink import DEFAULT_RULES, SinkRule, SmtpSink

        # One `slow.` recipient stalls at RCPT on its first attempt: the sending worker is
        # SIGKILLed while it is in the middle of that message.
        rules = [SinkRule(r"^slow\.", stall=120, times=1), *DEFAULT_RULES]
        self.sink = SmtpSink(rules=rules, dsn_delay=0.5).start()
        self.env = environment(self.stack, sink_port=self.sink.port, maildir=self.maildir)
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.web_port = free_port()
        python = sys.executable
        self.stack.add("web", [python, "-m", "gunicorn", "lockline.wsgi", "--bind", f"127.0.0.1:{self.web_port}",
                               "--workers", "2", "--log-level", "warning"], self.env)
        self.start_send_worker()
        self.stack.add("worker-bounces", [python, "-m", "celery", "-A", "lockline", "worker", "--queues",
                                          "bounces,default", "--concurrency", "1", "--hostname", "bounces@%h",
                                          "--loglevel", "WARNING"], self.env)
        self.stack.add("beat", [python, "-m", "celery", "-A", "lockline", "beat", "--loglevel", "WARNING",
                                "--schedule", str(self.stack.root / "beat-schedule")], self.env)
        wait_for(lambda: port_open(self.web_port), timeout=60, what="gunicorn")

    def start_send_worker(self) -> None:
        # One process: the kill lands while its only message in flight is the stalled one (a
        # second process would be caught at a random point of its own send; see the README on the
        # window SMTP leaves open).
        self.stack.add("worker-send", [sys.executable, "-m", "celery", "-A", "lockline", "worker", "--queues", "send",
                                       "--concurrency", "1", "--hostname", f"send{time.time_ns()}@%h",
                                       "--loglevel", "WARNING"], self.env)

    def seed(self) -> None:
        from bounces.models import Suppression
        from bounces.services import suppression_create
        from campaigns.models import Campaign, PromptVersion
        from leads.models import Lead, Tag

        addresses = recipients(self.total)
        # A slice of the plan is `late.`: accepted, then bounced by a DSN into the Maildir.
        late = set(self.random.sample(range(self.total), max(1, self.total // 50)))
        addresses = [f"late.{a}" if i in late and outcome_for(a) is OUTCOMES[0] else a for i, a in enumerate(addresses)]
        slow = next(i for i in range(self.total // 5, self.total) if outcome_for(addresses[i]) is OUTCOMES[0]
                    and not addresses[i].startswith("late."))
        addresses[slow] = f"slow.{addresses[slow]}"
        tag = Tag.objects.create(name="soak")
        Lead.objects.bulk_create([Lead(email=a, domain=a.rpartition("@")[2], name="Soak", company="Soak Co")
                                  for a in addresses], batch_size=5000)
        through = Lead.tags.through
        through.objects.bulk_create([through(lead_id=pk, tag_id=tag.pk) for pk in Lead.objects.values_list("pk", flat=True)],
                                    batch_size=5000)
        # Suppressed before the launch: the launch must skip them, and none may reach the sink.
        accepting = [a for a in addresses if outcome_for(a) is OUTCOMES[0]]
        chosen = self.random.sample(accepting, max(2, self.total // 50))
        for address in chosen[: len(chosen) // 2]:
            suppression_create(email=address, reason=Suppression.Reason.MANUAL, note="soak: suppressed before launch")
            self.suppressed_before.add(address)
        # Suppressed just after the launch, while their messages wait in the queue.
        self.suppress_after_launch = chosen[len(chosen) // 2:]
        prompt = PromptVersion.objects.create(name="soak", prompt="Hi {name}, about {company}.",
                                              subject_template="{company}: soak")
        self.campaign = Campaign.objects.create(name="soak", prompt_version=prompt, sender_email="outreach@lockline.test",
                                                audience_tag=tag)
        self.addresses = addresses

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> None:
        from campaigns.delivery.launch import campaign_launch

        started = time.monotonic()
        result = campaign_launch(campaign=self.campaign)
        log(f"launched {result.created} messages in {time.monotonic() - started:.1f}s")
        from bounces.models import Suppression
        from bounces.services import suppression_create

        for address in self.suppress_after_launch:
            suppression_create(email=address, reason=Suppression.Reason.MANUAL, note="soak: suppressed while queued")
        faults = [
            (lambda p: self.sink.stalled.is_set() or p >= 0.25, self.fault_kill_worker),
            (lambda p: p >= 0.50, self.fault_restart_redis),
            (lambda p: p >= 0.70, self.fault_restart_postgres),
        ]
        stop_feeding = threading.Event()
        feeder = threading.Thread(target=self.feed, args=(stop_feeding,), daemon=True)
        feeder.start()
        try:
            while True:
                progress = self.progress()
                while faults and faults[0][0](progress):
                    faults.pop(0)[1]()
                if not faults and self.drained():
                    break
                if time.monotonic() > self.deadline:
                    raise TimeoutError("the soak did not drain before --max-seconds")
                time.sleep(1)
        finally:
            stop_feeding.set()
            feeder.join(30)
        # Last webhook/DSN work: everything posted or dropped must be processed.
        self.feed_once(final=True)
        wait_for(self.drained, timeout=max(5.0, self.deadline - time.monotonic()), what="the final drain", interval=1)
        # A row is committed `sent` just before the server gets the final "." of its message:
        # let the last deliveries land before counting them.
        time.sleep(2)
        self.elapsed = time.monotonic() - started
        log(f"drained after {self.elapsed:.0f}s")

    def progress(self) -> float:
        from campaigns.models import Message

        done = Message.objects.exclude(state__in=["queued", "sending"]).count()
        return done / max(1, self.total)

    def drained(self) -> bool:
        import redis

        from bounces.models import InboundMail
        from campaigns.models import Message

        try:
            open_messages = Message.objects.filter(state__in=["queued", "sending", "deferred"]).count()
            unprocessed = InboundMail.objects.filter(status="received").count()
            client = redis.Redis.from_url(self.stack.redis.url)
            queued = sum(client.llen(q) for q in ("send", "bounces", "default"))
            unacked = client.hlen("unacked")
        except Exception as exc:  # a fault may be under way: not drained yet
            log(f"drain check failed ({exc.__class__.__name__}); retrying")
            return False
        pending_dsn = any((self.maildir / "new").iterdir()) or bool(self.sink.dsns)
        return not (open_messages or unprocessed or queued or unacked or pending_dsn)

    # --- faults -------------------------------------------------------------------------------
    def fault_kill_worker(self) -> None:
        worker = self.stack.processes["worker-send"]
        if not self.sink.stalled.wait(120):
            raise TimeoutError("the slow recipient was never reached")
        log("fault: SIGKILL the sending worker mid-send")
        worker.kill(signal.SIGKILL)
        self.faults.append("SIGKILL sending worker")
        time.sleep(2)
        self.start_send_worker()

    def fault_restart_redis(self) -> None:
        log("fault: restart Redis (everything queued in it is lost)")
        self.stack.redis.restart()
        self.faults.append("Redis restarted")

    def fault_restart_postgres(self) -> None:
        log("fault: restart PostgreSQL")
        from django.db import connections

        self.stack.postgres.restart(down_seconds=2)
        connections.close_all()
        self.faults.append("PostgreSQL restarted")

    # --- webhooks and DSNs fed while it runs --------------------------------------------------
    def feed(self, stop: threading.Event) -> None:
        while not stop.wait(2):
            try:
                self.feed_once()
            except Exception as exc:  # a fault may be under way; the next round catches up
                log(f"feeding failed ({exc.__class__.__name__}: {exc}); retrying next round")

    def feed_once(self, final: bool = False) -> None:
        self.move_dsns()
        self.post_webhooks(final=final)

    def move_dsns(self) -> None:
        """DSNs the sink produced for `late.` recipients land in the bounce Maildir."""
        while self.sink.dsns:
            dsn = self.sink.dsns.pop(0)
            name = f"{time.time_ns()}.{len(self.dsn_files)}.soak"
            (self.maildir / "tmp" / name).write_bytes(dsn if isinstance(dsn, bytes) else dsn.as_bytes())
            os.replace(self.maildir / "tmp" / name, self.maildir / "new" / name)
            self.dsn_files.append(name)

    def post_webhooks(self, final: bool) -> None:
        """SendGrid batches about messages the sink accepted: `delivered` for each, a spam
        report for some. Every batch is posted twice; every fifth, five times at once."""
        with self.sink.lock:
            accepted = [(r.rcpt, r.message_token) for r in self.sink.received]
        fresh = [(rcpt, token) for rcpt, token in accepted if f"delivered:{token}" not in self.posted_events]
        if not fresh:
            return
        events = []
        for rcpt, token in fresh[:1000]:
            now = int(time.time())
            events.append(self._sendgrid_event("delivered", rcpt, token, now))
            if self.random.random() < 0.02 and not rcpt.startswith("late."):
                events.append(self._sendgrid_event("spamreport", rcpt, token, now))
        body = json.dumps(events)
        copies = 5 if len(self.posted_events) % 5 == 0 else 2
        with ThreadPoolExecutor(max_workers=copies) as pool:
            answers = list(pool.map(lambda _: self._post(body), range(copies)))
        if not any(status == 200 for status in answers):
            raise RuntimeError(f"webhook batch refused: {answers}")
        for event in events:
            self.posted_events[f"{event['event']}:{event['lockline_token']}"] = event

    def _sendgrid_event(self, kind: str, rcpt: str, token: str, timestamp: int) -> dict:
        return {
            "email": rcpt, "timestamp": timestamp, "event": kind,
            "sg_event_id": base64.urlsafe_b64encode(os.urandom(12)).decode(),
            "sg_message_id": f"soak-{token}.filter0001",
            "smtp-id": f"<{token}@lockline.test>",
            "lockline_token": token,
            "lockline_message_id": str(message_pk_from_token(token) or ""),
        }

    def _post(self, body: str) -> int:
        try:
            return requests.post(
                f"http://127.0.0.1:{self.web_port}/anymail/sendgrid/tracking/", data=body,
                headers={"Content-Type": "application/json"}, auth=(WEBHOOK_USER, WEBHOOK_PASSWORD), timeout=30,
            ).status_code
        except requests.RequestException:
            return 0

    # --- invariants ---------------------------------------------------------------------------
    def check(self) -> list[str]:
        from django.db.models import Count

        from bounces.models import BounceEvent, EngagementEvent, InboundMail, Suppression
        from campaigns.models import Message
        from campaigns.tokens import message_token

        violations: list[str] = []
        messages = list(Message.objects.values("pk", "to_email", "state"))
        by_token = {message_token(m["pk"]): m for m in messages}
        with self.sink.lock:
            received = list(self.sink.received)
        deliveries = Counter(r.message_token for r in received)

        # 1. Every message sent exactly once, or bounced/failed as its recipient dictates.
        wrong_state, twice, missing, unexpected = [], [], [], []
        for token, message in by_token.items():
            outcome = outcome_for(message["to_email"])
            count = deliveries.get(token, 0)
            if message["to_email"] in self.suppressed_before:
                wrong_state.append(message["pk"])  # the launch must have skipped it
                continue
            if message["to_email"] in self.suppress_after_launch:
                # Either sent before the suppression landed, or held back: never both, never twice.
                if (count, message["state"]) not in ((1, "sent"), (0, "suppressed")):
                    wrong_state.append(message["pk"])
                continue
            if count > 1:
                twice.append(message["pk"])
            if outcome.accepted and count == 0:
                missing.append(message["pk"])
            if not outcome.accepted and count:
                unexpected.append(message["pk"])
            expected_states = outcome.final_states
            if message["to_email"].startswith("late."):
                expected_states = ("bounced",)
            if message["state"] not in expected_states:
                wrong_state.append(message["pk"])
                if len(wrong_state) <= 5:
                    log(f"message {message['pk']} to {message['to_email']}: {message['state']}, "
                        f"{count} deliveries; expected {'/'.join(expected_states)}")
        for name, ids in (("sent more than once", twice), ("never delivered though its recipient accepts", missing),
                          ("delivered though its recipient refuses", unexpected), ("in the wrong final state", wrong_state)):
            if ids:
                violations.append(f"{len(ids)} message(s) {name}: ids {sorted(ids)[:20]}")
        if len(messages) != len(self.addresses) - len(self.suppressed_before):
            violations.append(f"{len(messages)} messages for {len(self.addresses)} leads, "
                              f"{len(self.suppressed_before)} of them suppressed before the launch")

        # 2. Nothing sent to an address suppressed before the send started.
        suppressed_at = {s["email"]: s["created_at"].timestamp() for s in Suppression.objects.values("email", "created_at")}
        late_sends = sorted(by_token[r.message_token]["pk"] for r in received
                            if r.message_token in by_token and r.rcpt in suppressed_at and r.at > suppressed_at[r.rcpt] + 1.0)
        if late_sends:
            violations.append(f"{len(late_sends)} message(s) sent after their address was suppressed: ids {late_sends[:20]}")

        # 3. Every webhook event and DSN recorded exactly once.
        complaints = {e["lockline_token"] for e in self.posted_events.values() if e["event"] == "spamreport"}
        delivered = {e["lockline_token"] for e in self.posted_events.values() if e["event"] == "delivered"}
        webhook_complaints = Counter(
            message_token(pk) for pk in BounceEvent.objects.filter(source="webhook", category="complaint").values_list("message_id", flat=True)
        )
        engagement = Counter(
            message_token(pk) for pk in EngagementEvent.objects.filter(event_type="delivered").values_list("message_id", flat=True)
        )
        bad = [t for t in complaints if webhook_complaints.get(t) != 1] + [t for t in delivered if engagement.get(t) != 1]
        if bad or sum(webhook_complaints.values()) != len(complaints) or sum(engagement.values()) != len(delivered):
            violations.append(f"{len(bad)} webhook event(s) not recorded exactly once: {[by_token.get(t, {}).get('pk') for t in bad[:20]]}")
        inbound = InboundMail.objects.count()
        dsn_events = BounceEvent.objects.filter(source="dsn").values("message_id").annotate(n=Count("id"))
        dsn_multi = [row["message_id"] for row in dsn_events if row["n"] != 1]
        if inbound != len(self.dsn_files) or dsn_multi or len(dsn_events) != len(self.dsn_files):
            violations.append(f"DSNs: {len(self.dsn_files)} dropped, {inbound} stored, {len(dsn_events)} messages with DSN "
                              f"events, recorded more than once: {dsn_multi[:20]}")

        # 4. No suppression caused by a transient failure.
        transient = list(Suppression.objects.filter(bounce_event__category="transient").values_list("pk", flat=True))
        # Greylisted recipients fail only transiently; a spam report posted about one is another matter.
        greylisted = list(Suppression.objects.filter(email__startswith="greylist.").exclude(reason="complaint")
                          .values_list("pk", flat=True))
        if transient or greylisted:
            violations.append(f"suppressions from transient failures: {sorted(transient + greylisted)[:20]}")

        # 5. The queue drained.
        if not self.drained():
            violations.append("the queues did not drain")

        self.summary = {
            "messages": len(messages),
            "states": dict(Counter(m["state"] for m in messages)),
            "sink deliveries": sum(deliveries.values()),
            "webhook events posted (distinct)": len(self.posted_events),
            "DSNs fed": len(self.dsn_files),
            "bounce events": dict(Counter(BounceEvent.objects.values_list("category", flat=True))),
            "active suppressions": Suppression.objects.active().count(),
            "faults": self.faults,
            "seconds": round(self.elapsed),
            "messages per second": round(len(messages) / max(1.0, self.elapsed), 1),
        }
        return violations

    def close(self) -> None:
        try:
            self.sink.stop()
        except Exception:  # noqa: BLE001 - stopping must go on with the rest
            pass
        self.stack.close(keep=self.keep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--max-seconds", type=float, default=2400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) afterwards")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    # Stopped from outside (CI's time limit, Ctrl-C): still stop everything the run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    soak = Soak(messages=args.messages, max_seconds=args.max_seconds, seed=args.seed, keep=args.keep)
    try:
        soak.start()
        soak.seed()
        soak.run()
        violations = soak.check()
    except Exception as exc:  # report what stopped the run, then stop everything it started
        log(f"the soak run stopped: {exc.__class__.__name__}: {exc}")
        soak.summary = {"faults": soak.faults, "logs": str(soak.stack.root)}
        violations = [f"the run did not complete: {exc}"]
        soak.keep = True  # keep the logs of a run that broke
    finally:
        soak.close()
    log("summary: " + json.dumps(soak.summary, default=str))
    for line in violations:
        log(f"VIOLATION: {line}")
    log("invariants: " + ("all hold" if not violations else f"{len(violations)} violated"))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
