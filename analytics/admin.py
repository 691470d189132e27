from django.contrib import admin

from analytics.models import GuardAction, ReviewDecision


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit records: shown, never edited or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GuardAction)
class GuardActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "campaign", "prompt_version", "rule", "sends", "events", "rate", "by"]
    list_filter = ["kind", "rule"]
    list_select_related = ["campaign", "prompt_version", "by"]


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "suppression", "flags", "note", "by"]
    list_filter = ["kind"]
    list_select_related = ["suppression", "by"]
