"""From true signals to what a device reports: manufacturing spread, noise, quantisation.

Every unit's sensors differ a little (a temperature probe reads 0.3 °C high, a current
transformer 2% low): those offsets and gains are drawn once per device and stay. On top
come per-sample noise and the resolution the firmware reports with. ``SENSOR_STUCK``
freezes one metric at the value it had at the onset. Physical criteria (functional
failure) are evaluated on the true signals before this layer, as a service engineer's
reference instrument would see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from firmware_sim.core import FloatArray, Series

__all__ = ["STUCK_CANDIDATES", "SensorSpec", "measure", "sensor_spec"]


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """How one metric is measured.

    Attributes:
        offset_sd: per-device calibration offset (units of the metric).
        gain_sd: per-device relative gain error.
        noise_sd: per-sample noise.
        decimals: reported resolution.
        nonneg: clamp at zero (currents, flows, counts).
    """

    offset_sd: float = 0.0
    gain_sd: float = 0.0
    noise_sd: float = 0.0
    decimals: int = 1
    nonneg: bool = False


_TEMP: Final = SensorSpec(offset_sd=0.25, noise_sd=0.08, decimals=1)
_EXACT0: Final = SensorSpec(decimals=0, nonneg=True)
_SPECS: Final[dict[str, SensorSpec]] = {
    "setpoint_c": SensorSpec(decimals=1),
    "compressor_current_a": SensorSpec(gain_sd=0.02, noise_sd=0.02, decimals=2, nonneg=True),
    "motor_current_a": SensorSpec(gain_sd=0.02, noise_sd=0.02, decimals=2, nonneg=True),
    "pump_current_a": SensorSpec(gain_sd=0.02, noise_sd=0.01, decimals=2, nonneg=True),
    "element_current_a": SensorSpec(gain_sd=0.015, noise_sd=0.02, decimals=2, nonneg=True),
    "main_brush_current_a": SensorSpec(gain_sd=0.03, noise_sd=0.01, decimals=3, nonneg=True),
    "indoor_fan_rpm": SensorSpec(gain_sd=0.01, decimals=0, nonneg=True),
    "spin_rpm": SensorSpec(decimals=0, nonneg=True),
    "suction_fan_rpm": SensorSpec(gain_sd=0.01, noise_sd=20.0, decimals=0, nonneg=True),
    "suction_pressure_kpa": SensorSpec(offset_sd=4.0, gain_sd=0.01, noise_sd=3.0, decimals=0),
    "inlet_pressure_kpa": SensorSpec(offset_sd=3.0, gain_sd=0.01, noise_sd=2.0, decimals=0),
    "pump_pressure_kpa": SensorSpec(offset_sd=3.0, gain_sd=0.01, noise_sd=3.0, decimals=0),
    "tank_pressure_kpa": SensorSpec(offset_sd=3.0, gain_sd=0.01, noise_sd=2.0, decimals=0),
    "compressor_duty_pct": SensorSpec(noise_sd=0.4, decimals=1, nonneg=True),
    "door_open_count": _EXACT0,
    "drum_vibration_rms_g": SensorSpec(gain_sd=0.04, noise_sd=0.008, decimals=3, nonneg=True),
    "fill_time_s": _EXACT0,
    "drain_time_s": _EXACT0,
    "heat_time_s": _EXACT0,
    "tds_in_ppm": SensorSpec(gain_sd=0.03, noise_sd=1.0, decimals=0, nonneg=True),
    "tds_out_ppm": SensorSpec(gain_sd=0.03, noise_sd=0.4, decimals=0, nonneg=True),
    "flow_lpm": SensorSpec(gain_sd=0.02, noise_sd=0.02, decimals=2, nonneg=True),
    "filter_liters": SensorSpec(decimals=1, nonneg=True),
    "heat_rate_c_per_min": SensorSpec(noise_sd=0.01, decimals=3, nonneg=True),
    "battery_voltage_v": SensorSpec(gain_sd=0.004, decimals=2),
    "battery_full_capacity_mah": SensorSpec(noise_sd=12.0, decimals=0, nonneg=True),
    "runtime_min": SensorSpec(noise_sd=0.5, decimals=1, nonneg=True),
    "charge_cycles": _EXACT0,
}

STUCK_CANDIDATES: Final[dict[str, tuple[str, ...]]] = {
    "air_conditioner": (
        "indoor_temp_c",
        "supply_air_temp_c",
        "evaporator_temp_c",
        "suction_pressure_kpa",
    ),
    "refrigerator": ("fridge_temp_c", "freezer_temp_c", "evaporator_temp_c"),
    "washing_machine": ("water_temp_c", "drum_vibration_rms_g"),
    "water_purifier": ("tds_out_ppm", "inlet_pressure_kpa"),
    "water_heater": ("tank_temp_c", "tank_pressure_kpa"),
    "robot_vacuum": ("battery_voltage_v", "suction_fan_rpm"),
}


def sensor_spec(metric: str) -> SensorSpec:
    """How ``metric`` is measured (temperatures share one spec)."""
    spec = _SPECS.get(metric)
    if spec is not None:
        return spec
    return _TEMP if metric.endswith("_c") else SensorSpec()


def _quantise(x: FloatArray, decimals: int) -> FloatArray:
    # rint(x * 10^d) / 10^d is the double nearest the decimal, so JSON shows it short
    scale = 10.0**decimals
    return np.asarray(np.rint(x * scale) / scale, dtype=np.float64)


def measure(
    true: Series, rng: np.random.Generator, *, stuck_metric: str | None, stuck_from: float
) -> Series:
    """The reported series: spread, noise, resolution, and a frozen metric if stuck."""
    metrics: dict[str, FloatArray] = {}
    n = len(true.t)
    for name, values in true.metrics.items():
        spec = sensor_spec(name)
        offset = rng.normal(0.0, spec.offset_sd) if spec.offset_sd else 0.0
        gain = rng.normal(1.0, spec.gain_sd) if spec.gain_sd else 1.0
        noise = rng.normal(0.0, spec.noise_sd, n) if spec.noise_sd else 0.0
        x = values * gain + offset + noise
        if spec.nonneg:
            x = np.maximum(x, 0.0)
        if spec.nonneg and spec.noise_sd:
            # an idle motor or an empty pipe reads zero, not noise
            x = np.where(values <= 0.0, 0.0, x)
        metrics[name] = _quantise(x, spec.decimals)
    if stuck_metric is not None and stuck_metric in metrics:
        frozen = metrics[stuck_metric]
        idx = int(np.searchsorted(true.t, stuck_from))
        if idx < n:
            frozen[idx:] = frozen[max(idx - 1, 0)]
    return Series(
        t=true.t,
        metrics=metrics,
        state=true.state,
        failure_at=true.failure_at,
        stuck_metric=stuck_metric,
    )
