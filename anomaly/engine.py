"""The fault engine: telemetry in, diagnosed fault reports out (sans-IO, causal).

It satisfies :class:`gateway.pipeline.FaultDetector`. Per device it keeps a
:class:`~anomaly.device.DeviceModel` (context-conditioned baseline and drift), a
:class:`~anomaly.stuck.StuckTracker`, leaky match counters per fault and its open
episodes. Time is the telemetry's own timestamp; ``sweep(now)`` applies the silence rule.

Episodes (one ticket per fault episode): a fault is raised once, when its signature has
matched long enough (hysteresis: the counter rises by one per matching bucket and falls by
half per other bucket); while the episode is open, repeats are absorbed; it closes only
after the signature has not matched for ``clear_s``. A device with an open catalog-fault
episode raises no second catalog fault: one visit, one diagnosis.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from aftercare.catalog import Catalog, Severity, default_catalog
from anomaly.config import EngineConfig
from anomaly.device import BucketResult, DeviceModel
from anomaly.diagnosis import Match, match_signatures
from anomaly.fault_report import FaultReport
from anomaly.fleet import FleetModelLoader, FleetModels
from anomaly.peers import PeerReference
from anomaly.profiles import PROFILES, KindProfile, generic_profile
from anomaly.prognosis import estimate_failure
from anomaly.signatures import Signature, signatures_for
from anomaly.stuck import StuckTracker
from device_adapters import StateValue, Telemetry

__all__ = ["FaultEngine"]

logger = logging.getLogger(__name__)

SENSOR_STUCK: Final = "SENSOR_STUCK"
DEVICE_OFFLINE: Final = "DEVICE_OFFLINE"
_DAY = 86400.0
_SERIES_DAYS = 14
_DEFAULT_FAILURE_LEVEL = 16.0
_MAX_SPLITS = 3
_MAX_PEER_STEP = 3.0  # one peer bucket counts as at most this many

_FLUSH_S = 6 * 3600.0
_CLASS_ALPHA = 0.15
_HEALTHY = "healthy"

BucketHook: TypeAlias = Callable[[str, str, BucketResult], None]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class _Device:
    """Everything the engine knows about one device."""

    __slots__ = (
        "class_probs",
        "clf_counts",
        "counters",
        "device_id",
        "fleet_score",
        "home_id",
        "kind",
        "last_ts",
        "max_gap",
        "models",
        "offline_at",
        "online_since",
        "open",
        "peer_counts",
        "profile",
        "queued",
        "signatures",
        "stuck",
        "stuck_open",
        "stuck_since",
    )

    def __init__(
        self, device_id: str, kind: str, profile: KindProfile, stuck: StuckTracker
    ) -> None:
        self.device_id = device_id
        self.kind = kind
        self.class_probs: dict[str, float] = {}
        self.clf_counts: dict[str, float] = {}
        self.profile = profile
        self.models: dict[StateValue | None, DeviceModel] = {}
        self.stuck = stuck
        self.signatures: tuple[Signature, ...] = signatures_for(kind)
        self.home_id: str | None = None
        self.fleet_score = math.nan
        self.last_ts = -math.inf
        self.max_gap = 0.0
        self.counters: dict[str, float] = {}
        self.peer_counts: dict[str, float] = {}
        self.open: dict[str, float] = {}
        self.stuck_open = False
        self.stuck_since = -math.inf
        self.offline_at: float | None = None
        self.online_since = -math.inf
        self.queued = False


@dataclass(slots=True)
class _Pending:
    """A bucket waiting for the batched fleet models."""

    dev: _Device
    row: list[float]
    model: DeviceModel
    result: BucketResult
    when: datetime


class FaultEngine:
    """Streaming detection, diagnosis and prognosis for a fleet.

    Args:
        catalog: the catalog (kinds, faults, parts); the default catalog when None.
        config: engine settings.
        fleet_models: optional trained fleet models (see :mod:`anomaly.fleet`): per-fault
            failure levels learned from labelled fleets, and a fleet anomaly score per
            bucket, computed in batches of ``fleet_batch`` rows and shown in evidence.
        max_devices: bound on remembered devices (the least recently added is dropped).
        bucket_hook: called with (device id, kind, bucket) for every closed bucket (the
            trainer collects its rows this way).
        fleet_batch: rows per batched fleet-model call.
        model_loader: where the fleet models come from, when they live in a file: read
            now, and again at each ``sweep`` after the file changed (a rejected file
            keeps the models in use). Overrides ``fleet_models``.
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        config: EngineConfig | None = None,
        fleet_models: FleetModels | None = None,
        max_devices: int = 100_000,
        bucket_hook: BucketHook | None = None,
        fleet_batch: int = 2048,
        model_loader: FleetModelLoader | None = None,
    ) -> None:
        self.catalog = catalog or default_catalog()
        self.config = config or EngineConfig()
        self.model_loader = model_loader
        self._models_checked = -math.inf
        self.fleet_models = model_loader.current() if model_loader is not None else fleet_models
        self.max_devices = max_devices
        self.bucket_hook = bucket_hook
        self.fleet_batch = fleet_batch
        self._pending: dict[str, list[_Pending]] = {}
        self._pending_n = 0
        self._flushed_at = -math.inf
        self._devices: dict[str, _Device] = {}
        self.peers = PeerReference(max_devices=max_devices)
        self._deadlines: list[tuple[float, str]] = []
        grace = self.config.offline_grace
        self._offline_after: dict[str, float] = {
            name: grace * spec.offline_after_s for name, spec in self.catalog.kinds.items()
        }

    # ------------------------------------------------------------------ per message
    def observe(self, telemetry: Telemetry) -> list[FaultReport]:
        """Learn from and score one report; return faults newly diagnosed by it."""
        dev = self._devices.get(telemetry.device_id)
        if dev is None:
            dev = self._new_device(telemetry)
        ts = telemetry.ts.timestamp()
        if telemetry.home_id is not None:
            dev.home_id = telemetry.home_id
        self._track_time(dev, ts, telemetry.device_id)
        reports: list[FaultReport] = []
        stuck = self._check_stuck(dev, telemetry, ts)
        if stuck is not None:
            reports.append(stuck)
        model = self._model_for(dev, telemetry)
        result = model.observe(ts, telemetry.metrics, telemetry.state)
        if result is not None:
            reports.extend(self._after_bucket(dev, model, result, telemetry))
        return reports

    def _track_time(self, dev: _Device, ts: float, device_id: str) -> None:
        if ts > dev.last_ts:
            if dev.last_ts > -math.inf and ts - dev.last_ts > dev.max_gap:
                dev.max_gap = ts - dev.last_ts
            dev.last_ts = ts
        if dev.offline_at is not None:
            self._back_online(dev, ts)
        if not dev.queued:
            heapq.heappush(self._deadlines, (dev.last_ts + self._silence_limit(dev), device_id))
            dev.queued = True

    def _check_stuck(self, dev: _Device, telemetry: Telemetry, ts: float) -> FaultReport | None:
        newly_stuck = dev.stuck.observe(telemetry.metrics)
        if dev.stuck.stuck:
            dev.stuck_since = ts
        if newly_stuck and not dev.stuck_open:
            dev.stuck_open = True
            return self._stuck_report(telemetry, dev, newly_stuck[0])
        if dev.stuck_open and ts - dev.stuck_since > self.config.clear_s:
            dev.stuck_open = False
        return None

    def _after_bucket(
        self, dev: _Device, model: DeviceModel, result: BucketResult, telemetry: Telemetry
    ) -> list[FaultReport]:
        if self.bucket_hook is not None:
            self.bucket_hook(telemetry.device_id, dev.kind, result)
        reports: list[FaultReport] = []
        if result.drift:
            report = self._diagnose(dev, model, result, telemetry.ts)
            if report is not None:
                reports.append(report)
        if dev.profile.peers:
            report = self._against_peers(dev, model, result, telemetry)
            if report is not None:
                reports.append(report)
        # the fleet models also see devices still learning their own normal: a fault that
        # began before the device was first heard of shows only against the fleet
        if self.fleet_models is not None:
            reports.extend(self._queue_fleet(dev, model, result, telemetry.ts))
        return reports

    def _new_device(self, telemetry: Telemetry) -> _Device:
        kind = telemetry.kind or "unknown"
        profile: KindProfile = PROFILES.get(kind) or generic_profile(kind, telemetry.metrics)
        cfg = self.config
        per_cycle = profile.per_cycle
        stuck = StuckTracker(
            cfg.stuck_min_run_cycle if per_cycle else cfg.stuck_min_run,
            cfg.stuck_surprise,
            warm=cfg.warm_cycles if per_cycle else 12 * 24,
        )
        dev = _Device(telemetry.device_id, kind, profile, stuck)
        if len(self._devices) >= self.max_devices:
            evicted = next(iter(self._devices))
            del self._devices[evicted]
        self._devices[telemetry.device_id] = dev
        return dev

    def set_fleet_models(self, models: FleetModels | None) -> list[FaultReport]:
        """Swap the fleet models; return what the old ones still confirmed when flushed."""
        reports = self.flush()
        self.fleet_models = models
        return reports

    def _queue_fleet(
        self, dev: _Device, model: DeviceModel, result: BucketResult, when: datetime
    ) -> list[FaultReport]:
        assert self.fleet_models is not None  # noqa: S101 — checked by the caller
        row = self.fleet_models.vector(dev.kind, result.drift, result.values, result.context)
        if row is None:
            return []
        self._pending.setdefault(dev.kind, []).append(_Pending(dev, row, model, result, when))
        self._pending_n += 1
        # in batches (PERF_LIMITS.md), and at least every six telemetry hours for small fleets
        if self._pending_n >= self.fleet_batch or result.ts - self._flushed_at >= _FLUSH_S:
            return self.flush()
        return []

    def flush(self) -> list[FaultReport]:
        """Score the queued rows with the fleet models, one batch per kind.

        Returns faults the fleet classifier confirmed with these rows.
        """
        pending, self._pending, self._pending_n = self._pending, {}, 0
        if self.fleet_models is None or not pending:
            return []
        self._flushed_at = max(p.result.ts for items in pending.values() for p in items)
        reports: list[FaultReport] = []
        for kind, items in pending.items():
            rows = [p.row for p in items]
            scores = self.fleet_models.score_batch(kind, rows)
            probs = self.fleet_models.classify_batch(kind, rows)
            for item, score, prob in zip(items, scores, probs, strict=True):
                item.dev.fleet_score = score
                report = self._classified(item, prob)
                if report is not None:
                    reports.append(report)
        return reports

    def _classified(self, item: _Pending, prob: Mapping[str, float]) -> FaultReport | None:
        """Follow the fleet classifier's belief; raise a fault it holds long enough."""
        dev = item.dev
        if not prob:
            return None
        for code, p in prob.items():
            old = dev.class_probs.get(code, p)
            dev.class_probs[code] = old + _CLASS_ALPHA * (p - old)
        code, p = max(
            ((c, v) for c, v in dev.class_probs.items() if c != _HEALTHY),
            key=lambda cv: cv[1],
            default=("", 0.0),
        )
        for other in list(dev.clf_counts):
            if other != code or p < self.config.classifier_probability:
                dev.clf_counts[other] = max(0.0, dev.clf_counts[other] - 0.5)
        sig = next((s for s in dev.signatures if s.code == code), None)
        if sig is None or p < self.config.classifier_probability:
            return None
        if dev.open:
            _still_ill(dev, item.result.ts)
            return None
        count = dev.clf_counts[code] = dev.clf_counts.get(code, 0.0) + 1.0
        needed = self.config.confirm_cycles if item.model.per_cycle else self.config.confirm
        if count < needed:
            return None
        dev.open[code] = item.result.ts
        extra = {"detector": "fleet_classifier", "probability": round(p, 3)}
        return self._fault_report(dev, item.model, Match(sig, p), item.result, item.when, extra)

    def _model_for(self, dev: _Device, telemetry: Telemetry) -> DeviceModel:
        key = dev.profile.split_key
        split = telemetry.state.get(key) if key is not None else None
        model = dev.models.get(split)
        if model is None:
            if len(dev.models) >= _MAX_SPLITS:
                return next(iter(dev.models.values()))
            model = dev.models[split] = DeviceModel(dev.profile, self.config)
        return model

    # ------------------------------------------------------------------ diagnosis
    def _against_peers(
        self, dev: _Device, model: DeviceModel, result: BucketResult, telemetry: Telemetry
    ) -> FaultReport | None:
        """Diagnose from the device's deviation from its peers (same model and mode)."""
        profile = dev.profile
        key = profile.peer_mode
        whole = (dev.kind, telemetry.model, None)
        split = (dev.kind, telemetry.model, telemetry.state.get(key)) if key else whole
        group_of = {n: split if n in profile.peer_split else whole for n in profile.peers}
        by_group: dict[tuple[str, str | None, StateValue | None], dict[str, float]] = {}
        for n, group in group_of.items():
            if n in result.values:
                by_group.setdefault(group, {})[n] = result.values[n]
        if not by_group:
            return None
        age = result.context.get(profile.peer_age) if profile.peer_age else None
        aged = profile.peer_aged
        # a machine that washes twice a month cannot wait for three cycles to have a
        # level; two that agree will do (one far out may be a half-closed tap)
        scored = 2 if profile.per_cycle else None
        deviation: dict[str, float] = {}
        for group, values in by_group.items():
            deviation.update(
                self.peers.update(group, dev.device_id, values, age=age, aged=aged, scored=scored)
            )
        if not deviation:
            return None
        cfg = self.config
        candidates = [s for s in dev.signatures if all(n in profile.peers for n in s.required)]
        matches = match_signatures(
            candidates, deviation, cfg.peer_threshold, frozenset(dev.stuck.stuck)
        )
        step = 1.0
        if matches:
            # a device far outside its peers needs fewer cycles to convince: a
            # washing machine runs a few times a week, and a fill time twenty peer
            # spreads long is not noise (the level is a median, so one odd cycle
            # cannot do this alone)
            top = matches[0].signature
            needed = cfg.peer_threshold * top.threshold_scale
            strength = min(abs(deviation[n]) for n in top.required) / needed
            step = min(max(strength, 1.0), _MAX_PEER_STEP)
        best = self._open_episode(dev, dev.peer_counts, matches, model, result.ts, step)
        if best is None:
            return None
        extra: dict[str, Any] = {
            "detector": "peer_reference",
            "peer_threshold": cfg.peer_threshold,
            "peer_deviation": {
                n: round(deviation[n], 2) for n in best.signature.features if n in deviation
            },
            "peer_level": {
                n: round(level, 3)
                for n in best.signature.features
                if n in deviation
                and (level := self.peers.peer_level(group_of[n], n, age if n in aged else None))
                is not None
            },
        }
        return self._fault_report(dev, model, best, result, telemetry.ts, extra)

    def _diagnose(
        self, dev: _Device, model: DeviceModel, result: BucketResult, when: datetime
    ) -> FaultReport | None:
        cfg = self.config
        excluded = frozenset(dev.stuck.stuck)
        matches = match_signatures(dev.signatures, result.drift, cfg.threshold, excluded)
        # episodes close here, on the device's own drift: a sparse appliance that has not
        # run for two weeks has not been repaired, so the peer path does not close them
        self._expire(dev, result.ts)
        best = self._open_episode(dev, dev.counters, matches, model, result.ts)
        if best is None:
            return None
        return self._fault_report(dev, model, best, result, when)

    def _open_episode(
        self,
        dev: _Device,
        counts: dict[str, float],
        matches: list[Match],
        model: DeviceModel,
        ts: float,
        step: float = 1.0,
    ) -> Match | None:
        """Count one bucket's best match; return it when it opens a new episode.

        The leaky counter rises by ``step`` (one bucket's worth) for the best match and
        falls by half a bucket for every other code; while the device has an open
        episode nothing new is raised and every open episode goes on (see
        :func:`_still_ill`).
        """
        if not matches:
            _decay(counts, None)
            return None
        best = matches[0]
        code = best.signature.code
        _decay(counts, code)
        count = counts[code] = counts.get(code, 0.0) + step
        if dev.open:
            _still_ill(dev, ts)
            return None
        cfg = self.config
        if best.signature.sudden:
            needed = cfg.confirm_sudden
        else:
            needed = cfg.confirm_cycles if model.per_cycle else cfg.confirm
        if count < needed:
            return None
        dev.open[code] = ts
        return best

    def _expire(self, dev: _Device, ts: float) -> None:
        """Close the episodes that have not matched for ``clear_s``."""
        for code, last in list(dev.open.items()):
            if ts - last > self.config.clear_s:
                del dev.open[code]

    def _fault_report(
        self,
        dev: _Device,
        model: DeviceModel,
        match: Match,
        result: BucketResult,
        when: datetime,
        extra: Mapping[str, Any] | None = None,
    ) -> FaultReport:
        sig = match.signature
        spec = self.catalog.fault(sig.code)
        now = when.timestamp()
        names = model.names
        key_i = names.index(sig.key)
        direction = sig.required.get(sig.key, sig.support.get(sig.key, 1)) or 1
        if sig.required.get(sig.key) == 0:
            direction = 1 if result.drift.get(sig.key, 0.0) >= 0 else -1
        trend: list[tuple[float, float]] = []
        for snap in reversed(model.history):
            value = direction * snap.drift[key_i]
            if not math.isfinite(value) or value < 1.0:
                break
            trend.append((snap.ts, value))
        trend.reverse()
        trend.append((now, direction * result.drift.get(sig.key, 0.0)))
        onset = trend[0][0] - _DAY
        evidence: dict[str, Any] = {
            "detector": "context_drift",
            "threshold": self.config.threshold,
            "match_score": round(match.score, 2),
            "drift": {n: round(result.drift[n], 2) for n in sig.features if n in result.drift},
            "values": {n: round(result.values[n], 3) for n in sig.features if n in result.values},
            "context": {k: round(v, 2) for k, v in result.context.items()},
            "onset_estimate": _iso(onset),
        }
        if math.isfinite(dev.fleet_score):
            evidence["fleet_score"] = round(dev.fleet_score, 3)
        evidence.update(extra or {})
        predicted: float | None = None
        if sig.sudden:
            severity = Severity.HIGH
        else:
            level = self._failure_level(sig.code)
            prog = estimate_failure(now, trend, level, spec.typical_days, onset)
            predicted = prog.failure_ts
            days_left = (predicted - now) / _DAY
            severity = _severity(days_left)
            evidence["trend"] = {
                "feature": sig.key,
                "method": prog.method,
                "slope_per_day": None
                if prog.slope_per_day is None
                else round(prog.slope_per_day, 3),
                "failure_level": level,
                "failure_earliest": _iso(prog.low_ts),
                "failure_latest": _iso(prog.high_ts),
            }
        evidence["series"] = {
            "feature": sig.key,
            "points": [
                [_iso(s.ts), round(s.values[key_i], 3)]
                for s in list(model.history)[-_SERIES_DAYS:]
                if math.isfinite(s.values[key_i])
            ],
        }
        logger.info("fault %s diagnosed on %s", sig.code, dev.device_id)
        return FaultReport(
            device_id=dev.device_id,
            fault_code=sig.code,
            detected_at=when,
            severity=severity,
            parts=spec.parts,
            predicted_failure_at=(
                datetime.fromtimestamp(predicted, UTC) if predicted is not None else None
            ),
            evidence=evidence,
            home_id=dev.home_id,
        )

    def _failure_level(self, code: str) -> float:
        if self.fleet_models is not None and code in self.fleet_models.failure_levels:
            return self.fleet_models.failure_levels[code]
        return _DEFAULT_FAILURE_LEVEL

    def _stuck_report(self, telemetry: Telemetry, dev: _Device, metric: str) -> FaultReport:
        spec = self.catalog.fault(SENSOR_STUCK)
        run = dev.stuck.run_of(metric)
        return FaultReport(
            device_id=telemetry.device_id,
            fault_code=SENSOR_STUCK,
            detected_at=telemetry.ts,
            severity=Severity.LOW,
            parts=spec.parts,
            evidence={
                "detector": "frozen_signal",
                "metric": metric,
                "value": telemetry.metrics.get(metric),
                "repeats": run,
                "repeat_probability": round(dev.stuck.repeat_probability(metric), 4),
            },
            home_id=dev.home_id,
        )

    # ------------------------------------------------------------------ silence
    def sweep(self, now: datetime) -> list[FaultReport]:
        """Raise DEVICE_OFFLINE for devices silent past their kind's ``offline_after_s``.

        Also picks up changed fleet models from ``model_loader``.
        """
        reports: list[FaultReport] = []
        if self.model_loader is not None and now.timestamp() - self._models_checked >= 10.0:
            self._models_checked = now.timestamp()
            models = self.model_loader.current()
            if models is not self.fleet_models:
                reports.extend(self.set_fleet_models(models))
        deadlines = self._deadlines
        if not deadlines:
            return reports
        t = now.timestamp()
        if deadlines[0][0] > t:
            return reports
        while deadlines and deadlines[0][0] <= t:
            _, device_id = heapq.heappop(deadlines)
            dev = self._devices.get(device_id)
            if dev is None:
                continue
            offline_after = self._silence_limit(dev)
            deadline = dev.last_ts + offline_after
            if deadline > t:
                heapq.heappush(deadlines, (deadline, device_id))
                continue
            dev.queued = False
            if dev.offline_at is None:
                dev.offline_at = t
                # a device that flaps (back for less than offline_clear_s) stays one episode
                if dev.last_ts - dev.online_since >= self.config.offline_clear_s:
                    reports.append(self._offline_report(device_id, dev, now, offline_after))
        return reports

    def _silence_limit(self, dev: _Device) -> float:
        limit = self._offline_after.get(dev.kind, 6 * 3600.0)
        if dev.profile.per_cycle:
            cfg = self.config
            limit = max(limit, cfg.offline_min_cycle_s, cfg.offline_gap_factor * dev.max_gap)
        return limit

    def _back_online(self, dev: _Device, ts: float) -> None:
        dev.offline_at = None
        dev.online_since = ts

    def _offline_report(
        self, device_id: str, dev: _Device, now: datetime, offline_after: float
    ) -> FaultReport:
        spec = self.catalog.fault(DEVICE_OFFLINE)
        return FaultReport(
            device_id=device_id,
            fault_code=DEVICE_OFFLINE,
            detected_at=now,
            severity=Severity.MEDIUM,
            parts=spec.parts,
            evidence={
                "detector": "silence",
                "last_seen": _iso(dev.last_ts),
                "silent_s": round(now.timestamp() - dev.last_ts),
                "offline_after_s": offline_after,
            },
            home_id=dev.home_id,
        )


def _decay(counts: dict[str, float], keep: str | None) -> None:
    """Every leaky counter but ``keep``'s falls by half a bucket."""
    for code in list(counts):
        if code != keep:
            counts[code] = max(0.0, counts[code] - 0.5)


def _still_ill(dev: _Device, ts: float) -> None:
    """A catalog signature still matches: every open episode goes on.

    A fault changes its face as it progresses (a leaking gasket ends with a warm freezer
    and an iced coil, as a dead defrost does): while the device keeps matching any
    signature it is one visit with one diagnosis, not a new ticket per face.
    """
    for code in dev.open:
        dev.open[code] = ts


def _severity(days_left: float) -> Severity:
    if days_left <= 2:
        return Severity.CRITICAL
    if days_left <= 7:
        return Severity.HIGH
    if days_left <= 21:
        return Severity.MEDIUM
    return Severity.LOW
