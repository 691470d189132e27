"""WSGI entry point (gunicorn lockline.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from lockline.heap import freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lockline.settings")

application = get_wsgi_application()
# Import the URLconf and every view now, not on the first request, so that they are part of
# the start-up heap that is frozen (see lockline.heap).
get_resolver().url_patterns
freeze_startup_heap()
