"""Each fault moves the metrics its physics says, in the right direction, then fails.

Every case compares a faulty device with its healthy twin: the same device, home,
weather, usage and sensor spread without the fault, so any difference is the fault's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from aftercare.catalog import Course, default_catalog
from firmware_sim.core import DAY, BoolArray, Series
from firmware_sim.fleet import Recording
from tests.firmware_sim.conftest import one_device_fleet


@dataclass(frozen=True)
class Case:
    code: str
    kind: str
    metric: str
    direction: str  # "up", "down", "shifted" (either way)
    active: str | None = None  # state key=value selecting comparable samples
    course_days: float = 20.0


CASES = [
    Case("AC_FILTER_CLOGGED", "air_conditioner", "supply_air_temp_c", "down", "power=on"),
    Case("AC_FILTER_CLOGGED", "air_conditioner", "evaporator_temp_c", "down", "power=on"),
    Case("AC_REFRIGERANT_LEAK", "air_conditioner", "suction_pressure_kpa", "down", "power=on"),
    Case("AC_REFRIGERANT_LEAK", "air_conditioner", "supply_air_temp_c", "up", "power=on"),
    Case("AC_FAN_BEARING_WEAR", "air_conditioner", "indoor_fan_rpm", "down", "power=on"),
    Case("AC_COMPRESSOR_CAPACITOR", "air_conditioner", "compressor_current_a", "up", "power=on"),
    Case("FR_DOOR_GASKET_LEAK", "refrigerator", "compressor_duty_pct", "up"),
    Case("FR_DEFROST_FAILURE", "refrigerator", "evaporator_temp_c", "down", None, 6.0),
    Case("FR_DEFROST_FAILURE", "refrigerator", "freezer_temp_c", "up", None, 6.0),
    Case("FR_CONDENSER_FAN_FAILURE", "refrigerator", "compressor_duty_pct", "up"),
    Case("FR_CONDENSER_FAN_FAILURE", "refrigerator", "fridge_temp_c", "up"),
    Case("WM_DRUM_BEARING_WEAR", "washing_machine", "drum_vibration_rms_g", "up", None, 30.0),
    Case("WM_DRUM_BEARING_WEAR", "washing_machine", "motor_current_a", "up", None, 30.0),
    Case("WM_DRAIN_PUMP_CLOG", "washing_machine", "drain_time_s", "up", None, 30.0),
    Case("WM_INLET_VALVE_WEAR", "washing_machine", "fill_time_s", "up", None, 30.0),
    Case("WM_HEATER_SCALE", "washing_machine", "heat_time_s", "up", None, 30.0),
    Case("WP_RO_MEMBRANE_FOULING", "water_purifier", "tds_out_ppm", "up", "pump=on", 30.0),
    Case("WP_RO_MEMBRANE_FOULING", "water_purifier", "flow_lpm", "down", "pump=on", 30.0),
    Case("WP_PREFILTER_CLOG", "water_purifier", "inlet_pressure_kpa", "down", "pump=on"),
    Case("WP_PREFILTER_CLOG", "water_purifier", "flow_lpm", "down", "pump=on"),
    Case("WP_PUMP_WEAR", "water_purifier", "pump_current_a", "up", "pump=on", 30.0),
    Case("WP_PUMP_WEAR", "water_purifier", "pump_pressure_kpa", "down", "pump=on", 30.0),
    Case("WH_SCALE_BUILDUP", "water_heater", "heat_rate_c_per_min", "down", "heating=on", 30.0),
    Case("WH_ELEMENT_FAILURE", "water_heater", "element_current_a", "down"),
    Case("WH_ELEMENT_FAILURE", "water_heater", "tank_temp_c", "down"),
    Case("WH_THERMOSTAT_DRIFT", "water_heater", "tank_temp_c", "shifted"),
    Case("RV_BATTERY_AGING", "robot_vacuum", "battery_full_capacity_mah", "down", None, 40.0),
    Case("RV_BATTERY_AGING", "robot_vacuum", "runtime_min", "down", None, 40.0),
    Case("RV_BRUSH_MOTOR_WEAR", "robot_vacuum", "main_brush_current_a", "up", None, 30.0),
    Case("RV_FILTER_CLOGGED", "robot_vacuum", "suction_fan_rpm", "up", None, 30.0),
]


def _active(series: Series, active: str | None) -> BoolArray:
    if active is None:
        return np.ones(len(series.t), dtype=np.bool_)
    key, value = active.split("=")
    (col,) = [c for c in series.state if c.key == key]
    return np.asarray(col.codes == col.labels.index(value), dtype=np.bool_)


def _pair(case: Case) -> tuple[Recording, Recording]:
    fleet = one_device_fleet(case.kind, case.code, course_days=case.course_days)
    return fleet.recording("dev-000001"), fleet.healthy_twin("dev-000001")


def test_every_kind_specific_fault_has_a_case() -> None:
    codes = {f.code for f in default_catalog().faults.values() if f.kind != "any"}
    assert codes == {c.code for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.code}-{c.metric}-{c.direction}")
def test_fault_moves_its_metric_in_the_physical_direction(case: Case) -> None:
    faulty, twin = _pair(case)
    fault = faulty.spec.fault
    assert fault is not None
    assert faulty.failure_at is not None, "the physics found no functional failure"
    t = faulty.reported.t
    assert (t == twin.reported.t).all()
    if fault.sudden:
        lo, hi = fault.onset, fault.onset + DAY
    else:
        # the second half of the way to failure: the precursor a detector must see
        lo = fault.onset + 0.5 * (faulty.failure_at - fault.onset)
        hi = faulty.failure_at
    sel = (
        (t >= lo)
        & (t < hi)
        & _active(faulty.reported, case.active)
        & _active(twin.reported, case.active)
    )
    assert sel.sum() >= 3
    f = faulty.reported.metrics[case.metric][sel]
    h = twin.reported.metrics[case.metric][sel]
    if case.direction == "shifted":
        # a drifting thermostat moves the tank's level, up or down
        assert abs(float(np.mean(f) - np.mean(h))) > 2.0
        return
    diff = float(np.mean(f) - np.mean(h))
    margin = 0.03 * max(abs(float(np.mean(h))), 0.1)
    if case.direction == "up":
        assert diff > margin, (np.mean(f), np.mean(h))
    else:
        assert diff < -margin, (np.mean(f), np.mean(h))


def _row(series: Series, at: float) -> int:
    return int(np.searchsorted(series.t, at))


CRITERIA: dict[str, Callable[[Series, Series, int], bool]] = {
    "AC_FILTER_CLOGGED": lambda f, _h, i: (
        f.metrics["indoor_temp_c"][i] - f.metrics["setpoint_c"][i] > 2
    ),
    "AC_REFRIGERANT_LEAK": lambda f, _h, i: (
        f.metrics["indoor_temp_c"][i] - f.metrics["setpoint_c"][i] > 2
    ),
    "AC_FAN_BEARING_WEAR": lambda f, h, i: (
        f.metrics["indoor_fan_rpm"][i] < 0.1 * max(h.metrics["indoor_fan_rpm"][i], 800)
    ),
    "AC_COMPRESSOR_CAPACITOR": lambda f, _h, i: f.metrics["compressor_current_a"][i] < 0.5,
    "FR_DOOR_GASKET_LEAK": lambda f, _h, i: f.metrics["fridge_temp_c"][i] > 7.0,
    "FR_DEFROST_FAILURE": lambda f, _h, i: f.metrics["freezer_temp_c"][i] > -13.0,
    "FR_CONDENSER_FAN_FAILURE": lambda f, _h, i: f.metrics["fridge_temp_c"][i] > 7.0,
    "WM_DRUM_BEARING_WEAR": lambda f, _h, i: f.metrics["drum_vibration_rms_g"][i] > 1.2,
    "WM_DRAIN_PUMP_CLOG": lambda f, _h, i: f.metrics["drain_time_s"][i] > 300,
    "WM_INLET_VALVE_WEAR": lambda f, _h, i: f.metrics["fill_time_s"][i] > 480,
    "WM_HEATER_SCALE": lambda f, h, i: (
        f.metrics["heat_time_s"][i] > 1.9 * h.metrics["heat_time_s"][i]
    ),
    "WP_RO_MEMBRANE_FOULING": lambda f, _h, i: f.metrics["tds_out_ppm"][i] > 50,
    "WP_PREFILTER_CLOG": lambda f, h, i: f.metrics["flow_lpm"][i] < 0.5 * h.metrics["flow_lpm"][i],
    "WP_PUMP_WEAR": lambda f, h, i: (
        f.metrics["pump_pressure_kpa"][i] < 0.6 * h.metrics["pump_pressure_kpa"][i]
    ),
    "WH_SCALE_BUILDUP": lambda f, h, i: (
        0 < f.metrics["heat_rate_c_per_min"][i] < 0.5 * h.metrics["heat_rate_c_per_min"].max()
    ),
    "WH_ELEMENT_FAILURE": lambda f, _h, i: f.metrics["element_current_a"][i] < 0.5,
    "WH_THERMOSTAT_DRIFT": lambda f, _h, i: (
        abs(f.metrics["tank_temp_c"][i] - f.metrics["setpoint_c"][i]) > 8
    ),
    "RV_BATTERY_AGING": lambda f, h, i: (
        f.metrics["runtime_min"][i] < 0.62 * h.metrics["runtime_min"][i]
    ),
    "RV_BRUSH_MOTOR_WEAR": lambda f, _h, i: f.metrics["main_brush_current_a"][i] > 1.2,
    "RV_FILTER_CLOGGED": lambda f, h, i: (
        f.metrics["suction_fan_rpm"][i] > 1.2 * h.metrics["suction_fan_rpm"][i]
    ),
}


@pytest.mark.parametrize("code", sorted(CRITERIA))
def test_functional_failure_criterion_holds_at_failure_time(code: str) -> None:
    case = next(c for c in CASES if c.code == code)
    faulty, twin = _pair(case)
    assert faulty.failure_at is not None
    fault = faulty.spec.fault
    assert fault is not None
    assert fault.onset <= faulty.failure_at
    i = _row(faulty.true, faulty.failure_at)
    assert faulty.true.t[i] == faulty.failure_at
    assert CRITERIA[code](faulty.true, twin.true, i)
    if not fault.sudden:
        # gradual: failure comes after a precursor of days, not at the onset
        assert faulty.failure_at - fault.onset > 2 * DAY


@pytest.mark.parametrize("case", {c.code: c for c in CASES}.values(), ids=lambda c: c.code)
def test_nothing_differs_from_the_twin_before_the_onset(case: Case) -> None:
    faulty, twin = _pair(case)
    fault = faulty.spec.fault
    assert fault is not None
    before = faulty.reported.t < fault.onset
    assert before.sum() > 0
    for name, values in faulty.reported.metrics.items():
        assert (values[before] == twin.reported.metrics[name][before]).all(), name


def test_sudden_faults_jump_at_the_onset_without_precursor() -> None:
    catalog = default_catalog()
    sudden = [c for c in CASES if catalog.fault(c.code).course is Course.SUDDEN]
    assert {c.code for c in sudden} == {"FR_CONDENSER_FAN_FAILURE", "WH_ELEMENT_FAILURE"}
    for case in sudden:
        faulty, _ = _pair(case)
        fault = faulty.spec.fault
        assert fault is not None
        assert fault.sudden
        assert faulty.failure_at is not None
        assert faulty.failure_at - fault.onset < DAY
