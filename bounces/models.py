from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class BounceSource(models.TextChoices):
    SMTP = "smtp", "SMTP reply at send time"
    WEBHOOK = "webhook", "ESP tracking webhook"
    DSN = "dsn", "Bounce email (DSN)"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe link or mailto"
    MANUAL = "manual", "Entered by staff"


class BounceCategory(models.TextChoices):
    HARD = "hard", "Hard"  # the address is dead: suppress at once
    SOFT = "soft", "Soft"  # the mailbox or server failed; suppress only if it persists
    TRANSIENT = "transient", "Transient"  # greylisting, throttling: never counts against the lead
    COMPLAINT = "complaint", "Complaint"  # the recipient reported spam: suppress at once
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"  # the recipient opted out: suppress at once


# Why the event tables' ``message``, ``lead``, ``campaign`` and ``prompt_version`` have no
# database foreign keys.
#
# ``campaign`` and ``prompt_version`` are denormalised copies of the linked message's own, kept
# so analytics can use an index per campaign and per prompt version, and ``lead`` is the
# message's lead whenever there is a message. Every writer (bounce_event_build, the webhook
# engagement rows, seed_history) copies them from the message in the same transaction. The
# writer holds the message with the key check's own lock (FOR KEY SHARE: one statement for a
# batch's messages, ``bounces.services.messages_hold_for_link``, or the webhook batch's matching
# queries themselves) until the rows are committed, and fails if the message is gone; the
# message's own lead, campaign and prompt version are PROTECTed keys that never change. So the
# message, and every copy, names an existing row whenever the event is written. Checking keys row by row at commit instead
# cost a 1,000-event webhook batch 3,300 checks, then 900 with the message's key alone: 7.6 % of
# the batch (see README, "ESP webhooks").
#
# A row without a message names a lead found by its address. The writers hold that lead the
# same way (``bounces.services.lead_ids_for_link``). Triggers on the leads and messages tables
# (migrations 0006 and 0007) clear ``lead`` and ``message`` on the rows of a deleted lead or
# message, as ON DELETE SET NULL would, whoever deletes it; a deletion waits for the writers
# holding the row, and the trigger's statement then sees their rows. Deleting through Django
# (the admin, services) applies ``on_delete=SET_NULL`` as well. tests/test_models.py checks the
# copies, tests/test_event_lead_links.py the links.


class BounceEvent(models.Model):
    """One delivery failure, complaint or unsubscribe, from whichever channel reported it."""

    Source = BounceSource

    Category = BounceCategory

    # No database foreign key (see the note above this class); indexed.
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounce_events",
        db_constraint=False,
    )
    message = models.ForeignKey(
        "campaigns.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounce_events",
        db_constraint=False,  # see the note above
    )
    # The message's campaign and prompt version, copied for the analytics indexes. No
    # single-column indexes on them: bounce_campaign_time and bounce_prompt_time start with
    # them, and every index costs on a webhook batch's insert. No database foreign keys either
    # (see the note above this class): every writer copies them from the message linked here.
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounce_events",
        db_index=False, db_constraint=False,
    )
    prompt_version = models.ForeignKey(
        "campaigns.PromptVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounce_events",
        db_index=False, db_constraint=False,
    )
    email = models.EmailField(max_length=254)
    recipient_domain = models.CharField(max_length=253, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    category = models.CharField(max_length=16, choices=Category.choices)
    # Sisimai's reason vocabulary (userunknown, mailboxfull, spamdetected, ...).
    reason = models.CharField(max_length=32, blank=True, db_index=True)
    # A finer reason of our own where one helps (greylisted, ...).
    detail = models.CharField(max_length=64, blank=True)
    status = models.CharField("enhanced status code", max_length=16, blank=True)
    smtp_code = models.CharField("SMTP reply code", max_length=3, blank=True)
    diagnostic = models.TextField(blank=True)
    remote_mta = models.CharField(max_length=255, blank=True)
    esp_name = models.CharField(max_length=32, blank=True)
    esp_event_id = models.CharField(max_length=255, null=True, blank=True)
    # What the ESP itself called the event (SES "Transient", Postmark "SoftBounce", ...), kept
    # beside our category so disagreements per ESP can be counted.
    esp_event_type = models.CharField(max_length=64, blank=True)
    # The category the ESP's label alone implies (SES "Transient" -> soft) before the enhanced
    # status code had its say (5.4.4 -> hard). Differs from `category` when the two disagree.
    esp_category = models.CharField(max_length=16, blank=True)
    # One key per real-world event whatever channel or retry delivered it: the ESP's id where
    # it is stable, else a digest of the normalised event. Writes are upserts on it.
    dedupe_key = models.CharField(max_length=128, unique=True)
    raw = models.TextField(blank=True, help_text="The raw DSN or webhook payload, as received.")
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["esp_name", "esp_event_id"],
                condition=Q(esp_event_id__isnull=False),
                name="bounce_event_esp_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(category__in=BounceCategory.values), name="bounce_event_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=BounceSource.values), name="bounce_event_source_valid"
            ),
        ]
        indexes = [
            # The soft-bounce persistence count: this address's soft failures in the window.
            models.Index(fields=["email", "category", "occurred_at"], name="bounce_email_cat_time"),
            # Analytics by campaign / prompt version over time.
            models.Index(fields=["campaign", "occurred_at"], name="bounce_campaign_time"),
            models.Index(fields=["prompt_version", "occurred_at"], name="bounce_prompt_time"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.status or self.smtp_code} {self.email}"


class SuppressionQuerySet(models.QuerySet):
    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(lifted_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    PERSISTENT_SOFT = "persistent_soft", "Persistent soft bounce"
    COMPLAINT = "complaint", "Spam complaint"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
    MANUAL = "manual", "Added by staff"


class Suppression(models.Model):
    """An address we must not send to, with the evidence for it. Lifted, never deleted."""

    Reason = SuppressionReason

    email = models.EmailField(max_length=254)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    bounce_event = models.ForeignKey(
        BounceEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="suppressions"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_reason = models.TextField(blank=True)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one active suppression per address; lifted ones stay as history. The index
            # also serves the send-time check "is this address suppressed?".
            # (An expired-but-not-lifted row still counts here: the expiry sweep lifts it.)
            models.UniqueConstraint(
                fields=["email"], condition=Q(lifted_at__isnull=True), name="suppression_one_active_per_email"
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | ~Q(lift_reason=""), name="suppression_lift_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=SuppressionReason.values), name="suppression_reason_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()})"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class InboundMailStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, not parsed yet
    RECORDED = "recorded", "Recorded"  # parsed; its bounces, complaints or delays are recorded
    IGNORED = "ignored", "Not a bounce"  # an auto-reply or ordinary mail: nothing to record
    NEEDS_REVIEW = "needs_review", "Needs review"  # could not be understood: kept for a person


class InboundMail(models.Model):
    """A bounce email as it arrived (file, mailbox, IMAP or an ESP's inbound route).

    Stored before it is parsed, so a message the parser cannot read is flagged, never lost;
    its digest makes ingesting the same message twice a no-op.
    """

    Status = InboundMailStatus

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the raw message.")
    raw = models.BinaryField()
    origin = models.CharField(max_length=32, help_text="file, mbox, maildir, imap or an ESP's inbound webhook.")
    origin_ref = models.CharField(max_length=500, blank=True, help_text="Path, mailbox or ESP name it came from.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    kind = models.CharField(max_length=16, blank=True, help_text="What the parser says the message is.")
    mta = models.CharField(max_length=64, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    parse_error = models.TextField(blank=True)
    event_count = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # The admin's review queue.
            models.Index(fields=["received_at"], name="inbound_needs_review", condition=Q(status="needs_review")),
        ]

    def __str__(self) -> str:
        return f"{self.origin} {self.subject[:60] or self.digest[:12]}"

    @property
    def raw_text(self) -> str:
        return bytes(self.raw).decode("utf-8", errors="replace")
class EngagementEventType(models.TextChoices):
    DELIVERED = "delivered", "Delivered"  # accepted by the recipient's server
    OPENED = "opened", "Opened"  # tracking pixel loaded (proxies and privacy features load it too)
    CLICKED = "clicked", "Clicked"  # a tracked link was followed
    REPLIED = "replied", "Replied"  # the lead wrote back (an inbound reply matched to the message)


class EngagementEvent(models.Model):
    """A delivery, open or click an ESP reported: kept for analytics and to spot suppressions
    that were false positives (engagement after a hard bounce)."""

    EventType = EngagementEventType

    # As on BounceEvent: no database foreign key (see the note above it); indexed.
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="engagement_events",
        db_constraint=False,
    )
    message = models.ForeignKey(
        "campaigns.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="engagement_events",
        db_constraint=False,  # see the note above BounceEvent
    )
    # Copies of the message's, as on BounceEvent (see the note above it). No single-column
    # indexes: the composite indexes below start with them.
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="engagement_events",
        db_index=False, db_constraint=False,
    )
    prompt_version = models.ForeignKey(
        "campaigns.PromptVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="engagement_events",
        db_index=False, db_constraint=False,
    )
    email = models.EmailField(max_length=254)
    event_type = models.CharField(max_length=16, choices=EventType.choices)
    esp_name = models.CharField(max_length=32, blank=True)
    esp_event_id = models.CharField(max_length=255, null=True, blank=True)
    esp_event_type = models.CharField(max_length=64, blank=True)
    click_url = models.TextField(blank=True)
    user_agent = models.TextField(blank=True)
    # Same rule as BounceEvent.dedupe_key: one row per real-world event, however redelivered.
    dedupe_key = models.CharField(max_length=128, unique=True)
    raw = models.TextField(blank=True, help_text="The ESP's event, as received.")
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(event_type__in=EngagementEventType.values), name="engagement_event_type_valid"
            ),
        ]
        indexes = [
            # Analytics: opens/clicks per campaign and per prompt version over time.
            models.Index(fields=["campaign", "event_type", "occurred_at"], name="engagement_campaign_time"),
            models.Index(fields=["prompt_version", "event_type", "occurred_at"], name="engagement_prompt_time"),
            # False-positive check: did this suppressed address engage after its bounce?
            models.Index(fields=["email", "occurred_at"], name="engagement_email_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.email}"


class FlaggedWebhookEvent(models.Model):
    """An authenticated webhook event (or whole body) Lockline could not use, kept for a human.

    The receiver never raises on a bad event (Anymail would turn that into a 500 and the ESP
    would retry it forever): what it cannot understand is stored here with the reason.
    """

    esp_name = models.CharField(max_length=32, blank=True)
    esp_event_type = models.CharField(max_length=64, blank=True)
    problem = models.TextField()
    # A digest of the raw event: a redelivered bad event is flagged once.
    dedupe_key = models.CharField(max_length=128, unique=True)
    raw = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.esp_name}: {self.problem[:60]}"
