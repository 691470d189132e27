from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Lockline"
admin.site.site_title = "Lockline"
admin.site.index_title = "Outreach, bounces and suppressions"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("campaigns.urls")),
]
