import json

from django.contrib import admin
from django.utils.html import format_html

from analytics.csv_export import export_action
from bounces.bulk import storable_text
from bounces.esp.normalize import ACCOUNT_ALERT
from bounces.ingest import inbound_mail_process
from bounces.models import BounceEvent, EngagementEvent, FlaggedWebhookEvent, InboundMail, Suppression
from bounces.services import suppression_lift
from lockline.admin_actions import confirm_with_reason


def evidence_html(text: str, *, height: str = "30em"):
    """Raw evidence for reading: an ESP event (stored as compact JSON) indented, anything else
    (an SMTP reply, a DSN) exactly as stored."""
    shown = text
    if text[:1] in ("{", "["):
        try:
            shown = storable_text(json.dumps(json.loads(text), indent=2, ensure_ascii=False))
        except ValueError:  # not JSON after all (a repr kept when the event would not encode)
            pass
    return format_html(
        '<pre style="white-space: pre-wrap; overflow-wrap: anywhere; max-height: {}; overflow: auto">{}</pre>',
        height, shown,
    )


class _ReadOnlyEvidence(admin.ModelAdmin):
    """Evidence: what the server or ESP said stays exactly as received."""

    exclude = ["raw"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "raw"] + ["raw_evidence"]

    @admin.display(description="raw")
    def raw_evidence(self, obj):
        return evidence_html(obj.raw) if obj.raw else "—"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BounceEvent)
class BounceEventAdmin(_ReadOnlyEvidence):
    list_display = ["occurred_at", "email", "category", "reason", "status", "smtp_code", "source", "esp_name", "campaign", "prompt_version"]
    list_filter = ["category", "source", "reason", "esp_name", "esp_category", "campaign", "prompt_version", "recipient_domain"]
    search_fields = ["email", "diagnostic", "esp_event_id", "message__message_id"]
    list_select_related = ["campaign", "prompt_version"]
    date_hierarchy = "occurred_at"
    actions = [export_action("bounce_events")]


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "Active"), ("no", "Lifted or expired")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.active()
        if self.value() == "no":
            return queryset.exclude(pk__in=queryset.active().values("pk"))
        return queryset


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email", "reason", "created_at", "expires_at", "lifted_at", "evidence_summary"]
    list_filter = [ActiveFilter, "reason", "bounce_event__category", "bounce_event__source"]
    search_fields = ["email", "note", "lift_reason"]
    list_select_related = ["bounce_event"]
    readonly_fields = [
        "email", "reason", "bounce_event", "evidence_summary", "evidence_raw", "created_at",
        "expires_at", "lifted_at", "lifted_by", "lift_reason",
    ]
    fields = readonly_fields + ["note"]
    actions = ["lift", export_action("suppressions")]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept: lift instead

    @admin.display(description="evidence")
    def evidence_summary(self, obj):
        event = obj.bounce_event
        if event is None:
            return "—"
        return f"{event.get_source_display()}: {event.category} {event.status or ''} {event.smtp_code or ''} {event.diagnostic[:120]}"

    @admin.display(description="raw evidence")
    def evidence_raw(self, obj):
        if obj.bounce_event is None or not obj.bounce_event.raw:
            return "—"
        return evidence_html(obj.bounce_event.raw)

    @admin.action(description="Lift selected suppressions", permissions=["change"])
    def lift(self, request, queryset):
        return confirm_with_reason(
            self, request, queryset.filter(lifted_at__isnull=True), title="Lift suppressions",
            perform=lambda obj, reason, by: suppression_lift(suppression=obj, reason=reason, by=by),
        )


@admin.register(EngagementEvent)
class EngagementEventAdmin(_ReadOnlyEvidence):
    list_display = ["occurred_at", "email", "event_type", "esp_name", "campaign", "prompt_version"]
    list_filter = ["event_type", "esp_name", "campaign", "prompt_version"]
    search_fields = ["email", "esp_event_id"]
    list_select_related = ["campaign", "prompt_version"]
    date_hierarchy = "occurred_at"


class FlaggedKindFilter(admin.SimpleListFilter):
    """An ESP's notice about our account (a suspension, a send limit) apart from what we could not read."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("alert", "Account alerts"), ("unreadable", "Not understood")]

    def queryset(self, request, queryset):
        if self.value() == "alert":
            return queryset.filter(problem__startswith=ACCOUNT_ALERT)
        if self.value() == "unreadable":
            return queryset.exclude(problem__startswith=ACCOUNT_ALERT)
        return queryset


@admin.register(FlaggedWebhookEvent)
class FlaggedWebhookEventAdmin(_ReadOnlyEvidence):
    list_display = ["received_at", "esp_name", "esp_event_type", "problem"]
    list_filter = [FlaggedKindFilter, "esp_name"]
    search_fields = ["problem", "raw"]


@admin.register(InboundMail)
class InboundMailAdmin(_ReadOnlyEvidence):
    """Bounce mail as received; the `Needs review` filter is the queue of what the parser could not read."""

    list_display = ["received_at", "status", "kind", "mta", "origin", "subject", "event_count", "parse_error"]
    list_filter = ["status", "kind", "origin", "mta"]
    search_fields = ["subject", "origin_ref", "parse_error", "digest"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]

    @admin.display(description="raw message")
    def raw_evidence(self, obj):  # the stored bytes, decoded; a whole message wants more room
        return evidence_html(obj.raw_text, height="40em")

    @admin.action(description="Parse selected messages again", permissions=["change"])
    def reprocess(self, request, queryset):
        """After a parser fix: parse flagged or ignored mail again (recorded events are not duplicated)."""
        count = 0
        for inbound in queryset.exclude(status=InboundMail.Status.RECORDED):
            InboundMail.objects.filter(pk=inbound.pk).update(status=InboundMail.Status.RECEIVED)
            inbound_mail_process(inbound_id=inbound.pk)
            count += 1
        self.message_user(request, f"Parsed {count} message(s) again.")
