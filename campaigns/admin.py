from django.contrib import admin

from campaigns.models import Campaign, Message, PromptVersion
from analytics.guard import guard_pause, guard_resume
from lockline.admin_actions import confirm_with_reason


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "model_name", "paused_at", "created_at"]
    list_filter = ["name", "model_name"]
    search_fields = ["name", "prompt"]
    readonly_fields = ["paused_at", "paused_reason", "created_at"]
    # Pauses and resumes are recorded as GuardActions, like the reputation guard's own.
    actions = ["pause", "resume"]

    @admin.action(description="Pause selected prompt versions", permissions=["change"])
    def pause(self, request, queryset):
        return confirm_with_reason(
            self, request, queryset, title="Pause prompt versions",
            perform=lambda obj, reason, by: guard_pause(prompt_version=obj, reason=reason, by=by),
        )

    @admin.action(description="Resume selected prompt versions", permissions=["change"])
    def resume(self, request, queryset):
        return confirm_with_reason(
            self, request, queryset, title="Resume prompt versions",
            perform=lambda obj, reason, by: guard_resume(prompt_version=obj, reason=reason, by=by),
        )

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
    actions = ["pause", "resume"]

    @admin.action(description="Pause selected campaigns", permissions=["change"])
    def pause(self, request, queryset):
        return confirm_with_reason(
            self, request, queryset, title="Pause campaigns",
            perform=lambda obj, reason, by: guard_pause(campaign=obj, reason=reason, by=by),
        )

    @admin.action(description="Resume selected campaigns", permissions=["change"])
    def resume(self, request, queryset):
        return confirm_with_reason(
            self, request, queryset, title="Resume campaigns",
            perform=lambda obj, reason, by: guard_resume(campaign=obj, reason=reason, by=by),
        )


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["to_email", "campaign", "prompt_version", "state", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["state", "campaign", "prompt_version"]
    search_fields = ["to_email", "message_id", "esp_message_id", "subject"]
    list_select_related = ["campaign", "prompt_version"]
    raw_id_fields = ["lead"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        # Delivery history is evidence: shown, never edited by hand.
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
