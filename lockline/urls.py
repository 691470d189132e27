from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Lockline"
admin.site.site_title = "Lockline"
admin.site.index_title = "Outreach, bounces and suppressions"

urlpatterns = [
    # Staff analytics pages live under the admin (its login, its look), before the admin's own
    # catch-all patterns.
    path("admin/analytics/", include("analytics.urls")),
    path("admin/", admin.site.urls),
    # Anymail's webhooks: /anymail/<esp>/tracking/ and /anymail/<esp>/inbound/
    path("anymail/", include("anymail.urls")),
    path("", include("ops.urls")),
]
