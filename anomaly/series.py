"""A general streaming detector for any numeric series (``aftercare anomaly score``).

No labels, no tuning per series: every column gets a :class:`_Channel` that keeps, in
O(period) memory,

- a fast EWMA level (a spike or jump leaves it);
- an additive Holt-Winters-style seasonal profile (one EWMA per phase of the period) on
  top of a fast deseasonalised level, so a value that is normal *for this time of day* is
  not flagged, while a changed daily pattern is;
- a mid and a long EWMA of the deseasonalised value, whose gap in long-run standard
  deviations measures level shifts and slow drift, normalised by how large that gap
  usually is (a trending series is not permanently anomalous);
- the run length of identical values against the learned repeat rate (frozen signal).

Each component yields a z-like surprise; a sample's surprise is the largest, and the
score ``z² / (z² + 16)`` puts it in [0, 1) (z = 4 scores 0.5). Everything is causal:
each sample is scored before it is learned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from anomaly.base import Constraint, DetectorBase, finite_items
from anomaly.exceptions import InvalidParameterError

__all__ = ["MultiScaleDetector", "detect_period", "squash"]

_FAST = 0.3
_SCALE = 0.01
_MID = 0.05
_LONG = 0.003
_SEASON = 0.1
_PATTERN = 0.1
_CLIP = 5.0
_EPS = 1e-9


def squash(z: float) -> float:
    """Map a non-negative surprise to [0, 1): ``z² / (z² + 16)``."""
    z2 = z * z
    return z2 / (z2 + 16.0)


def detect_period(values: list[float], *, min_lag: int = 4, threshold: float = 0.3) -> int:
    """The lag with the highest autocorrelation above ``threshold``, or 0 for none.

    Args:
        values: a gap-free prefix of the series (NaN already removed).
        min_lag: the shortest period considered.
        threshold: the autocorrelation a period needs.
    """
    n = len(values)
    if n < 3 * min_lag:
        return 0
    mean = sum(values) / n
    dev = [v - mean for v in values]
    denom = sum(d * d for d in dev)
    if denom <= _EPS:
        return 0
    best_lag, best = 0, threshold
    for lag in range(min_lag, n // 3 + 1):
        r = sum(dev[i] * dev[i + lag] for i in range(n - lag)) / denom
        if r > best:
            best_lag, best = lag, r
    return best_lag


class _Channel:
    """The learned state of one column."""

    def __init__(self, value: float, period: int) -> None:
        self.n = 1
        self.prev = value
        self.fast = value
        self.scale_fast = 0.0
        self.deseason = value
        self.season = [0.0] * period
        self.seen = [0] * period
        self.scale_season = 0.0
        self.pattern = 0.0
        self.pattern_typ = 1.0
        self.mid = value
        self.long = value
        self.gap_typ = 1.0
        self.run = 0
        self.p_repeat = 0.0

    def _noise(self, floor: float) -> float:
        # the gap between the mid and long levels is measured in sample-noise units, not
        # in the long-run spread: that spread grows with the drift it should reveal
        scale = (
            self.scale_season if len(self.season) > 1 and self.scale_season > 0 else self.scale_fast
        )
        return 1.2533 * scale + floor

    def seasonal_ready(self, warm_cycles: int) -> bool:
        return len(self.season) > 1 and self.n >= warm_cycles * len(self.season)

    def surprise(self, value: float, phase: int, warm_cycles: int) -> float:
        """The largest component surprise for ``value`` (does not learn)."""
        if self.n < 2:
            return 0.0
        floor = 1e-4 * abs(self.long) + 1e-6
        z_fast = abs(value - self.fast) / (1.2533 * self.scale_fast + floor)
        z_spike = z_fast
        z_pattern = 0.0
        base = value
        if self.seasonal_ready(warm_cycles):
            s = self.season[phase]
            r = value - (self.deseason + s)
            z_season = abs(r) / (1.2533 * self.scale_season + floor)
            z_spike = min(z_fast, z_season)
            zr = r / (1.2533 * self.scale_season + floor)
            pattern = self.pattern + _PATTERN * (zr - self.pattern)
            z_pattern = abs(pattern) / max(self.pattern_typ, 0.5) / 1.5
            base = value - s
        mid = self.mid + _MID * (base - self.mid)
        gap = abs(mid - self.long) / self._noise(floor)
        z_gap = gap / max(self.gap_typ, 0.5) / 1.5
        z_frozen = 0.0
        if abs(value - self.prev) <= floor * 1e-3 and self.n > 20:
            z_frozen = 1.5 * (self.run + 1) * -math.log10(max(self.p_repeat, 0.02))
            z_frozen = max(0.0, z_frozen - 3.0)
        return max(z_spike, z_pattern, z_gap, z_frozen)

    def learn(self, value: float, phase: int, warm_cycles: int) -> None:
        n = self.n
        floor = 1e-4 * abs(self.long) + 1e-6
        a_scale = max(_SCALE, 1.0 / (n + 1))
        r_fast = value - self.fast
        bound = _CLIP * (1.2533 * self.scale_fast + floor)
        self.scale_fast += a_scale * (
            min(abs(r_fast), bound if n > 10 else math.inf) - self.scale_fast
        )
        self.fast += _FAST * max(-bound, min(bound, r_fast)) if n > 10 else _FAST * r_fast
        base = self._learn_season(value, phase, warm_cycles, a_scale, floor)
        a_long = max(_LONG, 1.0 / (n + 1))
        gap = abs(self.mid - self.long) / self._noise(floor)
        self.gap_typ += a_long * (min(gap, 10.0) - self.gap_typ) if n > 30 else 0.0
        self.mid += max(_MID, 1.0 / (n + 1)) * (base - self.mid)
        diff = base - self.long
        self.long += a_long * diff
        same = value == self.prev
        if not same or self.run < 3:
            self.p_repeat += max(_SCALE, 1.0 / (n + 1)) * (float(same) - self.p_repeat)
        self.run = self.run + 1 if same else 0
        self.prev = value
        self.n = n + 1

    def _learn_season(
        self, value: float, phase: int, warm_cycles: int, a_scale: float, floor: float
    ) -> float:
        if len(self.season) <= 1:
            return value
        s = self.season[phase]
        if self.seen[phase] == 0:
            s = self.season[phase] = value - self.deseason
        r = value - (self.deseason + s)
        if self.seasonal_ready(warm_cycles):
            zr = r / (1.2533 * self.scale_season + floor)
            self.pattern += _PATTERN * (zr - self.pattern)
            self.pattern_typ += _LONG * (min(abs(self.pattern), 10.0) - self.pattern_typ)
        bound = _CLIP * (1.2533 * self.scale_season + floor)
        clipped = max(-bound, min(bound, r)) if self.n > len(self.season) else r
        self.scale_season += a_scale * (min(abs(r), bound) - self.scale_season)
        self.deseason += _FAST * clipped
        self.season[phase] = s + _SEASON * (value - self.deseason - s)
        self.seen[phase] += 1
        return value - self.season[phase]


class MultiScaleDetector(DetectorBase):
    """Robust multi-scale streaming detector for numeric series with trend and seasonality.

    Parameters
    ----------
    period
        Samples per seasonal cycle (e.g. 288 for a day of 5-minute samples); 0 to detect
        it from the first ``detect_after`` samples by autocorrelation; 1 for none.
    detect_after
        Samples buffered for period detection when ``period`` is 0.
    warmup
        Samples that score 0 while the baselines settle.
    warm_cycles
        Seasonal cycles observed before the seasonal baseline is trusted.
    max_period
        Upper bound on the period (memory per feature is O(period)).
    max_features
        Bound on features.

    Examples:
    --------
    >>> det = MultiScaleDetector(period=24, warmup=48)
    >>> scores = []
    >>> for i in range(24 * 10):
    ...     x = {"load": 10.0 + 5.0 * math.sin(2 * math.pi * i / 24) + 0.1 * ((i * 7) % 3)}
    ...     scores.append(det.score_one(x))
    ...     det.learn_one(x)
    >>> max(scores[100:]) < 0.5
    True
    >>> det.score_one({"load": 40.0}) > 0.9
    True
    """

    _constraints: ClassVar[Mapping[str, Constraint]] = {
        "period": (lambda v: isinstance(v, int) and v >= 0, "an integer >= 0"),
        "detect_after": (lambda v: isinstance(v, int) and v >= 12, "an integer >= 12"),
        "warmup": (lambda v: isinstance(v, int) and v >= 0, "an integer >= 0"),
        "warm_cycles": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
        "max_period": (lambda v: isinstance(v, int) and v >= 2, "an integer >= 2"),
        "max_features": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    }

    def __init__(
        self,
        *,
        period: int = 0,
        detect_after: int = 400,
        warmup: int = 30,
        warm_cycles: int = 2,
        max_period: int = 2016,
        max_features: int = 256,
    ) -> None:
        self.period = period
        self.detect_after = detect_after
        self.warmup = warmup
        self.warm_cycles = warm_cycles
        self.max_period = max_period
        self.max_features = max_features

    @classmethod
    def example_params(cls) -> dict[str, Any]:
        """A short fixed period keeps contract tests fast."""
        return {"period": 12, "warmup": 10}

    def _init(self) -> None:
        if getattr(self, "channels_", None) is None:
            self._check_params()
            if self.period > self.max_period:
                raise InvalidParameterError(
                    type(self).__name__, "period", self.period, f"<= max_period={self.max_period}"
                )
            self.channels_: dict[str, _Channel] = {}
            self.n_ = 0
            self.period_ = self.period
            self.buffers_: dict[str, list[float]] = {}

    def _phase(self, t: float | None) -> int:
        if self.period_ <= 1:
            return 0
        index = self.n_ if t is None else int(t)
        return index % self.period_

    def score_one(self, x: Mapping[str, float], t: float | None = None) -> float:
        """Score in [0, 1) for one sample (``t``: its seasonal index, default the count)."""
        self._init()
        if self.n_ < self.warmup:
            return 0.0
        phase = self._phase(t)
        worst = 0.0
        for key, value in finite_items(x):
            channel = self.channels_.get(key)
            if channel is not None:
                worst = max(worst, channel.surprise(value, phase, self.warm_cycles))
        return squash(worst)

    def learn_one(self, x: Mapping[str, float], t: float | None = None) -> None:
        """Learn one sample (``t`` as in :meth:`score_one`)."""
        self._init()
        items = finite_items(x)
        if self.period == 0 and self.period_ == 0:
            self._buffer(items)
        phase = self._phase(t)
        for key, value in items:
            channel = self.channels_.get(key)
            if channel is None:
                if len(self.channels_) < self.max_features:
                    self.channels_[key] = _Channel(value, max(self.period_, 1))
                continue
            channel.learn(value, phase % max(len(channel.season), 1), self.warm_cycles)
        self.n_ += 1

    def _buffer(self, items: list[tuple[str, float]]) -> None:
        for key, value in items:
            buf = self.buffers_.setdefault(key, [])
            if len(buf) < self.detect_after:
                buf.append(value)
        if self.n_ + 1 < self.detect_after:
            return
        # detected once, from the first column with a full buffer; later columns share it
        lags = [detect_period(b) for b in self.buffers_.values() if len(b) >= self.detect_after]
        found = max(lags, default=0)
        self.period_ = found if 2 <= found <= self.max_period else 1
        self.buffers_ = {}
        for key, channel in self.channels_.items():
            self.channels_[key] = _Channel(channel.prev, self.period_)
            self.channels_[key].__dict__.update(
                {k: v for k, v in channel.__dict__.items() if k not in ("season", "seen")}
            )
