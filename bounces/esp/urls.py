"""Lockline's batched tracking views at Anymail's standard URLs (included before anymail.urls,
which still serves the inbound webhooks)."""
from django.urls import path

from bounces.esp.views import TRACKING_VIEWS

urlpatterns = [path(url, view.as_view(), name=url.strip("/").replace("/", "_")) for url, view in TRACKING_VIEWS.items()]
