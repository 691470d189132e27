"""Prometheus text exposition (format 0.0.4) of the database totals and the Redis counters."""
from __future__ import annotations

from typing import Any


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in pairs) + "}"


def _family(lines: list[str], name: str, kind: str, help_text: str, samples) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for pairs, value in samples:
        lines.append(f"{name}{_labels(pairs)} {value}")


def render(*, counts: dict[str, Any] | None, counters: dict[str, dict]) -> str:
    """The exposition text. ``counts`` is ``ops.selectors.ops_counts()`` (None if the database is
    down); ``counters`` is ``lockline.metrics.snapshot()``."""
    lines: list[str] = []
    if counts is not None:
        _family(lines, "lockline_messages", "gauge", "Messages by delivery state (database).",
                [((("state", state),), n) for state, n in counts["messages"].items()])
        _family(lines, "lockline_messages_overdue", "gauge",
                "Queued or deferred messages due more than 5 minutes ago (database).",
                [((), counts["messages_overdue"])])
        _family(lines, "lockline_messages_stuck_sending", "gauge",
                "Messages claimed by a worker more than 10 minutes ago (database).",
                [((), counts["messages_stuck_sending"])])
        _family(lines, "lockline_bounce_events_24h", "gauge",
                "Bounce events received in the last 24 hours by category (database).",
                [((("category", category),), n) for category, n in counts["bounce_events_24h"].items()])
        _family(lines, "lockline_suppressions_active", "gauge", "Active suppressions by reason (database).",
                [((("reason", reason),), n) for reason, n in counts["suppressions_active"].items()])
    for name in sorted(counters):
        _family(lines, f"lockline_{name}_total", "counter",
                f"Lockline {name.replace('_', ' ')} since the counters were reset (Redis).",
                sorted(counters[name].items()))
    return "\n".join(lines) + "\n"
