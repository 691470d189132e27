"""The Celery application, configured from Django settings (the CELERY_ namespace)."""
import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun, worker_process_init

from lockline.heap import freeze_startup_heap

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


@task_prerun.connect
@task_postrun.connect
def _db_connections_recycle(task=None, **kwargs) -> None:
    """Between tasks, drop a database connection that errored or outlived CONN_MAX_AGE.

    With CELERY_DB_REUSE_MAX set, Celery no longer closes connections around every task; this is
    what Django does around every web request instead. Not for eager tasks: they run inside the
    caller's transaction, whose connection must stay open.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _freeze_startup_heap(**kwargs) -> None:
    """A pool process starts with the whole loaded app: keep it out of full collections
    (see lockline.heap)."""
    freeze_startup_heap()
