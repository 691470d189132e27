from django.contrib import admin
from django.db.models import F

from analytics.csv_export import export_action
from leads.models import Lead, Tag


class FeaturedFilter(admin.SimpleListFilter):
    title = "featured"
    parameter_name = "featured"

    def lookups(self, request, model_admin):
        return [("yes", "Featured"), ("no", "Not featured")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(featured_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(featured_at__isnull=True)
        return queryset


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "company", "domain", "status", "featured", "engagement_score", "source", "last_delivered_at", "created_at"]
    list_filter = [FeaturedFilter, "status", "tags", "source", "domain"]
    search_fields = ["email", "name", "company", "domain"]
    readonly_fields = ["domain", "engagement_score", "featured_at", "last_delivered_at", "created_at", "updated_at"]
    # Featured leads first (sales follows up on them first), the most engaged at the top.
    ordering = [F("featured_at").desc(nulls_last=True), "-engagement_score", "-created_at"]
    actions = [export_action("leads")]
    filter_horizontal = ["tags"]
    date_hierarchy = "created_at"
    list_per_page = 100

    @admin.display(description="featured", boolean=True, ordering="featured_at")
    def featured(self, obj):
        return obj.featured_at is not None
