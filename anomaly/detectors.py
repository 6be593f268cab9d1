"""Streaming detectors for per-device, per-metric normal behaviour.

Each one learns a device's own normal from the samples it is shown and scores new samples
(higher = worse). They keep a few floats per feature, so memory is bounded by
``max_features``; features may appear and disappear between samples.

- :class:`RobustZScore`: distance from an EWMA level in units of an EWMA absolute
  deviation whose updates are clipped, so outliers do not inflate it. Catches spikes and
  sudden level changes.
- :class:`ContextResidual`: an online ridge (recursive least squares) regression of each
  metric on context features (outdoor temperature, setpoint, hour of day...), scored as a
  robust standardised residual. Catches a metric that is wrong *for the conditions*.
- :class:`PageHinkley`: two-sided Page-Hinkley test on standardised values. Catches slow
  drift of the mean.
- :class:`Cusum`: two-sided tabular CUSUM against a baseline learned during warm-up.
  Catches small persistent shifts.
- :class:`FrozenSignal`: how surprising the current run of identical values is, given how
  often the feature repeated itself while healthy. Catches stuck sensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from anomaly.base import Constraint, DetectorBase, finite_items
from anomaly.rls import rls_step

__all__ = ["ContextResidual", "Cusum", "FrozenSignal", "PageHinkley", "RobustZScore"]

_EPS = 1e-9


def _unit(value: object) -> bool:
    return isinstance(value, int | float) and 0.0 < float(value) < 1.0


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _non_negative(value: object) -> bool:
    return isinstance(value, int | float) and float(value) >= 0.0


_UNIT: Constraint = (_unit, "a number in (0, 1)")
_POS_INT: Constraint = (_positive_int, "a positive integer")
_NON_NEG: Constraint = (_non_negative, "a number >= 0")


class RobustZScore(DetectorBase):
    """Robust EWMA z-score per feature; the sample's score is the largest.

    Parameters
    ----------
    alpha
        EWMA weight of the level (larger follows faster).
    scale_alpha
        EWMA weight of the absolute deviation.
    clip
        Residuals beyond ``clip`` deviations update the scale as if they were ``clip``.
    warmup
        A feature scores 0 until it has been learned this many times.
    max_features
        Bound on remembered features; new ones beyond it are ignored.

    Examples:
    --------
    >>> det = RobustZScore(warmup=3)
    >>> for v in [10.0, 10.2, 9.9, 10.1, 10.0, 9.8]:
    ...     det.learn_one({"t": v})
    >>> det.score_one({"t": 10.05}) < 2.0
    True
    >>> det.score_one({"t": 14.0}) > 5.0
    True
    """

    _constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": _UNIT,
        "scale_alpha": _UNIT,
        "clip": _NON_NEG,
        "warmup": _POS_INT,
        "max_features": _POS_INT,
    }

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        scale_alpha: float = 0.02,
        clip: float = 4.0,
        warmup: int = 10,
        max_features: int = 256,
    ) -> None:
        self.alpha = alpha
        self.scale_alpha = scale_alpha
        self.clip = clip
        self.warmup = warmup
        self.max_features = max_features

    @classmethod
    def example_params(cls) -> dict[str, Any]:
        """Small warm-up so contract tests exercise the scoring path."""
        return {"warmup": 5}

    def _state(self) -> dict[str, list[float]]:
        state: dict[str, list[float]] | None = getattr(self, "state_", None)
        if state is None:
            self._check_params()
            state = {}
            self.state_ = state
        return state

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Update each present feature's level and scale."""
        state = self._state()
        for key, value in finite_items(x):
            s = state.get(key)
            if s is None:
                if len(state) < self.max_features:
                    state[key] = [value, 0.0, 1.0]
                continue
            level, scale, n = s
            resid = value - level
            bound = self.clip * max(scale, _EPS)
            clipped = resid if n < self.warmup else max(-bound, min(bound, resid))
            a = max(self.alpha, 1.0 / (n + 1.0))
            sa = max(self.scale_alpha, 1.0 / (n + 1.0))
            s[0] = level + a * clipped
            s[1] = scale + sa * (abs(clipped) - scale)
            s[2] = n + 1.0

    def score_one(self, x: Mapping[str, float]) -> float:
        """The largest robust z among the present, warmed-up features."""
        state = self._state()
        worst = 0.0
        for key, value in finite_items(x):
            s = state.get(key)
            if s is None or s[2] < self.warmup:
                continue
            floor = 1e-3 * abs(s[0]) + 1e-6
            worst = max(worst, abs(value - s[0]) / (1.2533 * s[1] + floor))
        return worst


class ContextResidual(DetectorBase):
    """Residual of each metric against an online ridge regression on context features.

    Parameters
    ----------
    context
        Names of the context features (regressors). Every other feature is a target.
    ridge
        Prior precision of the weights (larger = smoother, slower to fit).
    forget
        RLS forgetting factor in (0, 1]; 1 learns the whole history equally.
    scale_alpha
        EWMA weight of the residual's absolute deviation.
    warmup
        A target scores 0 until learned this many times.
    max_features
        Bound on targets.

    Examples:
    --------
    >>> det = ContextResidual(context=("outdoor",), warmup=5)
    >>> for i in range(50):
    ...     out = 20.0 + (i % 10)
    ...     det.learn_one({"outdoor": out, "current": 2.0 + 0.1 * out + 0.01 * (i % 3)})
    >>> det.score_one({"outdoor": 35.0, "current": 5.5}) < 3.0
    True
    >>> det.score_one({"outdoor": 35.0, "current": 8.0}) > 10.0
    True
    """

    _constraints: ClassVar[Mapping[str, Constraint]] = {
        "ridge": (lambda v: isinstance(v, int | float) and v > 0, "a number > 0"),
        "forget": (lambda v: isinstance(v, int | float) and 0.9 <= v <= 1.0, "in [0.9, 1]"),
        "scale_alpha": _UNIT,
        "warmup": _POS_INT,
        "max_features": _POS_INT,
    }

    def __init__(
        self,
        *,
        context: tuple[str, ...] = (),
        ridge: float = 1.0,
        forget: float = 1.0,
        scale_alpha: float = 0.02,
        warmup: int = 20,
        max_features: int = 64,
    ) -> None:
        self.context = context
        self.ridge = ridge
        self.forget = forget
        self.scale_alpha = scale_alpha
        self.warmup = warmup
        self.max_features = max_features

    @classmethod
    def example_params(cls) -> dict[str, Any]:
        """One context feature, short warm-up."""
        return {"context": ("c0",), "warmup": 5}

    def _init(self) -> None:
        if getattr(self, "p_", None) is None:
            self._check_params()
            d = len(self.context) + 1
            self.p_ = np.eye(d) / self.ridge
            self.weights_: dict[str, np.ndarray] = {}
            self.scales_: dict[str, list[float]] = {}
            self.center_ = np.zeros(d - 1)
            self.n_ = 0

    def _vector(self, x: Mapping[str, float]) -> np.ndarray:
        values = [x.get(c, math.nan) for c in self.context]
        raw = np.array([1.0, *values], dtype=float)
        raw[1:] = np.where(np.isfinite(raw[1:]), raw[1:] - self.center_, 0.0)
        return raw

    def _targets(self, x: Mapping[str, float]) -> list[tuple[str, float]]:
        ctx = set(self.context)
        return [(k, v) for k, v in finite_items(x) if k not in ctx]

    def learn_one(self, x: Mapping[str, float]) -> None:
        """One RLS step for every present target (they share the context vector)."""
        self._init()
        if self.n_ == 0:
            first = [x.get(c, 0.0) for c in self.context]
            self.center_ = np.array([v if math.isfinite(v) else 0.0 for v in first], float)
        phi = self._vector(x)
        gain, p_next = rls_step(self.p_, phi, self.forget)
        for key, value in self._targets(x):
            w = self.weights_.get(key)
            if w is None:
                if len(self.weights_) >= self.max_features:
                    continue
                w = self.weights_[key] = np.zeros_like(phi)
                w[0] = value
                self.scales_[key] = [0.0, 0.0]
            resid = value - float(w @ phi)
            s = self.scales_[key]
            a = max(self.scale_alpha, 1.0 / (s[1] + 1.0))
            bound = 4.0 * s[0] if s[1] >= self.warmup else abs(resid)
            s[0] += a * (min(abs(resid), bound) - s[0])
            s[1] += 1.0
            w += gain * resid
        self.p_ = p_next
        self.n_ += 1

    def residuals(self, x: Mapping[str, float]) -> dict[str, float]:
        """Standardised residual (signed) of every warmed-up target in ``x``."""
        self._init()
        phi = self._vector(x)
        out: dict[str, float] = {}
        for key, value in self._targets(x):
            w = self.weights_.get(key)
            s = self.scales_.get(key)
            if w is None or s is None or s[1] < self.warmup:
                continue
            floor = 1e-3 * abs(float(w[0])) + 1e-6
            out[key] = (value - float(w @ phi)) / (1.2533 * s[0] + floor)
        return out

    def score_one(self, x: Mapping[str, float]) -> float:
        """The largest absolute standardised residual."""
        return max((abs(v) for v in self.residuals(x).values()), default=0.0)


class PageHinkley(DetectorBase):
    """Two-sided Page-Hinkley drift statistic on standardised values.

    Parameters
    ----------
    delta
        Tolerated drift per sample, in standard deviations.
    alpha
        EWMA weight of the running mean and variance used to standardise.
    warmup
        Samples before the statistic accumulates.
    max_features
        Bound on features.

    Examples:
    --------
    >>> det = PageHinkley(warmup=10)
    >>> for i in range(200):
    ...     det.learn_one({"v": (i % 5) * 0.1})
    >>> before = det.score_one({"v": 0.2})
    >>> for i in range(100):
    ...     det.learn_one({"v": 0.2 + 0.02 * i})
    >>> det.score_one({"v": 2.2}) > before + 5
    True
    """

    _constraints: ClassVar[Mapping[str, Constraint]] = {
        "delta": _NON_NEG,
        "alpha": _UNIT,
        "warmup": _POS_INT,
        "max_features": _POS_INT,
    }

    def __init__(
        self,
        *,
        delta: float = 0.1,
        alpha: float = 0.005,
        warmup: int = 30,
        max_features: int = 256,
    ) -> None:
        self.delta = delta
        self.alpha = alpha
        self.warmup = warmup
        self.max_features = max_features

    @classmethod
    def example_params(cls) -> dict[str, Any]:
        """Short warm-up."""
        return {"warmup": 5}

    def _state(self) -> dict[str, list[float]]:
        state: dict[str, list[float]] | None = getattr(self, "state_", None)
        if state is None:
            self._check_params()
            state = {}
            self.state_ = state
        return state

    def _step(self, s: list[float], value: float) -> tuple[float, float]:
        mean, var, n, up, down = s
        z = (value - mean) / math.sqrt(var + _EPS) if n >= self.warmup else 0.0
        return max(0.0, up + z - self.delta), max(0.0, down - z - self.delta)

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Accumulate both one-sided statistics, then update mean and variance."""
        state = self._state()
        for key, value in finite_items(x):
            s = state.get(key)
            if s is None:
                if len(state) < self.max_features:
                    state[key] = [value, 0.0, 1.0, 0.0, 0.0]
                continue
            s[3], s[4] = self._step(s, value)
            if s[2] < self.warmup:
                a = 1.0 / (s[2] + 1.0)
                diff = value - s[0]
                s[0] += a * diff
                s[1] += a * (diff * diff - s[1])
            s[2] += 1.0

    def score_one(self, x: Mapping[str, float]) -> float:
        """The largest one-sided statistic after this sample, in standard deviations."""
        state = self._state()
        worst = 0.0
        for key, value in finite_items(x):
            s = state.get(key)
            if s is not None and s[2] >= self.warmup:
                worst = max(worst, *self._step(s, value))
        return worst


class Cusum(DetectorBase):
    """Two-sided tabular CUSUM against a mean and deviation learned during warm-up.

    Parameters
    ----------
    k
        Allowance (slack) in standard deviations; shifts smaller than this are ignored.
    warmup
        Samples that define the baseline.
    decay
        Each step multiplies the sums by this (1 = classic CUSUM); below 1 forgets old
        evidence so one bad week does not alarm forever.
    max_features
        Bound on features.

    Examples:
    --------
    >>> det = Cusum(warmup=20)
    >>> for i in range(40):
    ...     det.learn_one({"v": 1.0 + 0.1 * ((i * 7) % 5 - 2)})
    >>> det.score_one({"v": 1.0}) < 1.0
    True
    >>> for _ in range(20):
    ...     det.learn_one({"v": 1.3})
    >>> det.score_one({"v": 1.3}) > 10.0
    True
    """

    _constraints: ClassVar[Mapping[str, Constraint]] = {
        "k": _NON_NEG,
        "warmup": _POS_INT,
        "decay": (lambda v: isinstance(v, int | float) and 0.5 <= v <= 1.0, "in [0.5, 1]"),
        "max_features": _POS_INT,
    }

    def __init__(
        self, *, k: float = 0.5, warmup: int = 50, decay: float = 1.0, max_features: int = 256
    ) -> None:
        self.k = k
        self.warmup = warmup
        self.decay = decay
        self.max_features = max_features

    @classmethod
    def example_params(cls) -> dict[str, Any]:
        """Short warm-up."""
        return {"warmup": 10}

    def _state(self) -> dict[str, list[float]]:
        state: dict[str, list[float]] | None = getattr(self, "state_", None)
        if state is None:
            self._check_params()
            state = {}
            self.state_ = state
        return state

    def _step(self, s: list[float], value: float) -> tuple[float, float]:
        mean, var, n, hi, lo = s
        if n < self.warmup:
            return 0.0, 0.0
        z = (value - mean) / (math.sqrt(var) + 1e-3 * abs(mean) + 1e-6)
        return (
            max(0.0, self.decay * hi + z - self.k),
            max(0.0, self.decay * lo - z - self.k),
        )

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Learn the baseline during warm-up, accumulate the sums afterwards."""
        state = self._state()
        for key, value in finite_items(x):
            s = state.get(key)
            if s is None:
                if len(state) < self.max_features:
                    state[key] = [value, 0.0, 1.0, 0.0, 0.0]
                continue
            if s[2] < self.warmup:
                a = 1.0 / (s[2] + 1.0)
                diff = value - s[0]
                s[0] += a * diff
                s[1] += a * (diff * diff - s[1])
            else:
                s[3], s[4] = self._step(s, value)
            s[2] += 1.0

    def score_one(self, x: Mapping[str, float]) -> float:
        """The largest one-sided sum after this sample."""
        state = self._state()
        return max(
            (max(self._step(state[k], v)) for k, v in finite_items(x) if k in state),
            default=0.0,
        )


class FrozenSignal(DetectorBase):
    """Surprise of the current run of identical values, given the feature's history.

    Parameters
    ----------
    alpha
        EWMA weight of the learned probability that a value repeats the previous one.
    tolerance
        Values closer than this count as identical.
    min_probability
        Floor on the repeat probability (so a never-repeating feature is not infinitely
        surprised by one repeat).
    warmup
        Samples before a feature scores.
    max_features
        Bound on features.

    Examples:
    --------
    >>> det = FrozenSignal(warmup=10)
    >>> for i in range(50):
    ...     det.learn_one({"t": 20.0 + 0.1 * (i % 7)})
    >>> for _ in range(10):
    ...     det.learn_one({"t": 20.3})
    >>> det.score_one({"t": 20.3}) > 5.0
    True
    >>> det.score_one({"t": 20.4}) == 0.0
    True
    """

    catches: ClassVar[str] = "frozen"
    _constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": _UNIT,
        "tolerance": _NON_NEG,
        "min_probability": _UNIT,
        "warmup": _POS_INT,
        "max_features": _POS_INT,
    }

    def __init__(
        self,
        *,
        alpha: float = 0.01,
        tolerance: float = 0.0,
        min_probability: float = 0.01,
        warmup: int = 20,
        max_features: int = 256,
    ) -> None:
        self.alpha = alpha
        self.tolerance = tolerance
        self.min_probability = min_probability
        self.warmup = warmup
        self.max_features = max_features

    @classmethod
    def example_params(cls) -> dict[str, Any]:
        """Short warm-up."""
        return {"warmup": 5}

    def _state(self) -> dict[str, list[float]]:
        state: dict[str, list[float]] | None = getattr(self, "state_", None)
        if state is None:
            self._check_params()
            state = {}
            self.state_ = state
        return state

    def _surprise(self, s: list[float], run: float) -> float:
        if s[3] < self.warmup or run < 1.0:
            return 0.0
        return -run * math.log10(max(s[2], self.min_probability))

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Extend or restart each feature's run; learn the repeat rate outside long runs."""
        state = self._state()
        for key, value in finite_items(x):
            s = state.get(key)
            if s is None:
                if len(state) < self.max_features:
                    state[key] = [value, 0.0, 0.0, 1.0]
                continue
            same = abs(value - s[0]) <= self.tolerance
            # a long run is what we are looking for: do not learn that repeating is normal
            if not same or s[1] < 3:
                s[2] += max(self.alpha, 1.0 / (s[3] + 1.0)) * (float(same) - s[2])
            s[1] = s[1] + 1.0 if same else 0.0
            s[0] = value
            s[3] += 1.0

    def score_one(self, x: Mapping[str, float]) -> float:
        """The largest run surprise (a log10 likelihood ratio) after this sample."""
        state = self._state()
        worst = 0.0
        for key, value in finite_items(x):
            s = state.get(key)
            if s is not None and abs(value - s[0]) <= self.tolerance:
                worst = max(worst, self._surprise(s, s[1] + 1.0))
        return worst
