"""Campaign services: the business rules of campaigns and their messages."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, PromptVersion

logger = logging.getLogger(__name__)


class CampaignStateError(ValueError):
    """The campaign is not in a state that allows this change."""


def campaign_pause(*, campaign: Campaign, reason: str, by=None) -> Campaign:
    """Hold a running (or draft) campaign: queued sends wait until it is resumed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to pause a campaign.")
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status == Campaign.Status.FINISHED:
            raise CampaignStateError(f"{locked} has finished and cannot be paused.")
        locked.status = Campaign.Status.PAUSED
        locked.status_reason = f"paused {timezone.now():%Y-%m-%d %H:%M} by {by or 'system'}: {reason}"
        locked.save(update_fields=["status", "status_reason", "updated_at"])
    logger.info("campaign paused", extra={"campaign_id": locked.pk})
    return locked


def campaign_resume(*, campaign: Campaign, reason: str, by=None) -> Campaign:
    """Let a paused campaign send again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to resume a campaign.")
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.PAUSED:
            raise CampaignStateError(f"{locked} is not paused.")
        locked.status = Campaign.Status.RUNNING if locked.launched_at else Campaign.Status.DRAFT
        locked.status_reason = f"resumed {timezone.now():%Y-%m-%d %H:%M} by {by or 'system'}: {reason}"
        locked.save(update_fields=["status", "status_reason", "updated_at"])
    logger.info("campaign resumed", extra={"campaign_id": locked.pk})
    return locked


def prompt_version_pause(*, prompt_version: PromptVersion, reason: str, by=None) -> PromptVersion:
    """Hold a prompt version: no new message generated from it is sent until it is resumed.

    Idempotent on an already paused version (its first reason stands). Raises ValueError
    without a reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to pause a prompt version.")
    with transaction.atomic():
        locked = PromptVersion.objects.select_for_update().get(pk=prompt_version.pk)
        if locked.paused_at is None:
            locked.paused_at = timezone.now()
            locked.paused_reason = f"paused {locked.paused_at:%Y-%m-%d %H:%M} by {by or 'system'}: {reason}"
            locked.save(update_fields=["paused_at", "paused_reason"])
            logger.info("prompt version paused: prompt_version=%s", locked.pk)
    return locked


def prompt_version_resume(*, prompt_version: PromptVersion, reason: str, by=None) -> PromptVersion:
    """Let a paused prompt version send again. Raises CampaignStateError if it is not paused."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to resume a prompt version.")
    with transaction.atomic():
        locked = PromptVersion.objects.select_for_update().get(pk=prompt_version.pk)
        if locked.paused_at is None:
            raise CampaignStateError(f"{locked} is not paused.")
        locked.paused_at = None
        locked.paused_reason = f"resumed {timezone.now():%Y-%m-%d %H:%M} by {by or 'system'}: {reason}"
        locked.save(update_fields=["paused_at", "paused_reason"])
    logger.info("prompt version resumed: prompt_version=%s", locked.pk)
    return locked
