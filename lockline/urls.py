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
    # ESP tracking webhooks: Lockline's batched views first, at Anymail's own URLs; Anymail's
    # urls still serve its inbound webhooks.
    path("anymail/", include(("bounces.esp.urls", "lockline_webhooks"))),
    path("anymail/", include("anymail.urls")),
    path("", include("ops.urls")),
    path("", include("campaigns.urls")),
]
