"""``aftercare anomaly score``: score every row of a CSV with :class:`MultiScaleDetector`.

The first column is a timestamp (RFC 3339, a date-time pandas-style, or epoch seconds or
milliseconds); the others are numeric, blanks and non-numbers count as missing. The
output is the input with an ``anomaly_score`` column in [0, 1]. Causal: each row is
scored before it is learned, and the season's length comes from the median sampling
interval of the rows seen so far (a day of samples, when that is a sensible period).
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from anomaly.exceptions import InputError
from anomaly.series import MultiScaleDetector

__all__ = ["parse_time", "score_csv", "score_rows"]

_DAY = 86400.0
_MAX_PERIOD = 2016
_PERIOD_AFTER = 12


def parse_time(text: str) -> float | None:
    """Epoch seconds from a timestamp cell, or None when it is not one."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            return None
        return value / 1000.0 if abs(value) > 1e11 else value
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00").replace("/", "-"))
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _daily_period(times: list[float]) -> int:
    gaps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    if not gaps:
        return 1
    step = gaps[len(gaps) // 2]
    per_day = _DAY / step
    if step <= 0 or per_day < 4 or per_day > _MAX_PERIOD:
        return 1
    return round(per_day)


def score_rows(header: list[str], rows: Iterator[list[str]]) -> Iterator[tuple[list[str], float]]:
    """Yield each row with its score, causally."""
    names = header[1:]
    detector: MultiScaleDetector | None = None
    times: list[float] = []
    pending: list[tuple[list[str], dict[str, float], float | None]] = []
    for row in rows:
        t = parse_time(row[0]) if row else None
        x = {n: _number(v) for n, v in zip(names, row[1:], strict=False)}
        if detector is None:
            if t is not None:
                times.append(t)
            pending.append((row, x, t))
            if len(pending) < _PERIOD_AFTER:
                continue
            detector = _start(times)
            for p_row, p_x, p_t in pending:
                yield p_row, _step(detector, p_x, p_t, times)
            pending = []
            continue
        yield row, _step(detector, x, t, times)
    if detector is None and pending:
        detector = _start(times)
        for p_row, p_x, p_t in pending:
            yield p_row, _step(detector, p_x, p_t, times)


def _start(times: list[float]) -> MultiScaleDetector:
    # the period is taken from the first rows' spacing: it only fixes the length of the
    # seasonal profile; nothing about the values is looked ahead at
    period = _daily_period(times)
    return MultiScaleDetector(period=period if period > 1 else 0)


def _step(
    det: MultiScaleDetector, x: dict[str, float], t: float | None, times: list[float]
) -> float:
    phase: float | None = None
    if t is not None and det.period > 1 and times:
        step = _DAY / det.period
        phase = math.floor((t - times[0]) / step + 0.5)
    score = det.score_one(x, phase)
    det.learn_one(x, phase)
    return score


def score_csv(src: TextIO, dst: TextIO, *, name: str = "input") -> int:
    """Score ``src`` into ``dst``; return the number of rows.

    Raises:
        InputError: no header, or fewer than two columns.
    """
    reader = csv.reader(src)
    header = next(reader, None)
    if header is None or len(header) < 2:
        raise InputError(
            name, 1, "expected a header with a timestamp and at least one value column"
        )
    writer = csv.writer(dst, lineterminator="\n")
    writer.writerow([*header, "anomaly_score"])
    count = 0
    for row, score in score_rows(header, reader):
        writer.writerow([*row, f"{score:.6f}"])
        count += 1
    return count


def score_file(input_path: Path, output_path: Path) -> int:
    """Score a CSV file into another; return the number of rows."""
    with (
        input_path.open(newline="", encoding="utf-8-sig") as src,
        output_path.open("w", newline="", encoding="utf-8") as dst,
    ):
        return score_csv(src, dst, name=str(input_path))
