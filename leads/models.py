from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


def normalize_email(email: str) -> str:
    """The form every address is stored and compared in: trimmed and lower-cased.

    RFC 5321 lets a local part be case-sensitive, but no mailbox provider we send to treats it
    so, and a suppression must match however a bounce or an ESP spells the address.
    """
    return (email or "").strip().lower()


def email_domain(email: str) -> str:
    return email.rpartition("@")[2]


class Tag(models.Model):
    """A label on leads (`featured`, an import batch, a segment a campaign targets)."""

    FEATURED = "featured"

    name = models.SlugField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadStatus(models.TextChoices):
    ACTIVE = "active", "Active"  # may be sent to
    SUPPRESSED = "suppressed", "Suppressed"  # an active Suppression holds the address
    ARCHIVED = "archived", "Archived"  # taken out of outreach by staff


class Lead(models.Model):
    Status = LeadStatus


    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    # Derived from the email on save: analytics group by it and throttles key on it.
    domain = models.CharField(max_length=253, editable=False, db_index=True)
    # The list or import the lead came from: dead addresses count against their source.
    source = models.CharField(max_length=100, blank=True, db_index=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads")
    # A successful delivery resets the soft-bounce count (a mailbox full last month is fine now).
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    # Set nightly by analytics.featured.lead_feature_all from opens, clicks, replies and recency;
    # the admin lists featured leads first so sales call them first.
    engagement_score = models.PositiveIntegerField(default=0)
    featured_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Unique case-insensitively: every stored address is lower-case (checked below, so
            # rows written around save() by bulk_create or imports cannot slip a variant in),
            # and the plain unique index then also serves the exact lookups done on every
            # bounce and webhook event.
            models.UniqueConstraint(fields=["email"], name="lead_email_unique"),
            models.CheckConstraint(
                condition=models.Q(email=Lower("email"), email__contains="@"), name="lead_email_normalised"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=LeadStatus.values), name="lead_status_valid"
            ),
        ]
        indexes = [
            # Campaign launch streams active leads in id order.
            models.Index(fields=["status", "id"], name="lead_status_id"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        self.domain = email_domain(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "domain"}
        super().save(*args, **kwargs)

    @property
    def is_featured(self) -> bool:
        return any(tag.name == Tag.FEATURED for tag in self.tags.all())
