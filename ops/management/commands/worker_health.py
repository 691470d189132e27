"""Probe for orchestration: does a Celery worker answer through the configured broker?"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

EXIT_NO_REPLY = 1
EXIT_BROKER_DOWN = 2


class Command(BaseCommand):
    help = (
        "Ping Celery workers through the configured broker (CELERY_BROKER_URL). Exit 0 when a "
        "worker answers (the one named by --destination, or one consuming --queue, or any), "
        "1 when none does, 2 when the broker is unreachable. Use as a container or systemd "
        "health check: `python manage.py worker_health -d celery@$HOSTNAME`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-d", "--destination", action="append", default=None,
            help="Worker node name to ping (e.g. celery@host); repeat for several. Default: any.",
        )
        parser.add_argument("-q", "--queue", help="Require a replying worker that consumes this queue.")
        parser.add_argument("-t", "--timeout", type=float, default=2.0, help="Seconds to wait for replies.")

    def handle(self, *args, destination=None, queue=None, timeout=2.0, **options):
        from lockline.celery import app

        with app.connection_for_write() as conn:
            try:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
            except Exception as exc:  # kombu raises transport-specific errors; all mean "down"
                raise CommandError(
                    f"Broker unreachable: {type(exc).__name__}", returncode=EXIT_BROKER_DOWN
                ) from exc
            inspect = app.control.inspect(destination=destination, timeout=timeout, connection=conn)
            if queue:
                replies = inspect.active_queues() or {}
                nodes = sorted(
                    node for node, queues in replies.items() if any(q.get("name") == queue for q in queues or [])
                )
                if not nodes:
                    raise CommandError(f"No worker consuming queue {queue!r} answered.", returncode=EXIT_NO_REPLY)
            else:
                nodes = sorted(inspect.ping() or {})
                if not nodes:
                    raise CommandError("No worker answered the ping.", returncode=EXIT_NO_REPLY)
        self.stdout.write("ok: " + ", ".join(nodes))
