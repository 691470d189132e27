from django.db.models import Count, F

from bounces.models import BounceEvent, BounceSource


def esp_verdict_disagreements():
    """Webhook bounces whose final category differs from what the ESP's label alone said,
    counted per ESP and pair: [{esp_name, esp_category, category, count}, ...]."""
    return list(
        BounceEvent.objects.filter(source=BounceSource.WEBHOOK)
        .exclude(esp_category="")
        .exclude(category=F("esp_category"))
        .values("esp_name", "esp_category", "category")
        .annotate(count=Count("id"))
        .order_by("esp_name", "-count")
    )
