"""Prognosis: when will a gradual fault become a functional failure?

The drift of the fault's key feature is followed day by day since it left the noise. A
least-squares line through those days, extrapolated to the drift level at which that
fault typically fails, gives the time to failure; the slope's standard error gives the
uncertainty. When the trend is too short or flat, the catalog's typical course (days
from onset to failure) measured from the estimated onset is the answer instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Prognosis", "estimate_failure"]

_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Prognosis:
    """A time-to-failure estimate.

    Attributes:
        failure_ts: the most likely functional failure (epoch seconds).
        low_ts: an early bound (about one standard error earlier).
        high_ts: a late bound.
        method: ``trend`` or ``course``.
        slope_per_day: drift units per day of the key feature (trend method).
    """

    failure_ts: float
    low_ts: float
    high_ts: float
    method: str
    slope_per_day: float | None = None

    @property
    def days_left(self) -> float:
        """Days from the estimate's start to the failure (set by the caller's now)."""
        return self.failure_ts / _DAY


def _fit(points: Sequence[tuple[float, float]]) -> tuple[float, float, float] | None:
    n = len(points)
    if n < 3:
        return None
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx <= 0:
        return None
    slope = sum((t - mx) * (v - my) for t, v in points) / sxx
    intercept = my - slope * mx
    resid = sum((v - intercept - slope * t) ** 2 for t, v in points)
    se = math.sqrt(resid / max(n - 2, 1) / sxx)
    return slope, intercept, se


def estimate_failure(
    now: float,
    trend: Sequence[tuple[float, float]],
    failure_level: float,
    course_days: tuple[int, int],
    onset_ts: float,
) -> Prognosis:
    """Estimate the functional failure of a gradual fault.

    Args:
        now: the time of the detection (epoch seconds).
        trend: (epoch seconds, drift of the key feature in the fault's direction) per day
            since the drift left the noise.
        failure_level: the drift at which this fault typically fails.
        course_days: the catalog's typical days from onset to failure (low, high).
        onset_ts: the estimated onset.
    """
    fit = _fit([(t / _DAY, v) for t, v in trend])
    if fit is not None:
        slope, intercept, se = fit
        current = intercept + slope * now / _DAY
        if slope > 0 and slope > 2 * se:
            gap = max(failure_level - current, 0.0)
            days = gap / slope
            fast = gap / (slope + se)
            slow = gap / max(slope - se, slope / 3)
            if days < 2 * course_days[1] + 1:
                return Prognosis(
                    now + days * _DAY, now + fast * _DAY, now + slow * _DAY, "trend", slope
                )
    lo, hi = course_days
    mid = onset_ts + (lo + hi) / 2 * _DAY
    low = max(onset_ts + lo * _DAY, now)
    high = max(onset_ts + hi * _DAY, now + _DAY)
    return Prognosis(max(mid, now + _DAY), low, high, "course")
