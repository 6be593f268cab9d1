"""What the ``train`` and ``eval`` commands do, as functions."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from aftercare.catalog import default_catalog
from anomaly.device import BucketResult
from anomaly.engine import FaultEngine
from anomaly.evaluation import EvalSummary, evaluate
from anomaly.fault_report import FaultReport
from anomaly.fleet import FleetModels, fit_fleet_models
from anomaly.recording import read_recording
from anomaly.signatures import signatures_for

__all__ = ["evaluate_directory", "format_summary", "run_engine", "train"]


def run_engine(
    path: Path, engine: FaultEngine, first_seen: dict[str, float] | None = None
) -> tuple[list[FaultReport], tuple[float, float]]:
    """Feed a recording to ``engine`` with the telemetry time as the clock.

    Returns the reports and the (first, last) telemetry time; fills ``first_seen``
    (device id -> first report time) when given.
    """
    reports: list[FaultReport] = []
    first = last = None
    seen = first_seen if first_seen is not None else {}
    with path.open("rb") as src:
        for telemetry in read_recording(src):
            reports.extend(engine.observe(telemetry))
            ts = telemetry.ts.timestamp()
            if ts < seen.get(telemetry.device_id, math.inf):
                seen[telemetry.device_id] = ts
            first = ts if first is None else first
            if last is None or telemetry.ts.timestamp() > last:
                last = ts
                reports.extend(engine.sweep(telemetry.ts))
    reports.extend(engine.flush())
    return reports, (first or 0.0, last or 0.0)


def _iter_tickets(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as src:
        for line in src:
            if line.strip():
                yield orjson.loads(line)


def _window(path: Path, first_seen: dict[str, float]) -> tuple[float, float]:
    first = last = None
    with path.open("rb") as src:
        for line in src:
            if not line.strip():
                continue
            body = orjson.loads(line)
            ts = datetime.fromisoformat(str(body["ts"]).replace("Z", "+00:00")).timestamp()
            device = str(body.get("device_id"))
            if ts < first_seen.get(device, math.inf):
                first_seen[device] = ts
            first = ts if first is None else min(first, ts)
            last = ts if last is None else max(last, ts)
    return first or 0.0, last or 0.0


def evaluate_directory(
    data: Path, tickets: Path | None = None, models: Path | None = None
) -> EvalSummary:
    """Evaluate on a ``sim export`` directory (running the engine unless tickets given)."""
    labels = json.loads((data / "labels.json").read_text())
    telemetry = data / "telemetry.jsonl"
    first_seen: dict[str, float] = {}
    if tickets is not None:
        window = _window(telemetry, first_seen)
        return evaluate(labels, _iter_tickets(tickets), default_catalog(), window, first_seen)
    fleet = FleetModels.load(models) if models is not None else None
    reports, window = run_engine(telemetry, FaultEngine(fleet_models=fleet), first_seen)
    rows = (r.to_json() for r in reports)
    return evaluate(labels, rows, default_catalog(), window, first_seen)


def format_summary(summary: EvalSummary) -> str:
    """A readable table."""
    cols = ["episodes", "unseen", "recall", "recall_all", "detected", "lead_days",
            "delay_days", "right_fault", "right_part", "duplicates"]  # fmt: skip
    lines = [f"{'fault':<26}" + "".join(f"{c:>12}" for c in cols)]
    for row in [*summary.rows, summary.gradual, summary.overall]:
        d = row.as_dict()
        cells = "".join(f"{'-' if d[c] is None else d[c]:>12}" for c in cols)
        lines.append(f"{row.name:<26}{cells}")
    lines.append(
        f"false tickets on healthy devices: {summary.false_tickets} over "
        f"{summary.healthy_device_days:.0f} device-days = "
        f"{summary.false_per_1000_device_days:.3f} per 1000 device-days"
    )
    if summary.false_by_code:
        lines.append(
            "false tickets by code: "
            + ", ".join(f"{code} {n}" for code, n in sorted(summary.false_by_code.items()))
        )
    return "\n".join(lines)


def train(
    input_path: Path, out: Path, labels: Mapping[str, Any] | None, *, seed: int = 0
) -> tuple[Path, dict[str, Any]]:
    """Replay fleet telemetry, collect bucket rows and fit the fleet models."""
    collector = _Collector(labels)
    run_engine(input_path, FaultEngine(bucket_hook=collector))
    drifts = _failure_drifts(labels, collector.last_key)
    models = fit_fleet_models(collector.healthy, drifts, labelled=collector.labelled, seed=seed)
    path = models.save(out)
    return path, {
        "rows": {k: len(v) for k, v in collector.healthy.items()},
        "labelled_rows": {k: len(v[0]) for k, v in collector.labelled.items()},
        "classifiers": sorted(models.classifiers),
        "failure_levels": models.failure_levels,
    }


_HEALTHY = "healthy"
_GENERIC = ("SENSOR_STUCK", "DEVICE_OFFLINE")
# the share of a gradual fault's course (before its failure) in which it is visible
_VISIBLE = 0.6
_KEEP_HEALTHY = 3


def _epoch(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class _Collector:
    """The trainer's bucket hook: rows for the forest, labelled rows for the classifier."""

    def __init__(self, labels: Mapping[str, Any] | None) -> None:
        self.labels = labels
        self.shape = FleetModels()
        self.healthy: dict[str, list[list[float]]] = defaultdict(list)
        self.labelled: dict[str, tuple[list[list[float]], list[str]]] = {}
        self.last_key: dict[str, tuple[float, float]] = {}
        self.failures = _failure_times(labels)
        self.count = 0

    def __call__(self, device: str, kind: str, bucket: BucketResult) -> None:
        row = self.shape.vector(kind, bucket.drift, bucket.values, bucket.context)
        if row is None:
            return
        label = self._label(device, bucket.ts)
        self.count += 1
        if label == _HEALTHY and self.count % _KEEP_HEALTHY:
            return
        if (label == _HEALTHY or self.labels is None) and bucket.drift:
            self.healthy[kind].append(row)
        if label is not None and self.labels is not None:
            rows, classes = self.labelled.setdefault(kind, ([], []))
            rows.append(row)
            classes.append(label)
        failure = self.failures.get(device)
        if failure is not None and bucket.ts <= failure[1]:
            key = bucket.drift.get(failure[0])
            if key is not None:
                self.last_key[device] = (bucket.ts, key)

    def _label(self, device: str, ts: float) -> str | None:
        """The bucket's class, or None when it is ambiguous (kept out of training)."""
        if self.labels is None:
            return _HEALTHY
        lab = self.labels.get(device)
        if lab is None:
            return None
        code, onset = lab.get("fault_code"), _epoch(lab.get("onset"))
        if code is None or onset is None or ts < onset:
            return _HEALTHY
        if code in _GENERIC:
            return None
        if lab.get("sudden"):
            return str(code)
        failure = _epoch(lab.get("failure_at"))
        if failure is None:
            return None
        visible = failure - _VISIBLE * (failure - onset)
        return str(code) if visible <= ts <= failure + 3 * 86400 else None


def _failure_times(labels: Mapping[str, Any] | None) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for device, lab in (labels or {}).items():
        code, failure = lab.get("fault_code"), lab.get("failure_at")
        if code is None or failure is None:
            continue
        sig = next((s for s in signatures_for(lab.get("kind", "")) if s.code == code), None)
        if sig is not None and not sig.sudden:
            out[device] = (
                sig.key,
                datetime.fromisoformat(failure.replace("Z", "+00:00")).timestamp(),
            )
    return out


def _failure_drifts(
    labels: Mapping[str, Any] | None, last_key: Mapping[str, tuple[float, float]]
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for device, (_, drift) in last_key.items():
        lab = (labels or {})[device]
        sig = next(s for s in signatures_for(lab["kind"]) if s.code == lab["fault_code"])
        direction = sig.required.get(sig.key, sig.support.get(sig.key, 1)) or 1
        value = abs(drift) if sig.required.get(sig.key) == 0 else direction * drift
        out[lab["fault_code"]].append(value)
    return out
