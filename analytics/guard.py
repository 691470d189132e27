"""The reputation guard: pause what bounces or draws complaints before the ESP does it for us.

ESPs review a sending account whose rates cross fixed lines (Amazon SES: 5% bounces, 0.1%
complaints). The guard holds each running campaign and each active prompt version to the same
lines (settings LOCKLINE_GUARD_*), over a short window (a sudden spike) and a long one (a slow
drift), and only once the window holds the minimum number of sends. A rate strictly above its
threshold pauses the target and records a GuardAction with the figures; staff resume with a
reason, and from then on only sends after the resume count, so a resumed target is not paused
again for the history it was resumed despite.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from analytics.aggregates import metrics_by
from analytics.models import GuardAction
from analytics.stats import rate
from campaigns.models import Campaign, PromptVersion
from campaigns.services import (
    CampaignStateError,
    campaign_pause,
    campaign_resume,
    prompt_version_pause,
    prompt_version_resume,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuardRule:
    metric: str  # a Metrics count: "hard" or "complaints"
    label: str  # "bounce_rate" or "complaint_rate"
    threshold: float
    window: timedelta
    min_sends: int

    @property
    def name(self) -> str:
        hours = int(self.window.total_seconds() // 3600)
        return f"{self.label}/{hours}h" if hours < 48 else f"{self.label}/{hours // 24}d"


@dataclass(frozen=True)
class Breach:
    target: Campaign | PromptVersion
    rule: GuardRule
    sends: int
    events: int

    @property
    def rate(self) -> float:
        return rate(self.events, self.sends) or 0.0

    def describe(self) -> str:
        return (
            f"reputation guard: {self.rule.name} {self.rate:.2%} ({self.events} of {self.sends} sends) "
            f"above {self.rule.threshold:.2%}"
        )


def guard_rules() -> list[GuardRule]:
    """The four rules from settings: bounce and complaint rate, each over both windows."""
    short = timedelta(hours=settings.LOCKLINE_GUARD_SHORT_WINDOW_HOURS)
    long = timedelta(days=settings.LOCKLINE_GUARD_LONG_WINDOW_DAYS)
    rules = []
    for metric, label, threshold in (
        ("hard", "bounce_rate", settings.LOCKLINE_GUARD_BOUNCE_RATE),
        ("complaints", "complaint_rate", settings.LOCKLINE_GUARD_COMPLAINT_RATE),
    ):
        rules.append(GuardRule(metric, label, threshold, short, settings.LOCKLINE_GUARD_SHORT_MIN_SENDS))
        rules.append(GuardRule(metric, label, threshold, long, settings.LOCKLINE_GUARD_LONG_MIN_SENDS))
    return rules


def _last_resumed(field: str) -> dict[int, datetime]:
    rows = (
        GuardAction.objects.filter(kind=GuardAction.Kind.RESUMED, **{f"{field}__isnull": False})
        .values(field)
        .annotate(at=Max("created_at"))
        .order_by()
    )
    return {row[field]: row["at"] for row in rows}


def guard_evaluate(*, at: datetime | None = None) -> list[Breach]:
    """Every rule a running campaign or an unpaused prompt version breaks now (nothing changed).

    A target's window starts no earlier than its last resume. At most one breach per target:
    the first rule it breaks, in guard_rules() order.
    """
    at = at or timezone.now()
    targets = {
        "campaign": (
            {c.pk: c for c in Campaign.objects.filter(status=Campaign.Status.RUNNING)},
            _last_resumed("campaign"),
        ),
        "prompt_version": (
            {p.pk: p for p in PromptVersion.objects.filter(paused_at__isnull=True)},
            _last_resumed("prompt_version"),
        ),
    }
    breaches: dict[tuple[str, int], Breach] = {}
    for rule in guard_rules():
        since = at - rule.window
        for dimension, (live, resumed) in targets.items():
            if not live:
                continue
            # Targets resumed inside the window are evaluated from their resume on, one query
            # each; all others share one grouped query.
            windows = {pk: since for pk in live}
            windows.update({pk: t for pk, t in resumed.items() if pk in live and t > since})
            groups: dict[datetime, list[int]] = {}
            for pk, start in windows.items():
                groups.setdefault(start, []).append(pk)
            for start, pks in groups.items():
                for m in metrics_by(dimension, since=start, until=at):
                    pk = m.key[0]
                    if pk not in pks or (dimension, pk) in breaches or m.sends < rule.min_sends:
                        continue
                    events = getattr(m, rule.metric)
                    if events / m.sends > rule.threshold:
                        breaches[(dimension, pk)] = Breach(live[pk], rule, m.sends, events)
    return list(breaches.values())


def reputation_guard_run(*, at: datetime | None = None) -> list[GuardAction]:
    """Pause every target guard_evaluate finds in breach; returns the GuardActions recorded."""
    actions = []
    for breach in guard_evaluate(at=at):
        with transaction.atomic():
            if isinstance(breach.target, Campaign):
                try:
                    campaign_pause(campaign=breach.target, reason=breach.describe())
                except CampaignStateError:
                    # Finished between the evaluation and now: nothing left to hold.
                    logger.info("guard: %s finished before it could be paused", breach.target)
                    continue
                target = {"campaign": breach.target}
            else:
                prompt_version_pause(prompt_version=breach.target, reason=breach.describe())
                target = {"prompt_version": breach.target}
            actions.append(
                GuardAction.objects.create(
                    kind=GuardAction.Kind.PAUSED,
                    rule=breach.rule.name,
                    sends=breach.sends,
                    events=breach.events,
                    rate=breach.rate,
                    threshold=breach.rule.threshold,
                    reason=breach.describe(),
                    **target,
                )
            )
        logger.warning("%s: %s", breach.target, breach.describe())
    return actions


def _guard_act(kind: str, *, campaign, prompt_version, reason: str, by) -> GuardAction:
    campaign_service, version_service = {
        GuardAction.Kind.PAUSED: (campaign_pause, prompt_version_pause),
        GuardAction.Kind.RESUMED: (campaign_resume, prompt_version_resume),
    }[kind]
    with transaction.atomic():
        if campaign is not None:
            campaign_service(campaign=campaign, reason=reason, by=by)
        elif prompt_version is not None:
            version_service(prompt_version=prompt_version, reason=reason, by=by)
        else:
            raise ValueError("Name a campaign or a prompt version.")
        return GuardAction.objects.create(
            kind=kind, campaign=campaign, prompt_version=prompt_version, reason=reason.strip(), by=by
        )


def guard_pause(*, campaign: Campaign | None = None, prompt_version: PromptVersion | None = None, reason: str, by=None) -> GuardAction:
    """Pause a campaign or prompt version by hand, recorded like the guard's own pauses.

    Raises ValueError without a reason, CampaignStateError for a finished campaign.
    """
    return _guard_act(GuardAction.Kind.PAUSED, campaign=campaign, prompt_version=prompt_version, reason=reason, by=by)


def guard_resume(*, campaign: Campaign | None = None, prompt_version: PromptVersion | None = None, reason: str, by=None) -> GuardAction:
    """Resume a paused campaign or prompt version with a reason, and record it.

    Raises ValueError without a reason and CampaignStateError when the target is not paused.
    From now on the guard counts only sends after this resume for the target.
    """
    return _guard_act(GuardAction.Kind.RESUMED, campaign=campaign, prompt_version=prompt_version, reason=reason, by=by)
