"""Robot vacuum with a 4-cell Li-ion pack: one report at the end of every cleaning run.

A run lasts until the usable energy of the pack (capacity × nominal voltage, to 20% left)
is spent at the run's power draw, which depends on the suction mode the owner picked and
on how much carpet the route covers. The pack's full-charge capacity fades slowly with
charge cycles (about 12% per 1000); the loaded voltage sags with internal resistance.
The suction fan spins faster when its load falls (less air through a blocked filter).

Faults: ``RV_BATTERY_AGING`` (capacity falls much faster than cycling explains, runs get
shorter, the voltage sags), ``RV_BRUSH_MOTOR_WEAR`` (brush current rises until it
stalls), ``RV_FILTER_CLOGGED`` (fan speed rises). Functional failure: a run under 60% of
a new battery's runtime for the same mode and floor; brush current above the 1.2 A stall
limit; fan above 125% of its new speed in the same mode.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from firmware_sim.core import DAY, HOUR, FloatArray, Series, StateColumn, first_sustained
from firmware_sim.spec import Profile, SimContext

__all__ = ["simulate"]

_MODES: Final = ("quiet", "standard", "max")
_MODE_W: Final = np.array([8.0, 16.0, 30.0])
_MODE_RPM: Final = np.array([9000.0, 12000.0, 15500.0])
_NOMINAL_V: Final = 14.4


def run_times(ctx: SimContext) -> FloatArray:
    """End times of the runs: a scheduled run on most days, extra runs now and then."""
    rng = ctx.rng
    heavy = ctx.profile is Profile.HEAVY_USER
    n_days = int(np.ceil((ctx.t1 - ctx.t0) / DAY))
    offset = ctx.household.utc_offset_h * HOUR
    schedule_h = rng.uniform(9.0, 14.0)
    days_on = rng.random(7) < rng.uniform(0.55, 1.0)
    ends: list[float] = []
    for d in range(n_days):
        day_start = ctx.t0 + d * DAY
        local_midnight = day_start - ((day_start + offset) % DAY)
        weekday = int(((local_midnight + offset) / DAY + 3) % 7)
        runs = (1 if days_on[weekday] else 0) + rng.poisson(1.0 if heavy else 0.15)
        for r in range(runs):
            hour = schedule_h if r == 0 else rng.uniform(8.0, 21.0)
            ends.append(local_midnight + (hour + 1.6 + rng.uniform(0.0, 0.3)) * HOUR)
    t = np.unique(np.round(np.asarray(ends, dtype=np.float64)))
    return np.asarray(t[(t >= ctx.t0) & (t < ctx.t1)], dtype=np.float64)


def simulate(ctx: SimContext) -> Series:
    """Simulate one robot vacuum's run reports over the context's window."""
    rng = ctx.rng
    t = run_times(ctx)
    n = len(t)
    mode = rng.choice(3, size=n, p=rng.dirichlet([2.0, 5.0, 1.5]))
    carpet = np.clip(rng.normal(rng.uniform(0.0, 0.5), 0.05, n), 0.0, 1.0)

    s_batt = np.clip(ctx.severity("RV_BATTERY_AGING", t), 0.0, 1.5)
    s_brush = ctx.severity("RV_BRUSH_MOTOR_WEAR", t)
    s_filter = np.clip(ctx.severity("RV_FILTER_CLOGGED", t), 0.0, 1.4)

    cycles0 = ctx.age_days * rng.uniform(0.6, 1.1)
    cycles = np.floor(cycles0 + np.cumsum(rng.uniform(1.0, 1.25, n)))
    c_new = 5200.0 * rng.normal(1.0, 0.025)
    fade = 1.0 - 0.00012 * cycles
    capacity = c_new * fade * (1.0 - 0.5 * s_batt)
    brush = (0.28 + 0.3 * carpet) * rng.normal(1.0, 0.04, n) * (1.0 + 2.4 * s_brush**1.4)
    stalled = brush > 1.2
    brush_power = brush * _NOMINAL_V
    fan_load = 1.0 - 0.28 * s_filter
    power = 14.0 + _MODE_W[mode] * fan_load + 6.0 * carpet + brush_power
    power_new = 14.0 + _MODE_W[mode] + 6.0 * carpet + (0.28 + 0.3 * carpet) * _NOMINAL_V
    resistance = 0.09 * (1.0 + cycles / 1500.0 + 2.5 * s_batt)
    amps = power / _NOMINAL_V
    voltage = 15.2 - amps * resistance - 0.4 * (1.0 - fade) + rng.normal(0.0, 0.03, n)
    usable = 0.8 * _NOMINAL_V / 1000.0 * 60.0  # minutes per mAh per W
    runtime = usable * capacity / power
    runtime_new = usable * c_new / power_new
    runtime = np.where(stalled, np.minimum(runtime, rng.uniform(2.0, 10.0, n)), runtime)
    fan = _MODE_RPM[mode] * (1.0 + 0.32 * s_filter) * rng.normal(1.0, 0.01, n)
    fan_new = _MODE_RPM[mode]

    onset = ctx.onset()
    failure: float | None = None
    fault = ctx.spec.fault
    code = fault.code if fault is not None else None
    if code == "RV_BATTERY_AGING":
        failure = first_sustained(t, runtime < 0.6 * runtime_new, after=onset)
    elif code == "RV_BRUSH_MOTOR_WEAR":
        failure = first_sustained(t, stalled, after=onset)
    elif code == "RV_FILTER_CLOGGED":
        failure = first_sustained(t, fan > 1.25 * fan_new, after=onset)
    return Series(
        t=t,
        metrics={
            "battery_voltage_v": voltage,
            "battery_full_capacity_mah": capacity,
            "runtime_min": runtime,
            "main_brush_current_a": brush,
            "suction_fan_rpm": fan,
            "charge_cycles": cycles,
        },
        state=[
            StateColumn("suction", _MODES, mode.astype(np.int8)),
            StateColumn("result", ("done", "brush_stalled"), stalled.astype(np.int8)),
        ],
        failure_at=failure,
    )
