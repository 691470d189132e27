"""Run the local SMTP sink in the foreground (the `sink:` process of Procfile.dev)."""
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.sink import DEFAULT_RULES, SinkRule, SmtpSink


class Command(BaseCommand):
    help = (
        "Serve a local SMTP sink that answers each recipient by rule: the demo's prefixes "
        "(unknown. → 550 5.1.1, full. → 552 5.2.2, down. → 421 4.3.2, greylist. → 450 4.7.1 "
        "then 250, throttle. → 452 4.5.3, ratelimit. → 421 4.7.0, blocked. → 554 5.7.1, late. → "
        "250 then a DSN), plus any --rule REGEX=REPLY; everything else 250."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.EMAIL_PORT)
        parser.add_argument("--rule", action="append", default=[],
                            help="REGEX=REPLY, matched on the full address before the defaults "
                                 "(e.g. '^bob@example\\.com$=550 5.1.1 gone', '^slow\\.=250 ok;stall=5;times=1', "
                                 "'^x@=dsn:552 5.2.2 full', '^y@=data:554 5.7.1 spam')")
        parser.add_argument("--no-default-rules", action="store_true")
        parser.add_argument("--no-pipelining", action="store_true",
                            help="do not offer PIPELINING (RFC 2920), like a server without it")
        parser.add_argument("--dsn-relay", default=settings.LOCKLINE_SINK_DSN_RELAY,
                            help="host:port to mail DSNs of late bounces to (default: keep them)")

    def handle(self, *args, **options):
        try:
            rules = [SinkRule.parse(spec) for spec in options["rule"]]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not options["no_default_rules"]:
            rules += DEFAULT_RULES
        sink = SmtpSink(host=options["host"], port=options["port"], rules=rules,
                        dsn_relay=options["dsn_relay"], verbose=True,
                        pipelining=not options["no_pipelining"]).start()
        self.stdout.write(f"SMTP sink listening on {sink.host}:{sink.port} with {len(rules)} rules")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            sink.stop()
