from django.apps import AppConfig


class BouncesConfig(AppConfig):
    name = "bounces"
    verbose_name = "Bounces and suppressions"

    def ready(self) -> None:
        from anymail.signals import inbound

        from bounces import receivers

        inbound.connect(receivers.inbound_received, dispatch_uid="lockline.bounces.inbound")
