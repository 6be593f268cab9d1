"""Faults that only physics-aware features show: a thermostat's switching point, a
battery that fades faster than its age explains, a fault far outside the peers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from anomaly.config import EngineConfig
from anomaly.device import DeviceModel
from anomaly.engine import FaultEngine
from anomaly.fault_report import FaultReport
from anomaly.profiles import PROFILES
from device_adapters import NativeAdapter, Telemetry
from firmware_sim.faults import FaultPlan
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.spec import DeviceSpec, fault_plan
from gateway.pipeline import Pipeline
from tests.anomaly.conftest import run_fleet

START = datetime(2026, 6, 1, tzinfo=UTC)
_PREFIX = {
    "air_conditioner": "ac",
    "refrigerator": "fr",
    "robot_vacuum": "rv",
    "washing_machine": "wm",
    "water_heater": "wh",
}


def _run_with_fault(
    kind: str,
    model: str,
    n: int,
    fault: FaultPlan,
    *,
    days: float,
    seed: int,
) -> tuple[Fleet, list[FaultReport], list[FaultReport]]:
    """Run ``n`` devices of one model, the first with ``fault``, through the pipeline.

    Returns the fleet, the faulty device's reports and everyone else's.
    """
    prefix = _PREFIX[kind]
    devices = tuple(
        DeviceSpec(
            device_id=f"{prefix}-{i:06d}",
            kind=kind,
            home_id=f"h-{i:06d}",
            model=model,
            fw="1.0.0",
            index=i,
            fault=fault if i == 1 else None,
        )
        for i in range(1, n + 1)
    )
    fleet = Fleet(FleetSpec(devices=devices, start=START, days=days, seed=seed))
    reports = run_fleet(fleet, Pipeline([NativeAdapter()], FaultEngine()))
    faulty = f"{prefix}-000001"
    return (
        fleet,
        [r for r in reports if r.device_id == faulty],
        [r for r in reports if r.device_id != faulty],
    )


def test_cutoff_offset_is_read_where_the_element_switches_off() -> None:
    model = DeviceModel(PROFILES["water_heater"], EngineConfig())
    t0 = START.timestamp()

    def report(minute: float, tank: float, heating: str) -> None:
        current = 8.7 if heating == "on" else 0.0
        model.observe(
            t0 + minute * 60.0,
            {
                "tank_temp_c": tank,
                "setpoint_c": 60.0,
                "inlet_temp_c": 20.0,
                "element_current_a": current,
                "heat_rate_c_per_min": 0.5 if heating == "on" else 0.0,
                "tank_pressure_kpa": 400.0,
            },
            {"power": "on", "heating": heating},
        )

    report(0, 55.0, "on")
    report(5, 58.0, "on")
    report(10, 63.2, "off")  # the thermostat let the tank overshoot by 3.2 degrees
    report(15, 63.0, "off")
    report(20, 62.8, "off")
    closed = model._close()
    assert closed is not None
    assert closed.values["cutoff_offset_c"] == 63.2 - 60.0
    # a bucket without a switch has no such feature
    report(65, 56.0, "on")
    report(70, 57.0, "on")
    closed = model._close()
    assert closed is not None
    assert "cutoff_offset_c" not in closed.values


def test_drifting_thermostat_is_ticketed_before_it_fails_and_its_peers_are_not() -> None:
    fleet, drifting, others = _run_with_fault(
        "water_heater",
        "EC6002-Y5",
        10,
        fault_plan("WH_THERMOSTAT_DRIFT", START + timedelta(days=6), 30),
        days=40,
        seed=21,
    )
    assert [r.fault_code for r in drifting] == ["WH_THERMOSTAT_DRIFT"]
    assert "cutoff_offset_c" in drifting[0].evidence.get(
        "drift", drifting[0].evidence.get("peer_deviation", {})
    )
    failure_at = fleet.labels()["wh-000001"]["failure_at"]
    assert failure_at is not None
    assert drifting[0].detected_at < datetime.fromisoformat(failure_at) - timedelta(days=3)
    assert others == []


def test_pack_fading_faster_than_its_age_is_found_against_peers_of_its_age() -> None:
    fleet, fading, others = _run_with_fault(
        "robot_vacuum",
        "S8-Pro",
        20,
        # fading for three months before the window opens: its own runs know no
        # healthy pack
        fault_plan("RV_BATTERY_AGING", START - timedelta(days=90), 130),
        days=50,
        seed=8,
    )
    assert [r.fault_code for r in fading] == ["RV_BATTERY_AGING"]
    assert fading[0].evidence["detector"] == "peer_reference"
    assert fading[0].evidence["peer_deviation"]["battery_full_capacity_mah"] <= -5.0
    failure_at = fleet.labels()["rv-000001"]["failure_at"]
    assert failure_at is not None
    assert fading[0].detected_at < datetime.fromisoformat(failure_at)
    assert others == []


def _wash(device_id: str, day: float, fill_s: float, rng: np.random.Generator) -> Telemetry:
    return Telemetry(
        device_id=device_id,
        ts=START + timedelta(days=day),
        kind="washing_machine",
        model="XQG100-B14",
        metrics={
            "drum_vibration_rms_g": float(rng.normal(0.30, 0.02)),
            "motor_current_a": float(rng.normal(1.2, 0.05)),
            "fill_time_s": fill_s * float(rng.normal(1.0, 0.03)),
            "drain_time_s": float(rng.normal(70.0, 2.0)),
            "heat_time_s": float(rng.normal(900.0, 40.0)),
            "spin_rpm": 1200.0,
            "water_temp_c": 40.0,
        },
        state={"program": "cotton"},
    )


def _peer_fleet(cycle: Callable[[str, float], Telemetry]) -> FaultEngine:
    """An engine that has seen four days of eleven healthy machines' ``cycle``s."""
    engine = FaultEngine()
    for day in range(4):
        for i in range(2, 13):
            assert engine.observe(cycle(f"wm-{i:06d}", day + i / 100)) == []
    return engine


def test_machine_far_outside_its_peers_is_ticketed_on_its_second_cycle() -> None:
    rng = np.random.default_rng(4)
    engine = _peer_fleet(lambda device, day: _wash(device, day, 240.0, rng))
    # the inlet valve passes a third of the water it should: fill takes 3x as long
    tickets_at = [
        cycle for cycle in range(1, 7) if engine.observe(_wash("wm-000001", 4 + cycle, 720.0, rng))
    ]
    # every cycle is judged against the peers from the first (a machine that washes
    # twice a month cannot wait for three); twenty peer spreads out, two cycles decide
    assert tickets_at == [2]


def test_one_cycle_far_outside_its_peers_is_not_a_ticket() -> None:
    rng = np.random.default_rng(4)
    engine = _peer_fleet(lambda device, day: _wash(device, day, 240.0, rng))
    # a half-closed tap once: one slow fill, then normal washes
    fills = [720.0, 240.0, 240.0, 240.0, 240.0]
    tickets = [engine.observe(_wash("wm-000001", 5 + i, f, rng)) for i, f in enumerate(fills)]
    assert tickets == [[]] * len(fills)


def _fridge_report(model: DeviceModel, minute: float, mode: str) -> None:
    running = mode == "cooling"
    model.observe(
        START.timestamp() + minute * 60.0,
        {
            "fridge_temp_c": 4.0,
            "freezer_temp_c": -18.0,
            "ambient_temp_c": 24.0,
            "evaporator_temp_c": -25.0 if running else -12.0,
            "compressor_current_a": 1.05 if running else 0.0,
            "compressor_duty_pct": 45.0,
            "door_open_count": 0.0,
        },
        {"power": "on", "mode": mode},
    )


def _run_fridge(model: DeviceModel, start_min: float, hours: float, *, defrost: bool) -> float:
    """Alternate 5-minute reports of cooling and idle; end with a 15-minute defrost."""
    minute = start_min
    for i in range(int(hours * 12)):
        _fridge_report(model, minute, "cooling" if i % 2 == 0 else "idle")
        minute += 5.0
    if defrost:
        for _ in range(3):
            _fridge_report(model, minute, "defrost")
            minute += 5.0
    return minute


def test_defrost_overdue_is_zero_while_defrosts_come_on_time_and_grows_when_they_stop() -> None:
    model = DeviceModel(PROFILES["refrigerator"], EngineConfig())
    minute = _run_fridge(model, 0.0, 20.0, defrost=True)  # first defrost: no interval yet
    closed = model._close()
    assert closed is not None
    assert "defrost_overdue_h" not in closed.values
    for _ in range(3):  # on time: every 20 hours, 10 of them running
        minute = _run_fridge(model, minute, 20.0, defrost=True)
        closed = model._close()
        assert closed is not None
        assert closed.values["defrost_overdue_h"] == 0.0
    # the heater fails: 40 hours (20 running) with no defrost, 5 running hours past
    # 1.5 times the longest interval
    _run_fridge(model, minute, 40.0, defrost=False)
    closed = model._close()
    assert closed is not None
    assert abs(closed.values["defrost_overdue_h"] - 5.0) < 0.2


def test_fridge_that_never_reports_defrosts_has_no_overdue_feature() -> None:
    model = DeviceModel(PROFILES["refrigerator"], EngineConfig())
    _run_fridge(model, 0.0, 100.0, defrost=False)
    closed = model._close()
    assert closed is not None
    assert "defrost_overdue_h" not in closed.values


def test_stopped_defrosts_are_ticketed_as_defrost_failure_before_the_freezer_warms() -> None:
    fleet, iced, others = _run_with_fault(
        "refrigerator",
        "BCD-470WP",
        6,
        fault_plan("FR_DEFROST_FAILURE", START + timedelta(days=12), 10),
        days=30,
        seed=3,
    )
    assert [r.fault_code for r in iced] == ["FR_DEFROST_FAILURE"]
    assert iced[0].evidence["drift"]["defrost_overdue_h"] >= 5.0
    failure_at = fleet.labels()["fr-000001"]["failure_at"]
    assert failure_at is not None
    assert iced[0].detected_at < datetime.fromisoformat(failure_at) - timedelta(days=1)
    assert others == []


def test_fan_ripple_is_the_mean_step_between_successive_running_reports() -> None:
    model = DeviceModel(PROFILES["air_conditioner"], EngineConfig())
    rpms = [1000.0, 1010.0, 990.0, 1000.0, 1030.0, 1000.0]
    for i, rpm in enumerate(rpms):
        model.observe(
            START.timestamp() + 300.0 * i,
            {
                "indoor_temp_c": 26.0,
                "setpoint_c": 24.0,
                "outdoor_temp_c": 33.0,
                "supply_air_temp_c": 14.0,
                "evaporator_temp_c": 8.0,
                "compressor_current_a": 4.0,
                "indoor_fan_rpm": rpm,
                "suction_pressure_kpa": 1050.0,
            },
            {"power": "on", "mode": "cool"},
        )
    closed = model._close()
    assert closed is not None
    steps = [abs(b - a) for a, b in itertools.pairwise(rpms)]
    assert closed.values["ripple_indoor_fan_rpm"] == sum(steps) / len(steps)


def test_worn_fan_bearing_is_ticketed_from_its_ripple_weeks_before_the_fan_stalls() -> None:
    _, worn, others = _run_with_fault(
        "air_conditioner",
        "KFR-35GW",
        5,
        fault_plan("AC_FAN_BEARING_WEAR", START + timedelta(days=8), 45),
        days=40,
        seed=12,
    )
    assert [r.fault_code for r in worn] == ["AC_FAN_BEARING_WEAR"]
    assert worn[0].detected_at < START + timedelta(days=30)
    assert others == []


def test_weak_capacitor_is_ticketed_from_current_beyond_the_work_before_it_fails() -> None:
    fleet, weak, others = _run_with_fault(
        "air_conditioner",
        "KFR-35GW",
        5,
        fault_plan("AC_COMPRESSOR_CAPACITOR", START + timedelta(days=18), 25),
        days=50,
        seed=21,
    )
    failure = fleet.recording("ac-000001").failure_at
    assert failure is not None
    assert [r.fault_code for r in weak] == ["AC_COMPRESSOR_CAPACITOR"]
    assert weak[0].detected_at < datetime.fromtimestamp(failure, UTC) - timedelta(days=7)
    assert weak[0].parts[0].sku == "AC-CAPACITOR"
    assert weak[0].evidence["drift"]["current_excess_pct"] > 0
    assert others == []


def _wash_load(device_id: str, day: float, valve: float, rng: np.random.Generator) -> Telemetry:
    """A cycle whose fill and drain both scale with an unreported load."""
    load = float(rng.uniform(0.4, 1.8))
    wash = _wash(device_id, day, 0.0, rng)
    metrics = dict(wash.metrics)
    metrics["fill_time_s"] = 120.0 * load / valve * float(rng.normal(1.0, 0.02))
    metrics["drain_time_s"] = 70.0 * load * float(rng.normal(1.0, 0.02))
    return Telemetry(
        device_id=device_id,
        ts=wash.ts,
        kind=wash.kind,
        model=wash.model,
        metrics=metrics,
        state=wash.state,
    )


def test_worn_inlet_valve_is_found_from_the_fill_drain_ratio_when_loads_hide_it() -> None:
    rng = np.random.default_rng(7)
    engine = _peer_fleet(lambda device, day: _wash_load(device, day, 1.0, rng))
    # the valve passes 75 % of the water it should: within the spread the loads give the
    # fill time, far outside the ratio of fill to drain
    tickets = [
        report
        for cycle in range(1, 7)
        for report in engine.observe(_wash_load("wm-000001", 4 + cycle, 0.75, rng))
    ]
    assert [t.fault_code for t in tickets] == ["WM_INLET_VALVE_WEAR"]
    deviation = tickets[0].evidence["peer_deviation"]
    assert deviation["fill_drain_ratio"] >= 5.0
    assert deviation["fill_time_s"] < 5.0
    assert tickets[0].parts[0].sku == "WM-INLET-VALVE"
