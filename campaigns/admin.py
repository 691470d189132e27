from django.contrib import admin

from analytics.guard import guard_pause, guard_resume
from campaigns.models import Campaign, Message, PromptVersion
from lockline.admin_actions import confirm_with_reason


def guarded_pause_resume(target: str, noun: str) -> list:
    """Pause and resume admin actions for ``target`` ("campaign" or "prompt_version"), each
    asking for a reason and recorded as a GuardAction."""

    @admin.action(description=f"Pause selected {noun}", permissions=["change"])
    def pause(modeladmin, request, queryset):
        return confirm_with_reason(
            modeladmin, request, queryset, title=f"Pause {noun}",
            perform=lambda obj, reason, by: guard_pause(**{target: obj}, reason=reason, by=by),
        )

    @admin.action(description=f"Resume selected {noun}", permissions=["change"])
    def resume(modeladmin, request, queryset):
        return confirm_with_reason(
            modeladmin, request, queryset, title=f"Resume {noun}",
            perform=lambda obj, reason, by: guard_resume(**{target: obj}, reason=reason, by=by),
        )

    return [pause, resume]


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "model_name", "paused_at", "created_at"]
    list_filter = ["name", "model_name"]
    search_fields = ["name", "prompt"]
    readonly_fields = ["paused_at", "paused_reason", "created_at"]
    # Pauses and resumes are recorded as GuardActions, like the reputation guard's own.
    actions = guarded_pause_resume("prompt_version", "prompt versions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_locked:
            # Frozen once used: its messages were generated from exactly this text.
            fields += ["name", "version", "prompt", "subject_template", "model_name"]
        return fields


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "prompt_version", "sender_email", "audience_tag", "launched_at", "created_at"]
    list_filter = ["status", "prompt_version"]
    search_fields = ["name", "sender_email"]
    readonly_fields = ["status", "status_reason", "launched_at", "created_at", "updated_at"]
    autocomplete_fields = ["audience_tag"]
    actions = guarded_pause_resume("campaign", "campaigns")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["to_email", "campaign", "prompt_version", "state", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["state", "campaign", "prompt_version", ("lead__domain", admin.AllValuesFieldListFilter)]
    search_fields = ["to_email", "message_id", "esp_message_id", "subject"]
    list_select_related = ["campaign", "prompt_version"]
    raw_id_fields = ["lead"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        # Delivery history is evidence: shown, never edited by hand.
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
