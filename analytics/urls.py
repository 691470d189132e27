from django.contrib import admin
from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("dashboard/", admin.site.admin_view(views.dashboard), name="dashboard"),
    path("review/", admin.site.admin_view(views.review_queue), name="review"),
    path("review/<int:pk>/", admin.site.admin_view(views.review_decide), name="review_decide"),
    path("export/<slug:name>.csv", admin.site.admin_view(views.export_csv), name="export"),
]
