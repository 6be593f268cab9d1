from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cloud_api.pages.charts import TrendPoint, render_evidence_svg, render_trend_svg
from cloud_api.pages.evidence import parse_evidence, parse_time

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _ts(i: int) -> datetime:
    return T0 + timedelta(minutes=30 * i)


def synthetic_evidence() -> dict[str, Any]:
    return {
        "metrics": {
            "supply_air_temp_c": [[_ts(i).isoformat(), 14 - 0.02 * i] for i in range(96)],
            "evaporator_temp_c": {
                "ts": [_ts(i).timestamp() for i in range(96)],
                "values": [8 - 0.03 * i for i in range(96)],
            },
            "indoor_temp_c": 26.1,
        },
        "scores": [{"ts": _ts(i).isoformat(), "score": min(1.0, i / 90)} for i in range(96)],
        "threshold": 0.8,
        "anomaly_from": _ts(70).isoformat(),
        "detected_at": _ts(95).isoformat(),
        "trend": {
            "metric": "supply_air_temp_c",
            "start": _ts(70).isoformat(),
            "start_value": 12.6,
            "slope_per_day": -0.9,
            "failure_level": 8.0,
        },
        "predicted_failure_at": (_ts(95) + timedelta(days=4)).isoformat(),
        "detector": "fleet_residual",
    }


def test_parse_time_accepts_rfc3339_and_epoch_seconds_and_milliseconds() -> None:
    expected = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert parse_time("2026-11-23T08:00:00Z") == expected
    assert parse_time(expected.timestamp()) == expected
    assert parse_time(expected.timestamp() * 1000) == expected
    assert parse_time("not a time") is None
    assert parse_time(math.nan) is None
    assert parse_time(True) is None


def test_evidence_reads_pairs_objects_and_parallel_arrays() -> None:
    view = parse_evidence(synthetic_evidence())
    names = {s.name for s in view.series}
    assert names == {"supply_air_temp_c", "evaporator_temp_c"}
    assert all(len(s.values) == 96 for s in view.series)
    assert view.scores is not None
    assert max(view.scores.values) == 1.0
    assert view.threshold == 0.8
    assert view.facts["indoor_temp_c"] == "26.1"
    assert view.facts["detector"] == "fleet_residual"


def test_trend_from_slope_reaches_the_predicted_failure() -> None:
    view = parse_evidence(synthetic_evidence())
    assert view.trend is not None
    (start, _v0), (end, v1) = view.trend.points
    assert end == view.predicted_failure_at
    days = (end - start).total_seconds() / 86400
    assert math.isclose(v1, 12.6 - 0.9 * days)
    assert view.trend.failure_level == 8.0


def test_garbage_evidence_yields_nothing_to_plot_instead_of_an_error() -> None:
    for junk in (None, {}, {"metrics": "x"}, {"metrics": {"a": [["bad", "data"]]}}, {"trend": 3}):
        view = parse_evidence(junk)
        assert not view.is_plottable
        assert render_evidence_svg(view) is None


def test_ticket_times_fill_in_when_the_evidence_lacks_them() -> None:
    predicted = T0 + timedelta(days=9)
    view = parse_evidence({"metrics": {}}, detected_at=T0, predicted_failure_at=predicted)
    assert view.detected_at == T0
    assert view.predicted_failure_at == predicted


def test_evidence_chart_is_svg_marking_detection_trend_and_failure() -> None:
    svg = render_evidence_svg(parse_evidence(synthetic_evidence()))
    assert svg is not None
    root = ET.fromstring(svg)  # noqa: S314 — our own renderer's output
    assert root.tag.endswith("svg")
    # Two panels (metrics + anomaly score), each an axes group.
    assert len(re.findall(r'id="axes_\d+"', svg)) == 2
    # Detection and predicted failure are vertical lines; the trend is dashed.
    assert svg.count('id="line2d_') > 6
    assert "stroke-dasharray" in svg


def test_trend_chart_marks_weeks_below_target() -> None:
    weeks = [
        TrendPoint(date(2026, 10, 5) + timedelta(weeks=k), v)
        for k, v in enumerate([0.97, 0.9, None, 0.99])
    ]
    svg = render_trend_svg(weeks, target=0.95)
    assert svg is not None
    assert "PathCollection" in svg or 'id="PathCollection_' in svg
    assert render_trend_svg([TrendPoint(date(2026, 10, 5), None)], target=0.95) is None


def context_drift_evidence() -> dict[str, Any]:
    """The shape anomaly/engine.py writes for a gradual fault (context_drift detector)."""
    days = [T0 - timedelta(days=13 - d) for d in range(14)]
    return {
        "detector": "context_drift",
        "threshold": 3.0,
        "match_score": 0.91,
        "drift": {"supply_delta_c": -4.2, "evaporator_temp_c": -3.1},
        "values": {"supply_delta_c": -13.9},
        "context": {"outdoor_temp_c": 31.2},
        "onset_estimate": days[6].isoformat(),
        "trend": {
            "feature": "supply_delta_c",
            "method": "linear",
            "slope_per_day": 0.35,
            "failure_level": 8.0,
            "failure_earliest": (T0 + timedelta(days=9)).isoformat(),
            "failure_latest": (T0 + timedelta(days=14)).isoformat(),
        },
        "series": {
            "feature": "supply_delta_c",
            "points": [[d.isoformat(), -10.0 - 0.3 * i] for i, d in enumerate(days)],
        },
    }


def test_context_drift_evidence_draws_feature_series_and_deviation_trend_to_failure() -> None:
    predicted = T0 + timedelta(days=11)
    view = parse_evidence(context_drift_evidence(), detected_at=T0, predicted_failure_at=predicted)
    [series] = view.series
    assert series.name == "supply_delta_c"
    assert len(series.values) == 14
    assert view.anomaly_from == T0 - timedelta(days=7)
    assert view.trend is not None
    assert not view.trend.on_metric
    assert view.trend.points == ((T0, 4.2), (predicted, 8.0))
    assert view.trend.window is not None
    assert view.facts["drift.supply_delta_c"] == "-4.2"
    assert view.facts["detector"] == "context_drift"
    svg = render_evidence_svg(view)
    assert svg is not None
    assert len(re.findall(r'id="axes_\d+"', svg)) == 2


def test_stuck_sensor_evidence_has_facts_but_no_chart() -> None:
    view = parse_evidence(
        {"detector": "frozen_signal", "metric": "tds_out_ppm", "value": 12.0, "repeats": 96}
    )
    assert not view.is_plottable
    assert view.facts["repeats"] == "96"
