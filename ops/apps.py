from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operator-facing plumbing: health and metrics endpoints, request guards, probes."""

    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"
