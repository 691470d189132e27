"""Analytics' own records: what the reputation guard did and what staff decided in review."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class GuardActionKind(models.TextChoices):
    PAUSED = "paused", "Paused"  # the guard (or staff) stopped sending
    RESUMED = "resumed", "Resumed"  # staff let it send again, with a reason


class GuardAction(models.Model):
    """One pause or resume of a campaign or prompt version, with the figures that caused it."""

    Kind = GuardActionKind

    kind = models.CharField(max_length=16, choices=Kind.choices)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="guard_actions"
    )
    prompt_version = models.ForeignKey(
        "campaigns.PromptVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="guard_actions"
    )
    # Which rule fired ("bounce_rate/24h"); empty for a resume.
    rule = models.CharField(max_length=64, blank=True)
    sends = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    rate = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Exactly one target: a campaign or a prompt version.
            models.CheckConstraint(
                condition=Q(campaign__isnull=False, prompt_version__isnull=True)
                | Q(campaign__isnull=True, prompt_version__isnull=False),
                name="guard_action_one_target",
            ),
            models.CheckConstraint(condition=Q(kind__in=GuardActionKind.values), name="guard_action_kind_valid"),
            models.CheckConstraint(condition=~Q(reason=""), name="guard_action_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.campaign or self.prompt_version}: {self.rule or self.reason[:40]}"


class ReviewDecisionKind(models.TextChoices):
    REINSTATED = "reinstated", "Reinstated"  # the suppression was wrong: lifted, lead sendable
    CONFIRMED = "confirmed", "Confirmed"  # the suppression stands; it leaves the queue


class ReviewDecision(models.Model):
    """Staff's verdict on a suppression surfaced for review: the audit trail of reinstatements."""

    Kind = ReviewDecisionKind

    suppression = models.ForeignKey("bounces.Suppression", on_delete=models.PROTECT, related_name="review_decisions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The review flags the suppression carried when decided (contradicted, soft_only, ...).
    flags = models.JSONField(default=list)
    note = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReviewDecisionKind.values), name="review_decision_kind_valid"),
            models.CheckConstraint(condition=~Q(note=""), name="review_decision_has_note"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} suppression {self.suppression_id}"
