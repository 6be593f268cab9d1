"""One device's learned normal: bucket means, a context regression and drift statistics.

Per message this only adds the metrics to the open bucket's sums (plain dict
arithmetic; PERF_LIMITS.md: keep per-reading work to arithmetic). When a bucket closes
(an hour for interval kinds, each message for per-cycle kinds) its feature means are
compared with a recursive-least-squares regression on the context (context metrics,
hour of day, mode), shared by all features so one numpy step updates them together.
The standardised residuals feed an EWMA per feature; that EWMA in units of its own noise
is the *drift* ``D`` the diagnosis reads.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from anomaly.config import EngineConfig
from anomaly.profiles import KindProfile
from anomaly.residuals import ResidualFit
from anomaly.rls import rls_step
from device_adapters import StateValue

__all__ = ["BucketResult", "DeviceModel", "Snapshot"]

_MAX_MODES = 3
_MIN_SEEN = 3
_DAY = 86400.0
_HISTORY_DAYS = 64
_TAU = 2.0 * math.pi / _DAY
# a recurring state is overdue past this many times its longest interval so far: a
# timer counted from sampled reports jitters by a report or two
_OVERDUE = 1.5
# successive differences a ripple needs in a bucket
_MIN_RIPPLE = 4


@dataclass(frozen=True, slots=True)
class BucketResult:
    """What one closed bucket says.

    Attributes:
        ts: the bucket's end (epoch seconds).
        drift: feature -> drift D (signed, in noise units); only for a warmed-up model.
        values: feature -> the bucket's mean.
        context: the context metrics' means.
        learning: whether the baseline learned from this bucket.
    """

    ts: float
    drift: Mapping[str, float]
    values: Mapping[str, float]
    context: Mapping[str, float]
    learning: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One day's summary, kept for trends and evidence."""

    ts: float
    drift: tuple[float, ...]
    values: tuple[float, ...]


def _pick(name: str, derived: Mapping[str, float | None], means: Mapping[str, float]) -> float:
    if name in derived:
        value = derived[name]
        return math.nan if value is None else value
    return means.get(name, math.nan)


class DeviceModel:
    """The learned normal of one device (see the module docstring).

    Args:
        profile: what to watch for this kind.
        config: engine settings.
    """

    def __init__(self, profile: KindProfile, config: EngineConfig) -> None:
        self.profile = profile
        self.names = profile.feature_names
        self.per_cycle = profile.per_cycle
        n_f = len(self.names)
        d = 1 + 2 * len(profile.context) + 2 + _MAX_MODES
        self.warm = config.warm_cycles if self.per_cycle else config.warm_buckets
        self.learn_max = config.learn_cycles if self.per_cycle else config.learn_buckets
        self.alpha = config.drift_alpha_cycle if self.per_cycle else config.drift_alpha
        self.protect = config.protect
        self.p = np.eye(d) / config.ridge
        self.residual_fits = tuple(ResidualFit(r) for r in profile.residuals)
        free = {*profile.context_free, *(r.name for r in profile.residuals)}
        self.free = np.array([n in free for n in self.names], dtype=bool)
        floors = {r.name: r.noise_floor for r in profile.residuals}
        self.noise_floor = np.array([floors.get(n, 0.0) for n in self.names])
        self.level = np.zeros(n_f)
        self.level_n = np.zeros(n_f)
        self.w = np.zeros((d, n_f))
        self.scale = np.zeros(n_f)
        self.ewma = np.zeros(n_f)
        self.ewma_var = np.zeros(n_f)
        self.seen = np.zeros(n_f)
        # the EWMA of independent unit residuals has this deviation; residuals of
        # neighbouring hours are correlated (weather, use), hence the factor
        self.theory_sd = 1.5 * math.sqrt(self.alpha / (2.0 - self.alpha))
        self.center: np.ndarray | None = None
        # the context range the baseline learned from: outside it the squared terms
        # would extrapolate wildly, so they hold their edge value there (linear tails,
        # as a natural spline's)
        n_c = len(profile.context)
        self.ctx_lo = np.full(n_c, np.inf)
        self.ctx_hi = np.full(n_c, -np.inf)
        self.modes: dict[StateValue, int] = {}
        self.n = 0
        self.bucket_end = -math.inf
        self.sums: dict[str, float] = {}
        self.count = 0
        self.all_sums: dict[str, float] = {}
        self.all_count = 0
        self.switch_sums: dict[str, float] = {}
        self.switch_counts: dict[str, int] = {}
        # the previous report, for the features read across two reports (switches, since)
        self.prev_ts: float | None = None
        self.prev_state: Mapping[str, StateValue] = {}
        # feature -> seconds counted since the state last had its value (absent until it
        # had), and the longest such count that ended in the value
        self.since: dict[str, float] = {}
        self.longest: dict[str, float] = {}
        # successive differences within a bucket only: across an idle gap the load moved
        self.ripple_last: dict[str, float] = {}
        self.ripple_sums: dict[str, float] = {}
        self.ripple_counts: dict[str, int] = {}
        self.state: Mapping[str, StateValue] = {}
        self.history: deque[Snapshot] = deque(maxlen=_HISTORY_DAYS)
        self.day = -1

    @property
    def ready(self) -> bool:
        """Whether drift is meaningful yet."""
        return self.n >= self.warm + self.warm // 2

    def observe(
        self, ts: float, metrics: Mapping[str, float], state: Mapping[str, StateValue]
    ) -> BucketResult | None:
        """Add one message; return the bucket it closed, if any."""
        profile = self.profile
        closed = None
        if not self.per_cycle and ts >= self.bucket_end:
            closed = self._close()
            bucket_s = profile.bucket_s
            self.bucket_end = (ts // bucket_s + 1) * bucket_s
        if profile.active is None or profile.active(metrics, state):
            sums = self.sums
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + value
            self.count += 1
            self.state = state
            if profile.ripple:
                self._add_ripple(metrics)
        if profile.always:
            all_sums = self.all_sums
            for key in profile.always:
                reading = metrics.get(key)
                if reading is not None:
                    all_sums[key] = all_sums.get(key, 0.0) + reading
            self.all_count += 1
        if profile.switches or profile.since:
            if profile.switches:
                self._read_switches(metrics, state)
            if profile.since:
                self._count_since(ts, state)
            self.prev_ts, self.prev_state = ts, state
        if self.per_cycle:
            self.bucket_end = ts
            return self._close()
        return closed

    def _add_ripple(self, metrics: Mapping[str, float]) -> None:
        last = self.ripple_last
        for name in self.profile.ripple:
            value = metrics.get(name)
            if value is None:
                continue
            before = last.get(name)
            if before is not None:
                self.ripple_sums[name] = self.ripple_sums.get(name, 0.0) + abs(value - before)
                self.ripple_counts[name] = self.ripple_counts.get(name, 0) + 1
            last[name] = value

    def _count_since(self, ts: float, state: Mapping[str, StateValue]) -> None:
        prev_ts, prev_state = self.prev_ts, self.prev_state
        for since in self.profile.since:
            name = since.name
            if state.get(since.key) == since.value:
                counted = self.since.get(name)
                entering = prev_ts is None or prev_state.get(since.key) != since.value
                # an interval ends where the state is entered, not at each of its reports
                if entering and counted is not None and counted > self.longest.get(name, -1.0):
                    self.longest[name] = counted
                self.since[name] = 0.0
            elif (
                name in self.since
                and prev_ts is not None
                and ts > prev_ts
                and (since.counting is None or prev_state.get(since.key) == since.counting)
            ):
                self.since[name] += ts - prev_ts

    def _read_switches(self, metrics: Mapping[str, float], state: Mapping[str, StateValue]) -> None:
        previous = self.prev_state
        for switch in self.profile.switches:
            if previous.get(switch.key) == switch.before and state.get(switch.key) == switch.after:
                value = switch.value(metrics)
                if value is not None:
                    name = switch.name
                    self.switch_sums[name] = self.switch_sums.get(name, 0.0) + value
                    self.switch_counts[name] = self.switch_counts.get(name, 0) + 1

    def _means(self) -> dict[str, float] | None:
        if self.count < self.profile.min_samples:
            return None
        inv = 1.0 / self.count
        means = {k: v * inv for k, v in self.sums.items()}
        if self.all_count:
            inv_all = 1.0 / self.all_count
            means.update({f"all_{k}": v * inv_all for k, v in self.all_sums.items()})
        for name, count in self.switch_counts.items():
            means[name] = self.switch_sums[name] / count
        for name, count in self.ripple_counts.items():
            if count >= _MIN_RIPPLE:
                means[f"ripple_{name}"] = self.ripple_sums[name] / count
        for name, longest in self.longest.items():
            means[name] = max(0.0, self.since[name] - _OVERDUE * longest) / 3600.0
        return means

    def _close(self) -> BucketResult | None:
        means = self._means()
        state = self.state
        self.sums, self.count, self.all_sums, self.all_count = {}, 0, {}, 0
        if self.switch_counts:
            self.switch_sums, self.switch_counts = {}, {}
        if self.ripple_last:
            self.ripple_last, self.ripple_sums, self.ripple_counts = {}, {}, {}
        if means is None:
            return None
        profile = self.profile
        sign = profile.sign(state) if profile.sign is not None else 1.0
        values = {d.name: d.value(means, sign) for d in profile.derived}
        fits = []
        for fit in self.residual_fits:
            target = means.get(fit.spec.target)
            x = fit.regressors(means, sign) if target is not None else None
            if target is None or x is None:
                values[fit.spec.name] = None
                continue
            values[fit.spec.name] = fit.excess(x, target)
            fits.append((fit, x, target))
        y = np.array([_pick(name, values, means) for name in self.names], dtype=float)
        context = {c: means[c] for c in profile.context if c in means}
        ctx = self._centered(context)
        phi = self._phi(ctx, state, self.bucket_end)
        result = self._update(y, phi, ctx, context)
        # the fits learn what the baseline learns: a fault's buckets must not teach them
        if result.learning:
            for fit, x, target in fits:
                fit.learn(x, target)
        return result

    def _centered(self, context: Mapping[str, float]) -> np.ndarray:
        ctx = np.array([context.get(c, math.nan) for c in self.profile.context], dtype=float)
        if self.center is None:
            self.center = np.where(np.isfinite(ctx), ctx, 0.0)
        return np.where(np.isfinite(ctx), ctx - self.center, 0.0)

    def _phi(self, ctx: np.ndarray, state: Mapping[str, StateValue], ts: float) -> np.ndarray:
        mode = np.zeros(_MAX_MODES)
        key = self.profile.mode_key
        if key is not None and key in state:
            slot = self.modes.get(state[key])
            if slot is None and len(self.modes) < _MAX_MODES:
                slot = self.modes[state[key]] = len(self.modes)
            if slot is not None:
                mode[slot] = 1.0
        hour = ts * _TAU
        # squares: loads saturate (a compressor flat out on a hot afternoon)
        return np.concatenate(([1.0], ctx, ctx * ctx * 0.1, [math.sin(hour), math.cos(hour)], mode))

    def _update(
        self, y: np.ndarray, phi: np.ndarray, ctx: np.ndarray, context: Mapping[str, float]
    ) -> BucketResult:
        present = np.isfinite(y)
        if self.n == 0:
            self.w[0] = np.where(present, y, 0.0)
        raw_err = np.where(present, y - np.where(self.free, self.level, phi @ self.w), 0.0)
        err = raw_err
        if self.n >= self.warm and ctx.size:
            inside = np.clip(ctx, self.ctx_lo, self.ctx_hi)
            if not np.array_equal(inside, ctx):
                phi_in = phi.copy()
                n_c = ctx.size
                phi_in[1 + n_c : 1 + 2 * n_c] = inside * inside * 0.1
                err = np.where(present, y - np.where(self.free, self.level, phi_in @ self.w), 0.0)
        floor = 1e-3 * np.abs(self.w[0]) + 1e-6 + self.noise_floor
        z = np.clip(err / (1.2533 * self.scale + floor), -8.0, 8.0)
        # before a feature's noise scale is known its residuals are not in noise units;
        # letting them in would saturate z and inflate the drift's spread for good
        z = np.where(self.seen >= _MIN_SEEN, z, 0.0)
        warm = self.n >= self.warm
        drift: dict[str, float] = {}
        if warm:
            a = self.alpha
            self.ewma = np.where(present, self.ewma + a * (z - self.ewma), self.ewma)
            sd = np.maximum(np.sqrt(self.ewma_var), self.theory_sd)
            d_all = self.ewma / sd
            if self.ready:
                drift = {
                    n: float(v) for n, v, ok in zip(self.names, d_all, present, strict=True) if ok
                }
        learning = self.n < self.warm or (
            self.n < self.learn_max and float(np.max(np.abs(self._drift_now()))) < self.protect
        )
        if learning:
            self._learn(phi, raw_err, present)
            self.ctx_lo = np.minimum(self.ctx_lo, ctx)
            self.ctx_hi = np.maximum(self.ctx_hi, ctx)
        # per-cycle kinds have few cycles, all of them inside the learning period: there
        # a fault's own cycles would widen the spread that hides it
        if warm and self.n < self.learn_max and (learning or not self.per_cycle):
            # the drift's own spread is learned from every bucket of the learning period,
            # not only the calm ones: a feature the context explains badly must not look
            # like a fault whenever the weather leaves the warm-up's range
            a_v = max(0.01, 1.0 / (self.n - self.warm + 1.0))
            self.ewma_var = np.where(
                present, self.ewma_var + a_v * (self.ewma**2 - self.ewma_var), self.ewma_var
            )
        self.n += 1
        values = {n: float(v) for n, v, ok in zip(self.names, y, present, strict=True) if ok}
        self._remember(drift, values)
        return BucketResult(self.bucket_end, drift, values, dict(context), learning)

    def _drift_now(self) -> np.ndarray:
        return self.ewma / np.maximum(np.sqrt(self.ewma_var), self.theory_sd)

    def _learn(self, phi: np.ndarray, err: np.ndarray, present: np.ndarray) -> None:
        learn_level = present & self.free
        self.level_n += learn_level
        self.level = np.where(
            learn_level, self.level + err / np.maximum(self.level_n, 1.0), self.level
        )
        gain, self.p = rls_step(self.p, phi)
        self.w += np.outer(gain, err)
        # a regression's residuals say nothing until it has more points than
        # parameters; a feature with its own level needs only a first point
        counted = present & (self.free if self.n <= phi.size else True) & (self.n > 0)
        if counted.any():
            self.seen += counted
            a = np.maximum(0.02, 1.0 / np.maximum(self.seen, 1.0))
            bound = np.where(self.seen > self.warm // 2, 4.0 * self.scale, np.inf)
            upd = np.minimum(np.abs(err), bound)
            self.scale = np.where(counted, self.scale + a * (upd - self.scale), self.scale)

    def _remember(self, drift: Mapping[str, float], values: Mapping[str, float]) -> None:
        day = int(self.bucket_end // _DAY)
        if day == self.day:
            return
        self.day = day
        self.history.append(
            Snapshot(
                self.bucket_end,
                tuple(drift.get(n, math.nan) for n in self.names),
                tuple(values.get(n, math.nan) for n in self.names),
            )
        )
