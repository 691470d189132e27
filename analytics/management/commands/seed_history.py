"""Seed 30 days of outreach history so the analytics dashboard has something true to show."""
from __future__ import annotations

import json
import random
from datetime import timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from analytics.featured import lead_feature_all
from bounces.models import BounceEvent, EngagementEvent, EngagementEventType, Suppression
from bounces.services import bounce_record
from campaigns.models import Campaign, Message, PromptVersion
from leads.models import Lead

DAYS = 30
LEADS = 420
# (name, version, subject, campaign, how its messages fare). Rates are per message:
# content: refused as spam (5.7.1), complaint: reported as spam, open/click/reply: engagement.
VERSIONS = [
    ("intro", 2, "{company}: cleaner outreach lists", "History: intro",
     {"content": 0.005, "complaint": 0.001, "open": 0.42, "click": 0.10, "reply": 0.04}),
    ("intro-urgent", 1, "URGENT {company}!!! Act now", "History: intro",
     {"content": 0.09, "complaint": 0.012, "open": 0.22, "click": 0.03, "reply": 0.005}),
    ("case-study", 1, "How {company}'s peers cut bounces", "History: case study",
     {"content": 0.01, "complaint": 0.002, "open": 0.5, "click": 0.14, "reply": 0.06}),
    ("case-study-links", 2, "{company}: 9 links you need", "History: case study",
     {"content": 0.05, "complaint": 0.004, "open": 0.3, "click": 0.12, "reply": 0.02}),
]
# Recipient domains with how often their addresses are dead (hard, address-caused).
DOMAINS = [
    ("gmail.example", 0.02), ("outlook.example", 0.03), ("yahoo.example", 0.05),
    ("acme.example", 0.01), ("globex.example", 0.02), ("oldcorp.example", 0.45),
]
SOURCES = ["webinar-2026", "purchased-list", "inbound"]


class Command(BaseCommand):
    help = (
        "Seed 30 days of outreach history (idempotent: does nothing when it has run before): "
        "four prompt versions in two campaigns, ~800 sent messages, their bounces, complaints, "
        "deliveries, opens, clicks and replies, through the real bounce policy. Run after seed_demo."
    )

    def handle(self, *args, **options):
        if Campaign.objects.filter(name="History: intro").exists():
            self.stdout.write("History already seeded.")
            return
        call_command("seed_demo", stdout=self.stdout)
        rng = random.Random(2026)
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        start = now - timedelta(days=DAYS)
        with transaction.atomic():
            versions, campaigns = [], {}
            for name, number, subject, campaign_name, odds in VERSIONS:
                version, _ = PromptVersion.objects.get_or_create(
                    name=name, version=number,
                    defaults={"prompt": f"Write a cold email in the '{name}' format.", "subject_template": subject,
                              "model_name": "demo-model"},
                )
                if campaign_name not in campaigns:
                    campaigns[campaign_name], _ = Campaign.objects.get_or_create(
                        name=campaign_name,
                        defaults={"prompt_version": version, "sender_email": "sales@outreach.lockline.test",
                                  "status": Campaign.Status.RUNNING, "launched_at": start},
                    )
                versions.append((version, campaigns[campaign_name], odds))
            leads = []
            for number in range(LEADS):
                domain, dead = DOMAINS[number % len(DOMAINS)]
                lead, _ = Lead.objects.get_or_create(
                    email=f"lead{number}@{domain}",
                    defaults={"name": f"Lead {number}", "company": domain.split(".")[0].title(),
                              "source": SOURCES[number % len(SOURCES)]},
                )
                leads.append((lead, dead))
            messages = []
            for lead, _dead in leads:
                # Each lead hears from both campaigns, from one version of each.
                for offset in (0, 2):
                    version, campaign, odds = versions[offset + rng.randrange(2)]
                    sent_at = start + timedelta(days=rng.uniform(0, DAYS - 0.5))
                    messages.append(Message(
                        campaign=campaign, lead=lead, prompt_version=version, to_email=lead.email,
                        subject=version.subject_template.format(company=lead.company), body="(generated)",
                        state=Message.State.SENT, attempts=1, sent_at=sent_at,
                    ))
            Message.objects.bulk_create(messages, ignore_conflicts=True)

            engagement, suppressed = [], set()
            stored = Message.objects.filter(campaign__in=campaigns.values()).select_related("lead", "prompt_version")
            odds_of = {v.pk: o for v, _, o in versions}
            # Whether an address is dead is a fact about the lead, decided once.
            dead_leads = {lead.pk for lead, dead in leads if rng.random() < dead}
            for message in stored.order_by("sent_at"):
                if message.lead_id in suppressed:
                    # The policy held this one back: never sent.
                    Message.objects.filter(pk=message.pk).update(state=Message.State.SUPPRESSED, sent_at=None)
                    continue
                odds = odds_of[message.prompt_version_id]
                roll = rng.random()
                at = message.sent_at + timedelta(minutes=rng.randint(1, 30))
                outcome = None
                if message.lead_id in dead_leads:
                    outcome = self._bounce(message, at, "hard", "userunknown", "5.1.1", "550",
                                           "550 5.1.1 <{}>: Recipient address rejected: User unknown")
                elif roll < odds["content"]:
                    outcome = self._bounce(message, at, "hard", "spamdetected", "5.7.1", "554",
                                           "554 5.7.1 Message rejected as spam by Content Filtering")
                if outcome is not None:
                    if outcome.suppression:
                        suppressed.add(message.lead_id)
                    continue
                if roll < odds["content"] + 0.05:  # a soft or transient failure first, then delivered
                    kind = rng.choice([("soft", "mailboxfull", "4.2.2", "452", "452 4.2.2 Mailbox full"),
                                       ("transient", "greylisting", "4.7.1", "450", "450 4.7.1 Greylisted, try again")])
                    for retry in range(3 if kind[0] == "soft" and rng.random() < 0.5 else 1):
                        result = self._bounce(message, at + timedelta(hours=retry * 6), *kind[:4], kind[4])
                        if result.suppression:
                            suppressed.add(message.lead_id)
                    at += timedelta(days=1)
                engagement.append(self._engage(message, EngagementEventType.DELIVERED, at))
                if rng.random() < odds["complaint"]:
                    self._bounce(message, at + timedelta(hours=2), "complaint", "feedback", "", "", "abuse report")
                    suppressed.add(message.lead_id)
                    continue
                if rng.random() < odds["open"]:
                    engagement.append(self._engage(message, EngagementEventType.OPENED, at + timedelta(hours=rng.randint(1, 48))))
                    if rng.random() < odds["click"] / odds["open"]:
                        engagement.append(self._engage(message, EngagementEventType.CLICKED, at + timedelta(hours=rng.randint(2, 60))))
                    if rng.random() < odds["reply"] / odds["open"]:
                        engagement.append(self._engage(message, EngagementEventType.REPLIED, at + timedelta(hours=rng.randint(3, 72))))
            EngagementEvent.objects.bulk_create([e for e in engagement if e.occurred_at <= now], ignore_conflicts=True)
            self._doubtful(leads, now)
            # bounce_record stamps suppressions with the time it ran; date these by their evidence
            # so "suppressions in the last 7 days" means what it says on seeded history.
            Suppression.objects.filter(bounce_event__dedupe_key__startswith="seed:").update(
                created_at=Subquery(BounceEvent.objects.filter(pk=OuterRef("bounce_event_id")).values("occurred_at")[:1])
            )
        result = lead_feature_all()
        self.stdout.write(
            f"History seeded: {Message.objects.filter(campaign__in=campaigns.values(), sent_at__isnull=False).count()} "
            f"messages sent over "
            f"{DAYS} days, {EngagementEvent.objects.count()} engagement events, {result.featured} featured leads."
        )

    def _bounce(self, message, at, category, reason, status, smtp_code, diagnostic):
        payload = {"to": message.to_email, "status": status, "diagnostic": diagnostic.format(message.to_email)}
        return bounce_record(
            email=message.to_email, source="dsn", category=category, message=message, reason=reason,
            status=status, smtp_code=smtp_code, diagnostic=diagnostic.format(message.to_email),
            dedupe_key=f"seed:{message.pk}:{category}:{at.isoformat()}", raw=json.dumps(payload, indent=2),
            occurred_at=at,
        )

    def _engage(self, message, kind, at):
        return EngagementEvent(
            lead=message.lead, message=message, campaign_id=message.campaign_id,
            prompt_version_id=message.prompt_version_id, email=message.to_email, event_type=kind,
            dedupe_key=f"seed:{message.pk}:{kind}", occurred_at=at, raw="{}",
        )

    def _doubtful(self, leads, now):
        """A few suppressions of doubtful origin, the kind the review queue exists for."""
        cases = [
            ("webhook", "hard", "", "", "", "Undetermined", "SES could not classify this bounce"),
            ("dsn", "hard", "userunknown", "", "", "", "The account you tried to reach does not exist (no codes)"),
            ("webhook", "hard", "mailboxfull", "4.2.2", "452", "Permanent", "452 4.2.2 Mailbox full"),
            ("dsn", "hard", "blocked", "5.7.1", "554", "", "554 5.7.1 Service unavailable; client host blocked using a blocklist"),
        ]
        active = [lead for lead, dead in leads if dead < 0.1]
        for index, (source, category, reason, status, smtp_code, label, diagnostic) in enumerate(cases):
            lead = active[-(index + 1)]
            if lead.status != Lead.Status.ACTIVE:
                continue
            bounce_record(
                email=lead.email, source=source, category=category, reason=reason, status=status, smtp_code=smtp_code,
                diagnostic=diagnostic, esp_name="amazon_ses" if source == "webhook" else "", esp_event_type=label,
                dedupe_key=f"seed:doubtful:{index}", occurred_at=now - timedelta(days=index + 1),
                raw=json.dumps({"bounceType": label or "n/a", "diagnosticCode": diagnostic}, indent=2),
            )
