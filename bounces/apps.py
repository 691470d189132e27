from django.apps import AppConfig


class BouncesConfig(AppConfig):
    name = "bounces"
    verbose_name = "Bounces and suppressions"
