"""Seed the demo: a staff login, a prompt version, a campaign and a few dozen leads."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.models import Campaign, PromptVersion
from leads.models import Lead, Tag

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "lockline-demo"

DEMO_PROMPT = """You write short, friendly cold emails for Lockline.
Hi {name},

I noticed {company} is growing its sales team. Lockline keeps outreach lists clean by
treating every bounce as a signal. Worth a 15-minute call next week?

Best,
The Lockline team
"""

# Local parts the local SMTP sink answers by rule (see the README): the demo shows each outcome.
DEMO_OUTCOMES = [
    ("", 18),  # accepted (250)
    ("unknown.", 5),  # 550 5.1.1 user unknown: hard, suppressed at once
    ("full.", 3),  # 552 5.2.2 mailbox full: soft, retried with backoff
    ("down.", 2),  # 421 4.3.2 service not available: soft
    ("greylist.", 3),  # 450 4.7.1 greylisted, accepted on a later try: transient
    ("throttle.", 2),  # 452 4.5.3 too many recipients / rate limit: transient
    ("blocked.", 2),  # 554 5.7.1 refused as spam: a content problem, not the address
]
FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Donald"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka"]


class Command(BaseCommand):
    help = (
        "Create the demo data (idempotent): the staff login demo / lockline-demo, one prompt "
        "version, one draft campaign and 35 leads whose addresses the local SMTP sink answers "
        "with each kind of outcome."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True, "email": "demo@lockline.test"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()

        prompt, _ = PromptVersion.objects.get_or_create(
            name="intro", version=1,
            defaults={"prompt": DEMO_PROMPT, "subject_template": "{company}: cleaner outreach lists", "model_name": "template"},
        )
        tag, _ = Tag.objects.get_or_create(name="demo")
        Campaign.objects.get_or_create(
            name="Demo outreach",
            defaults={"prompt_version": prompt, "sender_email": "outreach@lockline.test", "sender_name": "Lockline", "audience_tag": tag},
        )
        number = 0
        for prefix, count in DEMO_OUTCOMES:
            for _ in range(count):
                first = FIRST_NAMES[number % len(FIRST_NAMES)]
                company = COMPANIES[number % len(COMPANIES)]
                lead, _ = Lead.objects.get_or_create(
                    email=f"{prefix}{first.lower()}{number}@{company.lower()}.example",
                    defaults={"name": first, "company": company, "source": "demo"},
                )
                lead.tags.add(tag)
                number += 1
        self.stdout.write(
            f"Demo ready: {Lead.objects.filter(tags=tag).count()} leads, campaign 'Demo outreach'. "
            f"Admin login: {DEMO_USERNAME} / {DEMO_PASSWORD}"
        )
