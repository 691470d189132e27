"""Staff views under the admin: the dashboard, the false-positive review queue, CSV exports.

Each is wrapped in ``admin.site.admin_view`` (see urls.py): anonymous visitors go to the login
page, and non-staff users are refused.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics.csv_export import EXPORTS, csv_response
from analytics.dashboard import PERIODS, dashboard_context
from analytics.review import FLAG_LABELS, FLAGS, suppression_confirm, suppression_reinstate, suppression_review_queue
from bounces.models import Suppression


def dashboard(request):
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    if days not in PERIODS:
        days = 30
    context = {**admin.site.each_context(request), "title": "Bounce and engagement analytics", **dashboard_context(days=days)}
    return TemplateResponse(request, "admin/analytics/dashboard.html", context)


def review_queue(request):
    rows = []
    for suppression in suppression_review_queue()[:200]:
        rows.append({
            "suppression": suppression,
            "event": suppression.bounce_event,
            "flags": [FLAG_LABELS[name] for name in FLAGS if getattr(suppression, name)],
        })
    context = {
        **admin.site.each_context(request),
        "title": "Suppressions to review",
        "rows": rows,
        "can_change": request.user.has_perm("bounces.change_suppression"),
    }
    return TemplateResponse(request, "admin/analytics/review.html", context)


@require_POST
def review_decide(request, pk: int):
    if not request.user.has_perm("bounces.change_suppression"):
        raise PermissionDenied
    suppression = get_object_or_404(Suppression, pk=pk)
    note = request.POST.get("note", "")
    decide = {"reinstate": suppression_reinstate, "confirm": suppression_confirm}.get(request.POST.get("decision"))
    if decide is None:
        messages.error(request, "Choose to reinstate or to confirm the suppression.")
    else:
        try:
            decide(suppression=suppression, note=note, by=request.user)
            verb = "reinstated" if decide is suppression_reinstate else "confirmed"
            messages.success(request, f"{suppression.email}: suppression {verb}.")
        except ValueError as exc:
            messages.error(request, f"{suppression.email}: {exc}")
    return HttpResponseRedirect(reverse("analytics:review"))


def export_csv(request, name: str):
    if name not in EXPORTS:
        raise Http404
    opts = EXPORTS[name][0]._meta
    if not request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        raise PermissionDenied
    return csv_response(name)
