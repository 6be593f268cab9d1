"""Front-loading washing machine: one report at the end of every wash cycle.

A cycle fills (volume over the inlet valve's flow at the home's mains pressure), heats
(water mass × heat capacity × temperature rise over the heater's effective power), washes,
drains (volume over the pump's rate against the standpipe head) and spins (vibration grows
with unbalance and the square of the spin speed; the controller lowers the spin speed when
the load is badly unbalanced). Programs, load sizes and the cold-water temperature (it
follows the season) change every cycle.

Faults: ``WM_DRUM_BEARING_WEAR`` raises spin vibration and motor current;
``WM_DRAIN_PUMP_CLOG`` slows draining; ``WM_INLET_VALVE_WEAR`` slows filling;
``WM_HEATER_SCALE`` slows heating. Functional failure, per the catalog: vibration above
1.2 g (spin aborted), drain above 300 s, fill above 480 s, heating more than twice as
long as a new heater would take for the same cycle.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from firmware_sim.core import DAY, HOUR, FloatArray, Series, StateColumn, first_sustained
from firmware_sim.spec import Profile, SimContext

__all__ = ["simulate"]

_PROGRAMS: Final = ("cotton", "eco", "quick", "synthetic", "cold")
_TARGET_C: Final = np.array([40.0, 60.0, 30.0, 40.0, 0.0])
_SPIN_RPM: Final = np.array([1400.0, 1200.0, 800.0, 1000.0, 1200.0])
_PROGRAM_P: Final = np.array([0.35, 0.15, 0.25, 0.15, 0.10])
_HEATER_W: Final = 2000.0


def cycle_times(ctx: SimContext) -> FloatArray:
    """End times of the wash cycles: a few a week, more at weekends, mornings or evenings."""
    rng = ctx.rng
    heavy = ctx.profile is Profile.HEAVY_USER
    per_day = rng.uniform(1.6, 2.6) if heavy else rng.uniform(0.35, 1.0)
    n_days = int(np.ceil((ctx.t1 - ctx.t0) / DAY))
    days = ctx.t0 + DAY * np.arange(n_days, dtype=np.float64)
    _, _, weekend = ctx.household.local(days + 12 * HOUR)
    counts = rng.poisson(per_day * np.where(weekend, 1.6, 0.8))
    starts: list[float] = []
    offset = ctx.household.utc_offset_h * HOUR
    for day_start, count in zip(days.tolist(), counts.tolist(), strict=True):
        local_midnight = day_start - ((day_start + offset) % DAY)
        hours = np.sort(rng.choice([8.0, 10.0, 14.0, 19.0, 20.5], size=count))
        jitter = rng.uniform(0.0, 1.5, len(hours))
        starts.extend((local_midnight + (hours + jitter) * HOUR).tolist())
    begin = np.unique(np.round(np.asarray(starts, dtype=np.float64)))
    # a cycle lasts ~1-3 h; its report is sent at the end
    t = begin + np.round(rng.uniform(3600.0, 9000.0, len(begin)))
    return np.asarray(t[(t >= ctx.t0) & (t < ctx.t1)], dtype=np.float64)


def simulate(ctx: SimContext) -> Series:
    """Simulate one washing machine's cycle reports over the context's window."""
    rng = ctx.rng
    t = cycle_times(ctx)
    n = len(t)
    program = rng.choice(len(_PROGRAMS), size=n, p=_PROGRAM_P)
    load_kg = np.clip(rng.normal(4.5, 1.6, n), 1.0, 10.0)
    inlet_c = ctx.weather.mains_water(t) + rng.normal(0.0, 0.5, n)
    mains_kpa = rng.uniform(220.0, 420.0) * rng.normal(1.0, 0.06, n)
    valve_lpm = 11.0 * rng.normal(1.0, 0.05)
    pump_lpm = 24.0 * rng.normal(1.0, 0.05)
    head = rng.uniform(0.9, 1.15)
    heater_w = _HEATER_W * rng.normal(1.0, 0.03) * rng.normal(1.0, 0.015, n) ** 2

    s_bear = np.clip(ctx.severity("WM_DRUM_BEARING_WEAR", t), 0.0, 2.0)
    s_drain = np.clip(ctx.severity("WM_DRAIN_PUMP_CLOG", t), 0.0, 1.3)
    s_valve = np.clip(ctx.severity("WM_INLET_VALVE_WEAR", t), 0.0, 1.3)
    s_scale = np.clip(ctx.severity("WM_HEATER_SCALE", t), 0.0, 1.5)

    volume = 12.0 + 2.2 * load_kg
    flow = valve_lpm * np.sqrt(mains_kpa / 300.0) * (1.0 - 0.78 * s_valve)
    fill = 60.0 * volume / flow + rng.normal(0.0, 4.0, n)
    drain_rate = pump_lpm / head * (1.0 - 0.87 * s_drain)
    drain = 60.0 * (volume + 3.0) / drain_rate + 8.0 + rng.normal(0.0, 3.0, n)

    target = _TARGET_C[program]
    rise = np.clip(target - inlet_c, 0.0, None)
    water_kg = 7.0 + 1.1 * load_kg
    heat_new = water_kg * 4186.0 * rise / (heater_w * 0.92)
    heat = heat_new / (1.0 - 0.58 * s_scale)
    heat = np.where(rise > 0, heat + rng.normal(0.0, 10.0, n), 0.0)
    heat_new = np.where(rise > 0, heat_new, 0.0)
    water = np.where(rise > 0, target + rng.normal(0.0, 0.8, n), inlet_c)

    unbalance = rng.gamma(2.0, 0.25, n) * (1.2 - 0.04 * load_kg)
    spin = _SPIN_RPM[program] - np.where(
        unbalance > 0.9, 400.0, np.where(unbalance > 0.6, 200.0, 0.0)
    )
    spin = spin + rng.normal(0.0, 5.0, n)
    speed2 = (spin / 1400.0) ** 2
    vib = 0.12 * rng.normal(1.0, 0.08) + 0.25 * unbalance * speed2 + 1.15 * s_bear**1.3 * speed2
    vib = vib * rng.normal(1.0, 0.05, n)
    aborted = vib > 1.2
    spin = np.where(aborted, 400.0 + rng.normal(0.0, 5.0, n), spin)
    motor = (
        (1.5 + 0.09 * load_kg)
        * (spin / 1400.0 + 0.2)
        * (1.0 + 0.5 * s_bear)
        * rng.normal(1.0, 0.04, n)
    )

    onset = ctx.onset()
    failure: float | None = None
    fault = ctx.spec.fault
    code = fault.code if fault is not None else None
    if code == "WM_DRUM_BEARING_WEAR":
        failure = first_sustained(t, aborted, after=onset)
    elif code == "WM_DRAIN_PUMP_CLOG":
        failure = first_sustained(t, drain > 300.0, after=onset)
    elif code == "WM_INLET_VALVE_WEAR":
        failure = first_sustained(t, fill > 480.0, after=onset)
    elif code == "WM_HEATER_SCALE":
        failure = first_sustained(t, (heat_new > 60.0) & (heat > 2.0 * heat_new), after=onset)
    result = np.where(aborted, 1, np.where(drain > 300.0, 2, np.where(fill > 480.0, 3, 0)))
    return Series(
        t=t,
        metrics={
            "drum_vibration_rms_g": vib,
            "motor_current_a": motor,
            "spin_rpm": spin,
            "fill_time_s": fill,
            "drain_time_s": drain,
            "heat_time_s": heat,
            "water_temp_c": water,
        },
        state=[
            StateColumn("program", _PROGRAMS, program.astype(np.int8)),
            StateColumn(
                "result",
                ("ok", "unbalance_abort", "drain_error", "fill_error"),
                result.astype(np.int8),
            ),
        ],
        failure_at=failure,
    )
