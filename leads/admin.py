from django.contrib import admin

from leads.models import Lead, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "company", "domain", "status", "source", "last_delivered_at", "created_at"]
    list_filter = ["status", "tags", "source", "domain"]
    search_fields = ["email", "name", "company", "domain"]
    readonly_fields = ["domain", "last_delivered_at", "created_at", "updated_at"]
    filter_horizontal = ["tags"]
    date_hierarchy = "created_at"
    list_per_page = 100
