"""``aftercare anomaly score`` on CSV series."""

from __future__ import annotations

import csv
import io
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftercare.cli import app
from anomaly.csv_scoring import score_csv

START = datetime(2026, 1, 1, tzinfo=UTC)


def _series(n: int = 2000, seed: int = 1) -> list[float]:
    """Hourly load with a daily cycle, a slow trend and noise."""
    rng = random.Random(seed)
    return [
        20 + 0.002 * i + 6 * math.sin(2 * math.pi * i / 24) + rng.gauss(0, 0.5) for i in range(n)
    ]


def _csv(values: list[float | str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "value"])
    for i, v in enumerate(values):
        writer.writerow([(START + timedelta(hours=i)).isoformat(), v])
    return out.getvalue()


def _scores(values: list[float | str]) -> list[float]:
    dst = io.StringIO()
    score_csv(io.StringIO(_csv(values)), dst)
    rows = list(csv.DictReader(io.StringIO(dst.getvalue())))
    return [float(r["anomaly_score"]) for r in rows]


def _normal_level(scores: list[float], start: int, end: int) -> float:
    window = sorted(scores[start:end])
    return window[int(0.99 * len(window))]


@pytest.mark.parametrize("kind", ["spike", "level_shift", "frozen", "drift", "pattern"])
def test_anomalies_score_above_normal(kind: str) -> None:
    values: list[float | str] = list(_series())
    at = 1500
    if kind == "spike":
        values[at] = float(values[at]) + 15
        span = range(at, at + 1)
    elif kind == "level_shift":
        values[at:] = [float(v) + 8 for v in values[at:]]
        span = range(at, at + 24)
    elif kind == "frozen":
        values[at : at + 48] = [values[at]] * 48
        span = range(at + 5, at + 48)
    elif kind == "drift":
        values[at:] = [float(v) + 0.05 * (i + 1) for i, v in enumerate(values[at:])]
        span = range(at + 100, at + 300)
    else:  # the daily peak moves by half a day
        values[at:] = [
            float(v) - 12 * math.sin(2 * math.pi * (at + i) / 24) for i, v in enumerate(values[at:])
        ]
        span = range(at, at + 48)
    scores = _scores(values)
    assert max(scores[i] for i in span) > _normal_level(scores, 300, at) + 0.1


def test_scores_are_in_unit_interval_and_causal() -> None:
    values: list[float | str] = list(_series(800))
    full = _scores(values)
    prefix = _scores(values[:500])
    assert all(0.0 <= s <= 1.0 for s in full)
    assert full[:500] == prefix


def test_blank_and_non_numeric_cells_are_missing_not_fatal() -> None:
    values: list[float | str] = list(_series(400))
    values[100] = ""
    values[101] = "nan"
    values[102] = "n/a"
    scores = _scores(values)
    assert len(scores) == 400
    assert all(math.isfinite(s) for s in scores)


def test_score_command_writes_input_plus_score(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    dst = tmp_path / "out.csv"
    src.write_text(_csv(list(_series(200))))
    result = CliRunner().invoke(
        app, ["anomaly", "score", "--input", str(src), "--output", str(dst)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(dst.read_text().splitlines()))
    assert rows[0] == ["timestamp", "value", "anomaly_score"]
    assert len(rows) == 201


def test_score_command_refuses_a_headerless_file(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("")
    result = CliRunner().invoke(
        app, ["anomaly", "score", "--input", str(src), "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
