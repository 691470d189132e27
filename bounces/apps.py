from django.apps import AppConfig


class BouncesConfig(AppConfig):
    name = "bounces"
    verbose_name = "Bounces and suppressions"

    def ready(self) -> None:
        from bounces import receivers  # noqa: F401 - connects the Anymail tracking and inbound receivers
