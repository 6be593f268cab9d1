"""Split air conditioner (inverter heat pump): a room heat balance and a coil model.

The room gains heat through its envelope (``UA × (outdoor - indoor)``), from people and
from the sun; the unit removes up to its capacity, which falls in hot weather, with lost
refrigerant, and with lost airflow. When the load exceeds the capacity the room settles
above the setpoint by ``deficit / UA``. Across the indoor coil, energy balance gives the
supply air (``indoor - Q / (ṁ·cp)``) and the coil's conductance gives the evaporator
temperature; the suction pressure is the refrigerant's saturation pressure at the
evaporator (R32: about 813 kPa at 0 °C, +29 kPa per K near that point).

Faults, as DESIGN.md's physics paragraph states them:

- ``AC_FILTER_CLOGGED``: airflow falls, so the supply air gets colder relative to the
  room, the evaporator colder still, and capacity falls (cooling takes longer).
- ``AC_REFRIGERANT_LEAK``: charge is lost: suction pressure and capacity fall, the
  compressor draws less, the supply air is less cold.
- ``AC_FAN_BEARING_WEAR``: friction slows the indoor fan until it stalls.
- ``AC_COMPRESSOR_CAPACITOR``: a weakening run capacitor raises compressor current until
  the compressor no longer starts (hard to start in hot weather first).

Functional failure: the room no longer within 2 °C of the setpoint for an hour while the
unit is on (filter, refrigerant); fan below 10% of its commanded speed (bearing);
compressor demanded but drawing no current for 30 minutes (capacitor).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from firmware_sim.core import (
    HOUR,
    BoolArray,
    FloatArray,
    Series,
    StateColumn,
    first_sustained,
    lowpass,
)
from firmware_sim.spec import Profile, SimContext

__all__ = ["simulate"]

INTERVAL_S: Final = 300.0
_NOMINAL_KW: Final = {"KFR-35GW": 3.5, "KFR-26GW": 2.6}
_FAN_MAX_RPM: Final = 1300.0


def _setpoints(ctx: SimContext, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Owner setpoints for cooling and heating, changed now and then (whole days)."""
    rng = ctx.rng
    odd = ctx.profile is Profile.ODD_SETPOINT
    cool = rng.uniform(20.5, 22.0) if odd else rng.choice([24.0, 25.0, 26.0, 26.0, 27.0])
    heat = rng.uniform(25.0, 26.0) if odd else rng.choice([20.0, 21.0, 22.0, 22.0])
    _, day, _ = ctx.household.local(t)
    day_idx = (day - day[0]).astype(np.int64)
    n_days = int(day_idx[-1]) + 1 if len(day_idx) else 1
    changes = np.where(rng.random(n_days) < 0.12, rng.choice([-1.0, -0.5, 0.5, 1.0], n_days), 0.0)
    tweak = np.clip(np.cumsum(changes), -1.5, 1.5)[day_idx]
    return cool + tweak, heat + tweak


def _room(target: FloatArray, on: BoolArray, dt: float) -> FloatArray:
    """Room temperature: fast lag while the unit runs, slow (building mass) when off."""
    a_on = float(np.exp(-dt / (0.6 * HOUR)))
    a_off = float(np.exp(-dt / (4.0 * HOUR)))
    out = np.empty_like(target)
    x = float(target[0])
    tgt = target.tolist()
    flags = on.tolist()
    for i, (g, f) in enumerate(zip(tgt, flags, strict=True)):
        a = a_on if f else a_off
        x = a * x + (1.0 - a) * g
        out[i] = x
    return out


def simulate(ctx: SimContext) -> Series:
    """Simulate one air conditioner over the context's window."""
    rng = ctx.rng
    t = ctx.grid(INTERVAL_S)
    dt = INTERVAL_S
    weather, home = ctx.weather, ctx.household
    out = weather.outdoor(t)
    sun = weather.sun(t)
    hot = ctx.profile is Profile.HOT_ATTIC

    q0 = _NOMINAL_KW.get(ctx.spec.model, 3.5) * rng.normal(1.0, 0.04)
    ua = q0 * 0.04 * rng.normal(1.0, 0.07) * (1.15 if hot else 1.0)
    solar = q0 * 0.15 * rng.uniform(0.8, 1.2) * (1.5 if hot else 1.0)
    at_home = home.at_home(t)
    awake = home.awake(t)
    sleeps_with_ac = rng.random() < 0.6
    gains = 0.1 + 0.18 * at_home + solar * sun
    free = lowpass(out + gains / ua, dt, 5 * HOUR)
    sp_cool, sp_heat = _setpoints(ctx, t)
    season_cool = lowpass(out, dt, 48 * HOUR) > 17.0

    want_cool = season_cool & (free > sp_cool + 0.8)
    want_heat = ~season_cool & (free < sp_heat - 2.0)
    present = awake | (at_home & sleeps_with_ac)
    on = present & (want_cool | want_heat)
    sign = np.where(season_cool, 1.0, -1.0)
    setp = np.where(season_cool, sp_cool, sp_heat)

    s_filter = np.clip(ctx.severity("AC_FILTER_CLOGGED", t), 0.0, 1.15)
    s_leak = np.clip(ctx.severity("AC_REFRIGERANT_LEAK", t), 0.0, 1.6)
    s_fan = ctx.severity("AC_FAN_BEARING_WEAR", t)
    s_cap = ctx.severity("AC_COMPRESSOR_CAPACITOR", t)

    load = np.clip(sign * (ua * (out - setp) + gains), 0.0, None)
    plr_req = np.clip(load / q0, 0.2, 1.0)
    fan_cmd = np.where(on, (800.0 + 500.0 * plr_req) * rng.normal(1.0, 0.02), 0.0)
    # grease stiffens in the cold: a worn bearing drags more on cool days
    drag = s_fan * (1.0 + 0.02 * (22.0 - np.minimum(out, 35.0)))
    stalled = on & (drag > 1.1)
    fan = np.where(stalled, 0.0, fan_cmd * (1.0 - 0.45 * np.clip(drag, 0.0, 1.0)))
    af_rel = np.where(fan_cmd > 0, fan / np.maximum(fan_cmd, 1.0), 0.0) * (1.0 - 0.85 * s_filter)
    airflow = fan / _FAN_MAX_RPM * (1.0 - 0.85 * s_filter)

    # capacitor: the compressor no longer starts once the capacitance cannot give the
    # starting torque, which hot weather (high head pressure) raises; then it locks out
    capacitance = 1.0 - 0.45 * s_cap
    no_start = on & (s_cap > 0) & (capacitance < 0.6 + 0.004 * (out - 30.0))
    dead = np.maximum.accumulate(no_start) if len(no_start) else no_start
    running = on & ~dead

    cap_out = np.where(
        sign > 0, 1.0 - 0.011 * (out - 35.0), np.clip(1.0 + 0.02 * (out - 7.0), 0.45, 1.15)
    )
    charge = np.clip(1.0 - 0.55 * s_leak, 0.05, 1.0)
    cap_charge = np.clip(charge / 0.92, 0.0, 1.0) ** 1.5
    cap_air = (0.45 + 0.55 * np.sqrt(np.clip(af_rel, 0.0, 1.0))) * np.clip(airflow / 0.2, 0.0, 1.0)
    ua_coil = 0.13 * np.maximum(airflow, 0.03) ** 0.6
    # the coil cannot run colder than about -6 °C (frost protection) or hotter than 55 °C,
    # so with little air over it the air side limits what the unit can move
    coil_gap = np.where(sign > 0, 32.0, 35.0)
    cap = np.minimum(q0 * cap_out * cap_charge * cap_air, ua_coil * coil_gap) * running

    deficit = np.clip(load - cap, 0.0, None)
    target = np.where(on, setp + sign * deficit / ua, out + gains / ua)
    indoor = _room(target, on, dt)

    # pulling the room down (or up) runs the compressor flat out
    pull = np.clip(sign * (indoor - setp) / 1.0, 0.0, 1.0)
    q = np.where(running, np.minimum(np.maximum(load, pull * cap), cap), 0.0)
    plr = np.where(running, np.clip(q / np.maximum(q0 * cap_out, 0.1), 0.15, 1.0), 0.0)
    mdot_cp = np.maximum(0.26 * airflow, 0.01)
    coil = indoor - sign * q / ua_coil
    # the air leaves no colder (hotter) than the coil it passed
    drop = np.minimum(q / mdot_cp, 0.95 * np.abs(indoor - coil))
    supply = np.where(on, indoor - sign * drop, indoor + 0.015 * (out - indoor))
    # low charge lowers the evaporating pressure: a colder coil at a lower pressure
    coil = coil - np.where(running, sign * 9.0 * s_leak, 0.0)
    coil = np.where(running, coil, lowpass(indoor, dt, 0.3 * HOUR))
    sat_t = np.where(sign > 0, coil, out - 6.0 - 4.0 * plr - 6.0 * s_leak)
    settle = np.minimum(indoor, out)
    suction = np.where(
        running,
        813.0 + 29.0 * sat_t,
        (813.0 + 29.0 * settle) * np.clip(0.6 + 0.4 * charge, 0.0, 1.0),
    )
    i_rated = q0 * 1.55 * rng.normal(1.0, 0.03)
    current = np.where(
        running,
        i_rated
        * (0.3 + 0.7 * plr)
        * (1.0 + 0.012 * sign * (out - 35.0))
        * (1.0 + 0.45 * np.clip(s_cap, 0.0, 1.2))
        * (1.0 - 0.25 * np.clip(s_leak, 0.0, 1.5)),
        0.0,
    )
    fan_noise = rng.normal(0.0, 1.0, len(t)) * 6.0 * (1.0 + 8.0 * np.clip(s_fan, 0.0, 1.0))
    fan_out = np.where(fan > 0, fan + fan_noise, 0.0)

    onset = ctx.onset()
    failure = _failure(ctx, t, on, indoor, setp, sign, fan, fan_cmd, current, onset)
    return Series(
        t=t,
        metrics={
            "indoor_temp_c": indoor,
            "setpoint_c": setp,
            "outdoor_temp_c": out,
            "supply_air_temp_c": supply,
            "evaporator_temp_c": coil,
            "compressor_current_a": current,
            "indoor_fan_rpm": np.maximum(fan_out, 0.0),
            "suction_pressure_kpa": np.maximum(suction, 50.0),
        },
        state=[
            StateColumn("power", ("off", "on"), on.astype(np.int8)),
            StateColumn("mode", ("heat", "cool"), season_cool.astype(np.int8)),
        ],
        failure_at=failure,
    )


def running_for(on: BoolArray) -> npt.NDArray[np.int64]:
    """How many consecutive samples the unit has been on at each sample."""
    idx = np.arange(len(on), dtype=np.int64)
    last_off = np.maximum.accumulate(np.where(on, -1, idx))
    return np.asarray(idx - last_off, dtype=np.int64)


def _failure(
    ctx: SimContext,
    t: FloatArray,
    on: np.ndarray,
    indoor: FloatArray,
    setp: FloatArray,
    sign: FloatArray,
    fan: FloatArray,
    fan_cmd: FloatArray,
    current: FloatArray,
    onset: float,
) -> float | None:
    fault = ctx.spec.fault
    if fault is None:
        return None
    code = fault.code
    if code in ("AC_FILTER_CLOGGED", "AC_REFRIGERANT_LEAK"):
        # a unit just switched on in a hot room is pulling down, not failing: count only
        # after two hours of running
        settled = running_for(on) >= 24
        off_setpoint = on & settled & (sign * (indoor - setp) > 2.0)
        return first_sustained(t, off_setpoint, after=onset, samples=12)
    if code == "AC_FAN_BEARING_WEAR":
        return first_sustained(t, on & (fan < 0.1 * fan_cmd), after=onset)
    if code == "AC_COMPRESSOR_CAPACITOR":
        return first_sustained(t, on & (current < 0.5), after=onset, samples=6)
    return None
