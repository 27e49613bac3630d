"""Scores in write-backs: the one place connectors scale, round and print numbers.

A score the hub accepted is any finite JSON number (docs/api.md), from ``-1.8e308`` to ``1.8e308``; scaling
it (``100 * score / max_score``) can overflow to infinity, and rounding infinity to an integer raises. These
helpers never raise and never return a non-finite number: a value an ATS cannot take comes back as None, and
the connector leaves it out with a warning (shared/cases/score-extremes.json).
"""

from __future__ import annotations

import math

INT64_MAX = 2**63 - 1
"""The largest whole number most ATS APIs take (int64 in their schemas)."""


def ratio(value: float, maximum: float | None) -> float | None:
    """``value / maximum``, or None when ``maximum`` is missing or not positive or the ratio is not finite."""
    if maximum is None or not maximum > 0:
        return None
    share = value / maximum
    return share if math.isfinite(share) else None


def percent(value: float, maximum: float | None) -> float | None:
    """``100 * value / maximum`` (scaled after dividing, so a score near the double limit does not overflow),
    or None (see ``ratio``)."""
    share = ratio(value, maximum)
    if share is None:
        return None
    scaled = share * 100
    return scaled if math.isfinite(scaled) else None


def whole(value: float | None, *, low: int = -INT64_MAX - 1, high: int = INT64_MAX) -> int | None:
    """``value`` rounded half to even to an integer in ``[low, high]``, or None when it is missing, not finite
    or outside the range."""
    if value is None or not math.isfinite(value) or not low <= value <= high:
        return None
    rounded = round(value)
    return rounded if low <= rounded <= high else None


def format_number(value: float) -> str:
    """``87``, ``82.5``, ``0.33``; beyond 15 digits (or below 0.01) in exponent form, ``1.797693e+308``."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and not 0.01 <= abs(value) < 1e15:
        return f"{value:.6e}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")
