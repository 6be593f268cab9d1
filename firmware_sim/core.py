"""Shared types and numeric helpers of the physics models.

A model turns a :class:`SimContext` (one device's time axis, weather, usage draws and
fault plan) into a :class:`Series`: the true signal of every catalog metric at every
report, the discrete state, and the functional-failure time the model's own physical
criterion finds in those signals. Everything is whole-series numpy so that a fleet of
hundreds of devices over months builds in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

__all__ = [
    "DAY",
    "HOUR",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "Series",
    "StateColumn",
    "first_sustained",
    "lowpass",
    "rolling_mean",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

HOUR: Final = 3600.0
DAY: Final = 86400.0


@dataclass(frozen=True, slots=True)
class StateColumn:
    """One discrete state key as codes into a label table (``power`` -> on/off)."""

    key: str
    labels: tuple[str, ...]
    codes: npt.NDArray[np.int8]


@dataclass(slots=True)
class Series:
    """The true signals of one device.

    Attributes:
        t: report times, epoch seconds (float, whole seconds), increasing.
        metrics: one array per catalog metric, aligned with ``t``.
        state: discrete state columns aligned with ``t``.
        failure_at: the first time the fault's physical criterion holds (epoch seconds),
            or ``None`` when it does not within the series.
        stuck_metric: for ``SENSOR_STUCK``, the metric the fault freezes.
    """

    t: FloatArray
    metrics: dict[str, FloatArray]
    state: list[StateColumn] = field(default_factory=list)
    failure_at: float | None = None
    stuck_metric: str | None = None

    def __len__(self) -> int:
        return len(self.t)

    def select(self, mask: BoolArray) -> Series:
        """The reports where ``mask`` holds (used to drop samples)."""
        return Series(
            t=self.t[mask],
            metrics={k: v[mask] for k, v in self.metrics.items()},
            state=[StateColumn(c.key, c.labels, c.codes[mask]) for c in self.state],
            failure_at=self.failure_at,
            stuck_metric=self.stuck_metric,
        )

    def states_at(self, i: int) -> dict[str, str]:
        """The state dict of report ``i``."""
        return {c.key: c.labels[c.codes[i]] for c in self.state}

    def metrics_at(self, i: int) -> dict[str, float]:
        """The metric dict of report ``i``."""
        return {k: float(v[i]) for k, v in self.metrics.items()}


def lowpass(x: FloatArray, dt: float, tau: float) -> FloatArray:
    """First-order lag (thermal mass) with time constant ``tau`` seconds, starting settled."""
    if len(x) == 0:
        return x.copy()
    a = float(np.exp(-dt / tau))
    y, _ = lfilter([1.0 - a], [1.0, -a], x, zi=[x[0] * a])
    return np.asarray(y, dtype=np.float64)


def rolling_mean(x: FloatArray, n: int) -> FloatArray:
    """Trailing mean over the last ``n`` samples (causal; shorter at the start)."""
    if n <= 1 or len(x) == 0:
        return x.copy()
    c = np.cumsum(np.concatenate(([0.0], x)))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - n, 0)
    return np.asarray((c[idx] - c[lo]) / (idx - lo), dtype=np.float64)


def first_sustained(
    t: FloatArray, condition: BoolArray, *, after: float, samples: int = 1
) -> float | None:
    """The time at which ``condition`` has held for ``samples`` consecutive reports.

    Only reports at or after ``after`` count. Returns the time of the report that
    completes the run, or ``None`` when no run is long enough.
    """
    cond = condition & (t >= after)
    if samples <= 1:
        hits = np.flatnonzero(cond)
        return float(t[hits[0]]) if len(hits) else None
    run = np.convolve(cond.astype(np.int32), np.ones(samples, dtype=np.int32), mode="full")[
        : len(cond)
    ]
    hits = np.flatnonzero(run >= samples)
    return float(t[hits[0]]) if len(hits) else None


def codes(mask_or_index: npt.NDArray[np.generic]) -> npt.NDArray[np.int8]:
    """Cast a boolean or small-integer array to state codes."""
    return np.asarray(mask_or_index, dtype=np.int8)


ON_OFF: Final[tuple[str, ...]] = ("off", "on")
EMPTY: Final[Mapping[str, FloatArray]] = {}
