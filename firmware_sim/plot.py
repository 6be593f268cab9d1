"""Realism charts: a faulty device against its healthy twin, across onset and failure.

One PNG per kind. The twin is the same device (same home, weather, usage and sensor
spread) without the fault, so every difference in the chart is the fault's physics.
Thin dots are the reported samples, thick lines their daily medians; the dashed lines
mark the fault's onset and the functional failure the physics found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np

from aftercare.catalog import default_catalog
from firmware_sim.core import DAY, BoolArray, Series
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.spec import DeviceSpec, fault_plan
from firmware_sim.wire import Artefacts

__all__ = ["PLOTS", "PlotCase", "render_all"]


@dataclass(frozen=True, slots=True)
class PlotCase:
    """What one kind's chart shows.

    Attributes:
        kind: the catalog kind.
        fault: the fault of the faulty device.
        course_days: its course.
        metrics: the metrics to draw, top to bottom.
        active: a state ``key=value`` that selects the samples worth drawing (the
            compressor running, the pump on), or ``None`` for all samples.
    """

    kind: str
    fault: str
    course_days: float
    metrics: tuple[str, ...]
    active: str | None = None


PLOTS: Final[tuple[PlotCase, ...]] = (
    PlotCase(
        "air_conditioner",
        "AC_FILTER_CLOGGED",
        20,
        ("indoor_temp_c", "supply_air_temp_c", "evaporator_temp_c", "outdoor_temp_c"),
        "power=on",
    ),
    PlotCase(
        "refrigerator",
        "FR_DOOR_GASKET_LEAK",
        20,
        ("fridge_temp_c", "compressor_duty_pct", "door_open_count", "ambient_temp_c"),
    ),
    PlotCase(
        "washing_machine",
        "WM_DRUM_BEARING_WEAR",
        40,
        ("drum_vibration_rms_g", "motor_current_a", "spin_rpm"),
    ),
    PlotCase(
        "water_purifier",
        "WP_RO_MEMBRANE_FOULING",
        45,
        ("tds_out_ppm", "flow_lpm", "tds_in_ppm"),
        "pump=on",
    ),
    PlotCase(
        "water_heater",
        "WH_SCALE_BUILDUP",
        45,
        ("heat_rate_c_per_min", "tank_temp_c", "element_current_a"),
        "heating=on",
    ),
    PlotCase(
        "robot_vacuum",
        "RV_BATTERY_AGING",
        45,
        ("battery_full_capacity_mah", "runtime_min", "battery_voltage_v"),
    ),
)

_START: Final = datetime(2026, 6, 1, tzinfo=UTC)
_ONSET_DAYS: Final = 8.0


def _mask(series: Series, active: str | None) -> BoolArray:
    if active is None:
        return np.ones(len(series.t), dtype=np.bool_)
    key, value = active.split("=", 1)
    for col in series.state:
        if col.key == key:
            return np.asarray(col.codes == col.labels.index(value), dtype=np.bool_)
    return np.ones(len(series.t), dtype=np.bool_)


def _daily_median(days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bins = np.floor(days).astype(np.int64)
    xs: list[float] = []
    ys: list[float] = []
    for b in np.unique(bins).tolist():
        sel = bins == b
        xs.append(b + 0.5)
        ys.append(float(np.median(values[sel])))
    return np.asarray(xs), np.asarray(ys)


def render(case: PlotCase, out_dir: Path, *, seed: int = 11) -> Path:
    """Render one kind's chart to ``out_dir/<kind>.png``."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    catalog = default_catalog()
    model = catalog.models_for(case.kind)[0]
    days = _ONSET_DAYS + case.course_days * 1.25 + 4
    onset = _START + timedelta(days=_ONSET_DAYS)
    device = DeviceSpec(
        device_id=f"{case.kind[:2]}-plot",
        kind=case.kind,
        home_id="h-plot",
        model=model.model,
        fw=model.firmware[0],
        fault=fault_plan(case.fault, onset, case.course_days),
        index=3,
    )
    fleet = Fleet(
        FleetSpec(devices=(device,), start=_START, days=days, seed=seed, artefacts=Artefacts.none())
    )
    faulty = fleet.recording(device.device_id)
    healthy = fleet.healthy_twin(device.device_id)
    t0 = _START.timestamp()
    fig, axes = plt.subplots(
        len(case.metrics), 1, figsize=(9, 1.9 * len(case.metrics)), sharex=True
    )
    for ax, metric in zip(np.atleast_1d(axes), case.metrics, strict=True):
        for rec, color, label in (
            (healthy, "tab:blue", "healthy twin"),
            (faulty, "tab:red", case.fault),
        ):
            series = rec.reported
            sel = _mask(series, case.active)
            x = (series.t[sel] - t0) / DAY
            y = series.metrics[metric][sel]
            dense = len(x) > 1000
            ax.plot(
                x,
                y,
                ".",
                ms=1.2 if dense else 3.0,
                color=color,
                alpha=0.25 if dense else 0.6,
                rasterized=True,
            )
            if len(x):
                mx, my = _daily_median(x, y)
                ax.plot(mx, my, "-", lw=1.6, color=color, label=label)
        ax.axvline(_ONSET_DAYS, color="black", ls="--", lw=0.9)
        if faulty.failure_at is not None:
            ax.axvline((faulty.failure_at - t0) / DAY, color="darkred", ls="--", lw=0.9)
        unit = catalog.unit_of(case.kind, metric) or ""
        ax.set_ylabel(f"{metric}\n[{unit}]", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    first = np.atleast_1d(axes)[0]
    first.legend(fontsize=7, loc="upper left")
    failure_text = (
        f"failure day {(faulty.failure_at - t0) / DAY:.1f}" if faulty.failure_at else "no failure"
    )
    only = f", samples with {case.active}" if case.active else ""
    first.set_title(
        f"{case.kind}: {case.fault} (onset day {_ONSET_DAYS:.0f}, {failure_text}){only}",
        fontsize=9,
    )
    np.atleast_1d(axes)[-1].set_xlabel("days since 2026-06-01", fontsize=8)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{case.kind}.png"
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def render_all(out_dir: Path, *, seed: int = 11) -> list[Path]:
    """Render every kind's chart."""
    return [render(case, out_dir, seed=seed) for case in PLOTS]
