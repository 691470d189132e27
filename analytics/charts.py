"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched at view time.

Each function takes plain numbers and returns SVG markup (already escaped, safe to insert).
Every chart has a <title> and an aria-label, draws its axes and a legend, and says so in text
when it has no data rather than drawing an empty frame.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def percent(value: float) -> str:
    scaled = round(value * 100, 4)
    if scaled == int(scaled):
        return f"{int(scaled)}%"
    return f"{scaled:.2f}%" if scaled < 1 else f"{scaled:.1f}%"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _svg(width: int, height: int, label: str, body: list[str], kind: str) -> SafeString:
    return mark_safe(
        f'<svg class="ll-chart" data-chart="{kind}" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}" {FONT} xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _empty(width: int, height: int, label: str, kind: str) -> SafeString:
    return _svg(width, height, label, [
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#666" font-size="14">'
        "No data in this period</text>"
    ], kind)


def line_chart(
    *,
    label: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    y_format: Callable[[float], str] = percent,
    threshold: tuple[str, float] | None = None,
    width: int = 760,
    height: int = 280,
) -> SafeString:
    """Lines over a shared x axis; None values break a line (no data that day)."""
    values = [v for _, points in series for v in points if v is not None]
    if not x_labels or not values:
        return _empty(width, height, label, "line")
    left, right, top, bottom = 56, 16, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(values + ([threshold[1]] if threshold else []))
    y_max = _nice_max(peak * 1.05)
    count = len(x_labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    body = []
    for step in range(5):
        value = y_max * step / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#e5e5e5"/>')
        body.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" fill="#555">{escape(y_format(value))}</text>')
    every = max(1, count // 8)
    for i, text in enumerate(x_labels):
        if i % every == 0 or i == count - 1:
            # The last label ends at its point so it is not cut off at the right edge.
            anchor = "end" if i == count - 1 and count > 1 else "middle"
            body.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}" font-size="11" fill="#555">{escape(text)}</text>')
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    if threshold:
        name, value = threshold
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#B00020" stroke-dasharray="6 4"/>')
        body.append(f'<text x="{width - right}" y="{y(value) - 4:.1f}" text-anchor="end" font-size="11" fill="#B00020">{escape(name)}</text>')
    legend_y = height - 18
    legend_x = left
    for index, (name, points) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        segments, current = [], []
        for i, v in enumerate(points):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(f"{x(i):.1f},{y(v):.1f}")
        if current:
            segments.append(current)
        for segment in segments:
            body.append(f'<polyline class="ll-series" fill="none" stroke="{colour}" stroke-width="2.2" points="{" ".join(segment)}"/>')
            if len(segment) == 1:
                cx, cy = segment[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        body.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="12" height="12" fill="{colour}"/>')
        body.append(f'<text x="{legend_x + 16}" y="{legend_y + 1}" font-size="12" fill="#222">{escape(name)}</text>')
        legend_x += 28 + 7 * len(name)
    return _svg(width, height, label, body, "line")


def bar_chart(
    *,
    label: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    segments: Sequence[str],
    value_format: Callable[[float], str] = lambda v: f"{v:g}",
    width: int = 760,
    bar_height: int = 22,
) -> SafeString:
    """Horizontal stacked bars, one row per label, with a legend of the segments."""
    if not rows or not any(sum(values) for _, values in rows):
        return _empty(width, 120, label, "bar")
    left = min(220, 16 + 7 * max(len(name) for name, _ in rows))
    right, top = 70, 10
    gap = 8
    legend_h = 30 if len(segments) > 1 else 0
    height = top + len(rows) * (bar_height + gap) + legend_h + 10
    plot_w = width - left - right
    peak = _nice_max(max(sum(values) for _, values in rows))
    body = []
    for index, (name, values) in enumerate(rows):
        y = top + index * (bar_height + gap)
        body.append(f'<text x="{left - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="12" fill="#222">{escape(name)}</text>')
        x = left
        for s_index, value in enumerate(values):
            w = plot_w * value / peak
            if w > 0:
                colour = PALETTE[s_index % len(PALETTE)]
                body.append(
                    f'<rect class="ll-bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{colour}">'
                    f"<title>{escape(name)}: {escape(segments[s_index])} {escape(value_format(value))}</title></rect>"
                )
            x += w
        body.append(f'<text x="{x + 6:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12" fill="#333">{escape(value_format(sum(values)))}</text>')
    if len(segments) > 1:
        legend_y = height - 14
        legend_x = left
        for s_index, name in enumerate(segments):
            body.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="12" height="12" fill="{PALETTE[s_index % len(PALETTE)]}"/>')
            body.append(f'<text x="{legend_x + 16}" y="{legend_y + 1}" font-size="12" fill="#222">{escape(name)}</text>')
            legend_x += 28 + 7 * len(name)
    return _svg(width, height, label, body, "bar")
