"""Server-side charts for the staff pages: the ticket evidence chart and KPI weekly trends.

Rendered with matplotlib's object API on the Agg/SVG canvases (never ``pyplot``, whose
global figure registry is not safe across request threads) and returned as inline SVG
text, so pages need no JavaScript chart library and the browser test sees real images.
Text is drawn as paths, so Chinese labels look the same on machines without CJK fonts.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import matplotlib as mpl
from matplotlib import dates as mdates
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cloud_api.pages.evidence import EvidenceView, Series

__all__ = [
    "EvidenceLabels",
    "TrendPoint",
    "cjk_font_available",
    "render_evidence_svg",
    "render_trend_svg",
]

# Fonts tried in order; the CJK ones cover Chinese labels where installed.
_FONTS: Final = ["DejaVu Sans", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Droid Sans Fallback"]
_PALETTE: Final = ("#1f6feb", "#8250df", "#1a7f37", "#bf8700", "#57606a")
_ANOMALY: Final = "#cf222e"
_TREND: Final = "#d1242f"
_MAX_METRICS: Final = 4
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# rcParams are process-global: one chart at a time, whatever thread the request runs on.
_LOCK: Final = threading.Lock()
_RC: Final[dict[str, Any]] = {
    "date.epoch": "1970-01-01T00:00:00",
    "font.family": "sans-serif",
    "font.sans-serif": _FONTS,
    "font.size": 9,
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8c959f",
    "axes.grid": True,
    "grid.color": "#d0d7de",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}


@dataclass(frozen=True, slots=True)
class EvidenceLabels:
    """Translated texts drawn on the evidence chart."""

    detected: str = "detected"
    predicted_failure: str = "predicted failure"
    trend: str = "trend"
    anomaly_score: str = "anomaly score"
    threshold: str = "threshold"
    failure_level: str = "failure level"
    deviation: str = "deviation from normal"


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One week of a KPI: the week's first day and its value (None when undecided)."""

    week: date
    value: float | None


_CJK_FONTS: Final = frozenset(_FONTS[1:])
_CJK_FILE_HINTS: Final = ("wqy", "notosanscjk", "notoserifcjk", "droidsansfallback")


@functools.cache
def cjk_font_available() -> bool:
    """Whether matplotlib can draw Chinese text (a CJK font is installed).

    Fonts installed after matplotlib built its cache are added here, so a machine that
    got ``fonts-wqy-microhei`` later still draws Chinese labels; without any CJK font the
    pages fall back to English chart labels rather than boxes.
    """
    manager = font_manager.fontManager
    if any(f.name in _CJK_FONTS for f in manager.ttflist):
        return True
    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.lower().replace("-", "") for hint in _CJK_FILE_HINTS):
            with contextlib.suppress(OSError, RuntimeError):
                manager.addfont(path)
    return any(f.name in _CJK_FONTS for f in manager.ttflist)


def _num(t: datetime) -> float:
    """Matplotlib's date number (days since the epoch set in ``_RC``)."""
    aware = t if t.tzinfo else t.replace(tzinfo=UTC)
    return (aware - _EPOCH).total_seconds() / 86400


def _nums(times: Iterable[datetime]) -> list[float]:
    return [_num(t) for t in times]


@contextmanager
def _style(extra: dict[str, Any] | None = None, *, cjk: bool = False) -> Iterator[None]:
    rc = _RC | (extra or {})
    if cjk and cjk_font_available():
        # SVG text-as-path takes glyphs from the first font only: a CJK font goes first
        # (they carry Latin glyphs too).
        installed = {f.name for f in font_manager.fontManager.ttflist}
        rc["font.sans-serif"] = [f for f in _FONTS if f in _CJK_FONTS and f in installed]
    with _LOCK, mpl.rc_context():
        # rcParams keys are typed as literals; ours are checked by matplotlib at update.
        mpl.rcParams.update(rc)  # type: ignore[arg-type]
        yield


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    # Inline SVG: drop the XML prolog and doctype the HTML parser does not want.
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _plot_trend(ax: Axes, view: EvidenceView, labels: EvidenceLabels) -> None:
    trend = view.trend
    if trend is None:
        return
    times = _nums(p[0] for p in trend.points)
    values = [p[1] for p in trend.points]
    name = f"{labels.trend}: {trend.metric}" if trend.metric else labels.trend
    ax.plot(times, values, color=_TREND, linestyle="--", linewidth=1.6, label=name)
    if trend.window is not None:
        ax.axvspan(_num(trend.window[0]), _num(trend.window[1]), color="#24292f", alpha=0.06)
    if trend.failure_level is not None:
        ax.axhline(trend.failure_level, color=_TREND, linestyle=":", linewidth=1)
        ax.annotate(
            labels.failure_level,
            xy=(0.0, trend.failure_level),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            color=_TREND,
            va="bottom",
        )


def _plot_metrics(ax: Axes, view: EvidenceView, labels: EvidenceLabels) -> None:
    shown: list[Series] = list(view.series[:_MAX_METRICS])
    for colour, series in zip(_PALETTE, shown, strict=False):
        ax.plot(_nums(series.times), series.values, color=colour, linewidth=1.3, label=series.name)
    if view.trend is not None and view.trend.on_metric:
        _plot_trend(ax, view, labels)
    _mark_events(ax, view, labels)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, ncol=4)


def _mark_events(ax: Axes, view: EvidenceView, labels: EvidenceLabels) -> None:
    if view.anomaly_from is not None and view.detected_at is not None:
        ax.axvspan(_num(view.anomaly_from), _num(view.detected_at), color=_ANOMALY, alpha=0.08)
    for ts, label, colour, style in (
        (view.detected_at, labels.detected, _ANOMALY, "-"),
        (view.predicted_failure_at, labels.predicted_failure, "#24292f", "--"),
    ):
        if ts is None:
            continue
        ax.axvline(_num(ts), color=colour, linestyle=style, linewidth=1.3)
        ax.annotate(
            label,
            xy=(_num(ts), 1.0),
            xycoords=("data", "axes fraction"),
            color=colour,
            fontsize=8,
            ha="right",
            va="top",
            rotation=90,
        )


def _plot_lower(ax: Axes, view: EvidenceView, labels: EvidenceLabels) -> None:
    """Anomaly scores, or the deviation from normal with its trend to the failure level."""
    scores = view.scores
    if scores is not None:
        xs = _nums(scores.times)
        ax.fill_between(xs, scores.values, color="#8250df", alpha=0.18, linewidth=0)
        ax.plot(xs, scores.values, color="#8250df", linewidth=1.1, label=labels.anomaly_score)
    if view.threshold is not None:
        ax.axhline(view.threshold, color=_ANOMALY, linestyle=":", linewidth=1)
        ax.annotate(
            labels.threshold,
            xy=(1.0, view.threshold),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            color=_ANOMALY,
            ha="right",
            va="bottom",
        )
    if scores is not None and view.threshold is not None:
        over = [
            (t, v) for t, v in zip(scores.times, scores.values, strict=True) if v >= view.threshold
        ]
        if over:
            ax.scatter(
                _nums(p[0] for p in over), [p[1] for p in over], color=_ANOMALY, s=8, zorder=3
            )
    if view.trend is not None and not view.trend.on_metric:
        _plot_trend(ax, view, labels)
    ax.set_ylabel(labels.anomaly_score if scores is not None else labels.deviation)
    _mark_events(
        ax,
        EvidenceView(detected_at=view.detected_at, predicted_failure_at=view.predicted_failure_at),
        labels,
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8)


def render_evidence_svg(view: EvidenceView, labels: EvidenceLabels | None = None) -> str | None:
    """The evidence chart as inline SVG, or None when the evidence holds nothing to plot.

    Top panel: the metric series around the detection, the anomaly onset to detection
    shaded, the detection and the predicted failure marked. Lower panel (when the evidence
    has scores or a deviation trend): the anomaly score or deviation from normal with the
    threshold, and the trend drawn on to the failure level at the predicted failure.
    """
    if not view.is_plottable:
        return None
    labels = labels or EvidenceLabels()
    lower = view.scores is not None or (view.trend is not None and not view.trend.on_metric)
    upper = bool(view.series) or (view.trend is not None and view.trend.on_metric)
    cjk = any(not text.isascii() for text in (labels.detected, labels.trend, labels.deviation))
    with _style(cjk=cjk):
        if lower and upper:
            fig = Figure(figsize=(9.0, 4.8), layout="constrained")
            top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.6])
            _plot_metrics(top, view, labels)
            _plot_lower(bottom, view, labels)
            _date_axis(bottom)
        else:
            fig = Figure(figsize=(9.0, 3.4), layout="constrained")
            ax = fig.subplots(1, 1)
            (_plot_lower if lower else _plot_metrics)(ax, view, labels)
            _date_axis(ax)
        return _svg(fig)


def render_trend_svg(
    points: Sequence[TrendPoint],
    *,
    target: float | None,
    higher_is_better: bool = True,
    percent: bool = True,
) -> str | None:
    """A small weekly KPI trend (a sparkline with the target drawn), or None without data."""
    known = [p for p in points if p.value is not None]
    if not known:
        return None
    scale = 100.0 if percent else 1.0
    with _style({"font.size": 7, "axes.grid": False}):
        fig = Figure(figsize=(3.0, 1.1), layout="constrained")
        ax = fig.subplots(1, 1)
        xs = [_num(datetime.combine(p.week, datetime.min.time(), tzinfo=UTC)) for p in known]
        ys = [(p.value or 0.0) * scale for p in known]
        ax.plot(xs, ys, color="#1f6feb", linewidth=1.4, marker="o", markersize=2.5)
        if target is not None:
            ax.axhline(target * scale, color="#57606a", linestyle="--", linewidth=0.9)
            misses = [
                (x, y)
                for x, y in zip(xs, ys, strict=True)
                if (y < target * scale if higher_is_better else y > target * scale)
            ]
            if misses:
                ax.scatter([m[0] for m in misses], [m[1] for m in misses], color=_ANOMALY, s=9)
        # Ticks on the weeks themselves (a locator cannot place ticks on one point).
        step = max(1, len(known) // 4)
        ax.set_xticks(xs[::step], labels=[p.week.strftime("%m-%d") for p in known[::step]])
        if len(xs) == 1:
            ax.set_xlim(xs[0] - 3.5, xs[0] + 3.5)
        ax.tick_params(length=2)
        return _svg(fig)
