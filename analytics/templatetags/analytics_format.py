from django import template

register = template.Library()


@register.filter
def pct(value, digits=1):
    """0.0512 -> "5.1%"; None (nothing to divide by) -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def rate(metrics, name):
    """A Metrics count per send: ``{{ m|rate:"opens" }}``."""
    return metrics.rate_of(name)
