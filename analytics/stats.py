"""Small statistics for rates: the Wilson score interval and a one-sided excess test.

A bounce rate of 2/20 and one of 200/2000 are the same 10%, but only the second says much.
The Wilson interval (unlike the normal approximation) stays inside [0, 1] and behaves with
small counts and rates near zero, which is where complaint rates live.
"""
from __future__ import annotations

import math

# z for a two-sided 95% interval; the lower bound is then a one-sided 97.5% bound.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``trials``; (0.0, 1.0) when no trials."""
    if trials <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be between 0 and trials, got {successes}/{trials}")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def significantly_above(successes: int, trials: int, baseline: float, z: float = Z_95) -> bool:
    """True when the rate's whole Wilson interval lies above ``baseline``.

    Conservative by design: with few trials the interval is wide and nothing is flagged.
    """
    if trials <= 0:
        return False
    return wilson_interval(successes, trials, z)[0] > baseline


def rate(count: int, total: int) -> float | None:
    """count/total, or None when there is nothing to divide by (shown as a dash, not 0%)."""
    return count / total if total else None
