"""The Celery application, configured from Django settings (the CELERY_ namespace)."""
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lockline.settings")

app = Celery("lockline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _keep_django_logging(**kwargs) -> None:
    """Workers log through settings.LOGGING (structured, redacted), not Celery's own handlers.

    Connecting any receiver stops Celery from replacing the root logger's handlers.
    """
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
