from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


class PromptVersion(models.Model):
    """One version of the AI prompt (or template) that generates outreach messages.

    Frozen once a message used it: analytics compare versions, so a version's text must be the
    text its messages were generated from. Change the prompt by adding a new version.
    """

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    # The system prompt for an AI generator, or the body template for the template generator.
    prompt = models.TextField()
    subject_template = models.CharField(max_length=255, default="{company}: a quick question")
    model_name = models.CharField(max_length=100, blank=True)
    # Set by the reputation guard (or staff) when this version's messages bounce or draw complaints.
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="prompt_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_locked(self) -> bool:
        return self.pk is not None and self.messages.exists()

    # Fields that may change after use: pausing is operational state, not content.
    MUTABLE_WHEN_LOCKED = frozenset({"paused_at", "paused_reason"})

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and self.is_locked:
            stored = type(self).objects.get(pk=self.pk)
            changed = [
                f.name
                for f in self._meta.concrete_fields
                if f.name not in self.MUTABLE_WHEN_LOCKED
                and getattr(stored, f.attname) != getattr(self, f.attname)
            ]
            if changed:
                raise ValidationError(
                    f"{self} generated messages already; {', '.join(changed)} cannot change. "
                    "Create a new version instead."
                )
        super().save(*args, **kwargs)


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # being prepared; nothing sent
    RUNNING = "running", "Running"  # messages are being sent
    PAUSED = "paused", "Paused"  # held by staff or the reputation guard; sends wait
    FINISHED = "finished", "Finished"  # every message reached a final state


class Campaign(models.Model):
    Status = CampaignStatus

    name = models.CharField(max_length=200)
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="campaigns")
    sender_email = models.EmailField()
    sender_name = models.CharField(max_length=100, blank=True)
    # Leads carrying this tag are the audience; empty means every active lead.
    audience_tag = models.ForeignKey(
        "leads.Tag", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Send limits; empty means no limit.
    daily_limit = models.PositiveIntegerField(null=True, blank=True)
    hourly_limit = models.PositiveIntegerField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MessageState(models.TextChoices):
    QUEUED = "queued", "Queued"  # generated and waiting for a worker
    SENDING = "sending", "Sending"  # claimed by a worker; SMTP/ESP call in progress
    SENT = "sent", "Sent"  # accepted by the receiving server or the ESP
    DEFERRED = "deferred", "Deferred"  # soft or transient failure; retried at next_attempt_at
    FAILED = "failed", "Failed"  # gave up after retries; the lead stays clean
    BOUNCED = "bounced", "Bounced"  # hard bounce (at send time or later by DSN/webhook)
    SUPPRESSED = "suppressed", "Suppressed"  # not sent: the address was suppressed


class Message(models.Model):
    """One outreach email to one lead in one campaign, and where its delivery stands."""

    State = MessageState

    FINAL_STATES = (State.SENT, State.FAILED, State.BOUNCED, State.SUPPRESSED)

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="messages")
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="messages")
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="messages")
    # The address at generation time: a later edit of the lead does not redirect a retry.
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=998)
    body = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a send task for this message was last published to the broker (or, for a retry, when
    # its countdown ends). The reconciler re-publishes a due message whose task is older than
    # LOCKLINE_REQUEUE_AFTER: the broker lost it (Redis restart, FLUSHALL).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    # Our RFC 5322 Message-ID (without angle brackets) and the ESP's id: bounces match on both.
    message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    esp_message_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "lead"], name="message_one_per_campaign_lead"),
            models.CheckConstraint(
                condition=models.Q(state__in=MessageState.values), name="message_state_valid"
            ),
        ]
        indexes = [
            # The reconciler's scan: due messages that are not in flight.
            models.Index(
                fields=["next_attempt_at"],
                name="message_due",
                condition=models.Q(state__in=["queued", "deferred"]),
            ),
            # The reconciler's scan for messages stuck in `sending` after a worker died.
            models.Index(fields=["updated_at"], name="message_sending", condition=models.Q(state="sending")),
            # Matching a bounce that names only the recipient: their most recent message.
            models.Index(fields=["to_email", "-created_at"], name="message_recipient_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.to_email} in {self.campaign_id}"
