"""A metric's excess over what its own physical drivers predict, learned per device.

A weak run capacitor makes a compressor draw more current for the same work. The
current follows the work (the heat the coil moves) and the outdoor temperature (the
head pressure), and the work follows the weather, the sun and who is at home, none of
which the hour of day and the outdoor temperature alone explain: against those the
capacitor's extra current hides in the load's. Regressed on the work itself, what is
left is the capacitor's (and a leak's or a clogged filter's push it the other way: less
current for a coil that looks busier).

:class:`ResidualFit` is a small recursive-least-squares fit of the target on the drivers
and their pairwise products. It learns only while the device model learns (the caller
says so), and predicts before it learns, so the excess of a bucket never contains that
bucket's own fit. It is learned and read only above the median of the first driver
(the work) it saw: at light loads a compressor runs at its lowest speed and its
current stops falling with the load, a bend no line follows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np

from anomaly.profiles import Residual
from anomaly.rls import rls_step

__all__ = ["ResidualFit"]

# a fit with fewer buckets than this per parameter says nothing yet
_MIN_PER_PARAM = 3
_RIDGE = 1e-2
# how far beyond its learned range (in widths of that range) a fit is still trusted
_REACH = 0.25
# how many of the first driver's learned values the lower bound is taken from
_KEPT = 256


class ResidualFit:
    """The per-device fit behind one :class:`~anomaly.profiles.Residual` feature.

    Args:
        spec: what to regress on what.
    """

    __slots__ = ("center", "hi", "lo", "low_work", "n", "p", "pairs", "spec", "w", "works")

    def __init__(self, spec: Residual) -> None:
        self.spec = spec
        k = len(spec.drivers)
        self.pairs = tuple(itertools.combinations(range(k), 2)) if spec.interact else ()
        d = 1 + k + len(self.pairs)
        self.p = np.eye(d) / _RIDGE
        self.w = np.zeros(d)
        self.center: np.ndarray | None = None
        # the drivers' learned range: outside it the products would extrapolate, so
        # they hold their edge values there (linear tails, as a natural spline's)
        self.lo = np.full(k, np.inf)
        self.hi = np.full(k, -np.inf)
        # below its median work a machine runs near its lowest speed, where the target
        # flattens (a compressor's current stops falling with the load): the fit is
        # learned and read only above it, where the relation is the physics' line
        self.works: list[float] = []
        self.low_work = -math.inf
        self.n = 0

    def regressors(self, means: Mapping[str, float], sign: float) -> np.ndarray | None:
        """The bucket's regressor row, or None when a driver is missing."""
        raw = []
        for driver in self.spec.drivers:
            value = driver.value(means, sign)
            if value is None or not math.isfinite(value):
                return None
            raw.append(value)
        x = np.array(raw)
        if self.center is None:
            self.center = x.copy()
        centered: np.ndarray = x - self.center
        return centered

    def _row(self, x: np.ndarray) -> np.ndarray:
        inside = np.clip(x, self.lo, self.hi)
        return np.concatenate(([1.0], x, [inside[i] * inside[j] for i, j in self.pairs]))

    def excess(self, x: np.ndarray, y: float) -> float | None:
        """The target's excess over the fit's prediction in percent of the prediction.

        None until the fit has enough data, below the median work it learned, when a
        driver lies well outside the range it learned, or when the prediction is too
        small to be a fraction of.
        """
        if self.n < _MIN_PER_PARAM * self.w.size:
            return None
        # far outside what it learned the fit is a guess: a compressor's current flattens
        # at its lowest speed, so a unit that learned only light loads underestimates a
        # heat wave's current, and the guess would read as excess
        reach = _REACH * (self.hi - self.lo)
        if np.any(x < self.lo - reach) or np.any(x > self.hi + reach):
            return None
        if x[0] < self.low_work:
            return None
        predicted = float(self._row(x) @ self.w)
        if predicted < self.spec.min_prediction:
            return None
        return 100.0 * (y - predicted) / predicted

    def learn(self, x: np.ndarray, y: float) -> None:
        """One recursive-least-squares step towards ``y`` at ``x`` (above the median work)."""
        if len(self.works) < _KEPT:
            self.works.append(float(x[0]))
            self.low_work = float(np.median(self.works))
        if x[0] < self.low_work:
            return
        self.lo = np.minimum(self.lo, x)
        self.hi = np.maximum(self.hi, x)
        x = self._row(x)
        if self.n == 0:
            self.w[0] = y
        gain, self.p = rls_step(self.p, x)
        self.w += gain * (y - float(x @ self.w))
        self.n += 1
