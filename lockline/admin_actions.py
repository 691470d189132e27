"""Admin actions that ask for confirmation and a reason before they change anything."""
from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the record's history.",
    )


def confirm_with_reason(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    *,
    title: str,
    perform: Callable[..., object],
):
    """Show a confirmation page listing the selected rows; on submit call ``perform(obj, reason=, by=)``.

    Rows ``perform`` refuses (by raising ValueError or a subclass) are reported, not hidden.
    """
    form = ReasonForm(request.POST if request.POST.get("confirmed") else None)
    if form.is_bound and form.is_valid():
        done, refused = 0, []
        for obj in queryset:
            try:
                perform(obj, reason=form.cleaned_data["reason"], by=request.user)
                done += 1
            except ValueError as exc:  # a refusal by the service: shown, not hidden
                refused.append(f"{obj}: {exc}")
        if done:
            modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
        for line in refused:
            modeladmin.message_user(request, line, messages.WARNING)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "queryset": queryset,
        "form": form,
        "opts": modeladmin.model._meta,
        "action": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/lockline/confirm_action.html", context)
