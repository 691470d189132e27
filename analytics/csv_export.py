"""Streamed CSV of leads, bounce events and suppressions for the admin (any table size)."""
from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone

from analytics.export import csv_lines
from bounces.models import BounceEvent, Suppression
from leads.models import Lead

# The columns each export writes: values() paths, so one query streams the whole table.
EXPORTS = {
    "leads": (Lead, [
        "id", "email", "name", "company", "domain", "source", "status", "engagement_score", "featured_at",
        "last_delivered_at", "created_at",
    ]),
    "bounce_events": (BounceEvent, [
        "id", "occurred_at", "email", "recipient_domain", "source", "category", "reason", "detail", "status",
        "smtp_code", "esp_name", "esp_event_type", "campaign_id", "prompt_version_id", "message_id", "diagnostic",
    ]),
    "suppressions": (Suppression, [
        "id", "email", "reason", "created_at", "expires_at", "lifted_at", "lift_reason", "bounce_event_id",
        "bounce_event__category", "bounce_event__status", "bounce_event__diagnostic",
    ]),
}


def csv_response(name: str, queryset=None) -> StreamingHttpResponse:
    """Stream ``queryset`` (default: the whole table) as CSV; rows are read in chunks."""
    model, columns = EXPORTS[name]
    queryset = model.objects.all() if queryset is None else queryset
    rows = queryset.order_by("pk").values_list(*columns).iterator(chunk_size=2000)
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response


def export_action(name: str):
    """An admin action that streams the selected rows as CSV."""

    def export_csv(modeladmin, request, queryset):
        return csv_response(name, queryset)

    export_csv.short_description = "Export selected as CSV"
    export_csv.allowed_permissions = ("view",)
    return export_csv
