"""Reading a ticket's evidence JSON into plottable series, whatever shape it arrived in.

The evidence is what the gateway's detectors saw (``FaultReport.evidence``): metric
series around the detection, anomaly scores, the trend towards the failure threshold
and the predicted failure. It crosses a network and outlives detector versions, so the
reader accepts the shapes a detector is likely to write (lists of ``[ts, value]`` pairs,
lists of ``{"ts", "value"}`` objects, or parallel ``ts``/``values`` arrays, timestamps as
RFC 3339 or epoch seconds/milliseconds) and skips what it cannot read rather than failing
the whole ticket page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["EvidenceView", "Series", "TrendLine", "parse_evidence", "parse_time"]

_TIME_KEYS: Final = ("ts", "t", "time", "timestamp", "at")
_VALUE_KEYS: Final = ("value", "v", "y", "score")
_TIMES_KEYS: Final = ("ts", "t", "times", "timestamps", "time")
_VALUES_KEYS: Final = ("values", "v", "y", "value", "scores")
_SERIES_KEYS: Final = ("series", "metrics", "telemetry", "window", "readings")
_SCORE_KEYS: Final = ("scores", "score_series", "anomaly_scores", "score")
_ONSET_KEYS: Final = ("anomaly_from", "onset", "onset_estimate", "anomaly_start")
# Epoch numbers above this are milliseconds (year 2286 in seconds).
_MS_THRESHOLD: Final = 10_000_000_000


@dataclass(frozen=True, slots=True)
class Series:
    """One named time series."""

    name: str
    times: tuple[datetime, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TrendLine:
    """The fitted trend towards the failure level.

    Attributes:
        metric: the metric or feature the trend follows.
        points: the line (at least two points).
        failure_level: where the functional failure is expected, in the line's units.
        on_metric: True when the line is in the metric's own units (drawn over its
            series); False when it is a deviation from normal (drawn in the lower panel).
        window: the earliest and latest failure time, when the prognosis gives a range.
    """

    metric: str | None
    points: tuple[tuple[datetime, float], ...]
    failure_level: float | None
    on_metric: bool = False
    window: tuple[datetime, datetime] | None = None


@dataclass(frozen=True, slots=True)
class EvidenceView:
    """What the evidence chart draws."""

    series: tuple[Series, ...] = ()
    scores: Series | None = None
    threshold: float | None = None
    anomaly_from: datetime | None = None
    detected_at: datetime | None = None
    predicted_failure_at: datetime | None = None
    trend: TrendLine | None = None
    facts: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_plottable(self) -> bool:
        """Whether there is at least one series or a trend to draw."""
        return bool(self.series) or self.scores is not None or self.trend is not None


def parse_time(raw: object) -> datetime | None:
    """An aware UTC datetime from RFC 3339 text or epoch seconds/milliseconds, else None."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            return None
        secs = raw / 1000 if abs(raw) > _MS_THRESHOLD else raw
        try:
            return datetime.fromtimestamp(secs, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return None


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def _first(mapping: Mapping[str, Any], keys: Sequence[str]) -> Any:  # noqa: ANN401 — JSON value
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def _points(raw: object) -> list[tuple[datetime, float]]:
    """Pairs from any of the accepted series shapes, sorted by time."""
    pairs: list[tuple[datetime, float]] = []
    if isinstance(raw, Mapping):
        if "points" in raw:
            return _points(raw["points"])
        times, values = _first(raw, _TIMES_KEYS), _first(raw, _VALUES_KEYS)
        if isinstance(times, list) and isinstance(values, list):
            for t_item, v_item in zip(times, values, strict=False):
                t, v = parse_time(t_item), _number(v_item)
                if t is not None and v is not None:
                    pairs.append((t, v))
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, list | tuple) and len(item) >= 2:
                t_raw: object = item[0]
                v_raw: object = item[1]
            elif isinstance(item, Mapping):
                t_raw, v_raw = _first(item, _TIME_KEYS), _first(item, _VALUE_KEYS)
            else:
                continue
            t, v = parse_time(t_raw), _number(v_raw)
            if t is not None and v is not None:
                pairs.append((t, v))
    pairs.sort(key=lambda p: p[0])
    return pairs


def _series(name: str, raw: object) -> Series | None:
    pairs = _points(raw)
    if not pairs:
        return None
    return Series(name, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))


def _metric_series(evidence: Mapping[str, Any]) -> tuple[list[Series], dict[str, str]]:
    """Series per metric, and the scalar facts (a snapshot value per metric) beside them."""
    found: list[Series] = []
    facts: dict[str, str] = {}
    for key in _SERIES_KEYS:
        block = evidence.get(key)
        if isinstance(block, Mapping) and "points" in block:
            # One series: {"feature": name, "points": [[ts, value], ...]}.
            name = _first(block, ("feature", "metric", "name")) or key
            series = _series(str(name), block["points"])
            if series is not None:
                found.append(series)
        elif isinstance(block, Mapping):
            for name, raw in block.items():
                value = _number(raw)
                if value is not None:
                    facts[str(name)] = f"{value:g}"
                    continue
                series = _series(str(name), raw)
                if series is not None:
                    found.append(series)
        elif isinstance(block, list):
            for item in block:
                if isinstance(item, Mapping):
                    name = _first(item, ("metric", "name", "key"))
                    series = _series(str(name or key), item)
                    if series is not None:
                        found.append(series)
    return found, facts


def _scores(evidence: Mapping[str, Any]) -> Series | None:
    for key in _SCORE_KEYS:
        raw = evidence.get(key)
        if isinstance(raw, Mapping) and not any(k in raw for k in (*_TIMES_KEYS, "points")):
            # Scores per detector or per metric: plot the highest series only.
            candidates = [s for n, r in raw.items() if (s := _series(str(n), r)) is not None]
            if candidates:
                return max(candidates, key=lambda s: max(s.values))
            continue
        series = _series("score", raw)
        if series is not None:
            return series
    return None


def _trend(
    evidence: Mapping[str, Any],
    series_names: set[str],
    detected: datetime | None,
    predicted: datetime | None,
) -> TrendLine | None:
    raw = evidence.get("trend")
    if not isinstance(raw, Mapping):
        return None
    metric_raw = _first(raw, ("metric", "feature", "name"))
    metric = str(metric_raw) if metric_raw else None
    level = _number(_first(raw, ("failure_level", "failure_value", "threshold", "limit")))
    early = parse_time(_first(raw, ("failure_earliest", "earliest")))
    late = parse_time(_first(raw, ("failure_latest", "latest")))
    window = (early, late) if early is not None and late is not None else None
    points = _points(raw.get("points", raw.get("fit", [])))
    if not points:
        points = _line_from_slope(raw, predicted)
    if points:
        on_metric = metric in series_names
        return TrendLine(metric, tuple(points), level, on_metric=on_metric, window=window)
    # No line given: draw the deviation now (evidence "drift") to the failure level at the
    # predicted failure; the prognosis extrapolated exactly that.
    drift = evidence.get("drift")
    now_value = _number(drift.get(metric)) if isinstance(drift, Mapping) and metric else None
    if now_value is None or level is None or detected is None or predicted is None:
        return None
    line = ((detected, abs(now_value)), (predicted, level))
    return TrendLine(metric, line, level, on_metric=False, window=window)


def _line_from_slope(
    raw: Mapping[str, Any], predicted: datetime | None
) -> list[tuple[datetime, float]]:
    """Two points of a line given as a slope per day through a start value."""
    start = parse_time(_first(raw, ("start", "from", "since", "at", "origin")))
    level0 = _number(_first(raw, ("start_value", "value", "intercept", "level")))
    slope = _number(_first(raw, ("slope_per_day", "slope_per_d", "slope")))
    if start is None or level0 is None or slope is None:
        return []
    end = predicted or start + timedelta(days=7)
    days = (end - start).total_seconds() / 86400
    return [(start, level0), (end, level0 + slope * days)]


def parse_evidence(
    evidence: Mapping[str, Any] | None,
    *,
    detected_at: datetime | None = None,
    predicted_failure_at: datetime | None = None,
) -> EvidenceView:
    """Read what can be plotted from an evidence object.

    Args:
        evidence: the ticket's evidence JSON (any shape; unknown parts are ignored).
        detected_at: the ticket's detection time, used when the evidence lacks one.
        predicted_failure_at: the ticket's predicted failure, likewise.
    """
    if not isinstance(evidence, Mapping):
        return EvidenceView(detected_at=detected_at, predicted_failure_at=predicted_failure_at)
    predicted = parse_time(evidence.get("predicted_failure_at")) or predicted_failure_at
    series, facts = _metric_series(evidence)
    facts.update(_scalar_facts(evidence, facts))
    detected = parse_time(evidence.get("detected_at")) or detected_at
    return EvidenceView(
        series=tuple(series),
        scores=_scores(evidence),
        threshold=_number(_first(evidence, ("threshold", "score_threshold"))),
        anomaly_from=parse_time(_first(evidence, _ONSET_KEYS)),
        detected_at=detected,
        predicted_failure_at=predicted,
        trend=_trend(evidence, {s.name for s in series}, detected, predicted),
        facts=facts,
    )


def _scalar_facts(evidence: Mapping[str, Any], seen: Mapping[str, str]) -> dict[str, str]:
    """Top-level scalars and one level of nested scalars ("drift.supply_air_temp_c")."""
    facts: dict[str, str] = {}
    for key, raw in evidence.items():
        if key in seen or key in _SERIES_KEYS or key in _SCORE_KEYS:
            continue
        if isinstance(raw, str | int | float) and not isinstance(raw, bool):
            facts[str(key)] = f"{raw:g}" if isinstance(raw, float) else str(raw)
        elif isinstance(raw, Mapping):
            for sub, value in raw.items():
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    text = f"{value:g}" if isinstance(value, float) else str(value)
                    facts[f"{key}.{sub}"] = text
    return facts
