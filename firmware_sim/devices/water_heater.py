"""Electric storage water heater (60 L), thermostat with hysteresis, reporting every 5 minutes.

Every step: hot-water draws (showers in the morning and evening, washing-up after meals)
replace tank water with mains water; the tank loses heat to the room; the thermostat
switches the element on below ``setpoint - hysteresis`` and off at the setpoint; the
element heats at ``P × efficiency / (m × c)``. The reported heat rate is the tank's rise
per minute while the element is on. Owners change the setpoint now and then.

Faults: ``WH_SCALE_BUILDUP`` (scale insulates the element: efficiency and heat rate
fall), ``WH_ELEMENT_FAILURE`` (sudden: no current, no heating), ``WH_THERMOSTAT_DRIFT``
(the switching point wanders away from the setpoint). Functional failure: heat rate below
50% of new (two heating samples in a row); heating demanded with no current;
the element switching off more than 8 °C away from the setpoint.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from firmware_sim.core import HOUR, FloatArray, Series, StateColumn, first_sustained, lowpass
from firmware_sim.spec import Profile, SimContext
from firmware_sim.usage import events_from_rate

__all__ = ["simulate"]

INTERVAL_S: Final = 300.0
_TANK_KG: Final = 60.0
_C: Final = 4186.0


def _draw_litres(ctx: SimContext, t: FloatArray) -> FloatArray:
    """Hot water drawn in each step: showers morning and evening, small draws after meals."""
    rng = ctx.rng
    hour, _, weekend = ctx.household.local(t)
    heavy = ctx.profile is Profile.HEAVY_USER
    people = rng.integers(3, 6) if heavy else rng.integers(1, 4)
    morning = np.exp(-0.5 * ((hour - (ctx.household.wake_h + 0.5 + weekend)) / 0.5) ** 2)
    evening = np.exp(-0.5 * ((hour - 21.0) / 1.0) ** 2)
    shower_rate = people * (0.5 * morning + 0.6 * evening) / (1.25 * HOUR)
    showers = events_from_rate(shower_rate * ctx.household.at_home(t), INTERVAL_S, rng)
    small = events_from_rate(0.4 * people / HOUR * ctx.household.awake(t), INTERVAL_S, rng)
    return np.asarray(showers * rng.uniform(18.0, 32.0, len(t)) + small * 2.0, dtype=np.float64)


def _setpoints(ctx: SimContext, t: FloatArray) -> FloatArray:
    rng = ctx.rng
    base = (
        rng.choice([72.0, 75.0])
        if ctx.profile is Profile.ODD_SETPOINT
        else rng.choice([50.0, 55.0, 60.0, 60.0, 65.0])
    )
    _, day, _ = ctx.household.local(t)
    day_idx = (day - day[0]).astype(np.int64)
    n_days = int(day_idx[-1]) + 1 if len(day_idx) else 1
    change = np.where(rng.random(n_days) < 0.04, rng.choice([-5.0, 5.0], n_days), 0.0)
    return np.asarray(np.clip(base + np.cumsum(change), 40.0, 75.0)[day_idx], dtype=np.float64)


def simulate(ctx: SimContext) -> Series:
    """Simulate one water heater over the context's window."""
    rng = ctx.rng
    t = ctx.grid(INTERVAL_S)
    dt = INTERVAL_S
    n = len(t)
    mains_c = ctx.weather.mains_water(t)
    room = ctx.weather.indoor_ambient(t, dt)
    draws = _draw_litres(ctx, t)
    setpoint = _setpoints(ctx, t)
    volts = 230.0 * rng.normal(1.0, 0.01, n)
    power_w = 2000.0 * rng.normal(1.0, 0.03) * (volts / 230.0) ** 2
    hysteresis = rng.uniform(4.0, 7.0)
    loss_ua = 1.6 * rng.normal(1.0, 0.1)  # W/K

    s_scale = np.clip(ctx.severity("WH_SCALE_BUILDUP", t), 0.0, 1.4)
    s_element = ctx.severity("WH_ELEMENT_FAILURE", t)
    drift_dir = 1.0 if rng.random() < 0.5 else -1.0
    drift = drift_dir * 11.0 * np.clip(ctx.severity("WH_THERMOSTAT_DRIFT", t), 0.0, 1.6)
    efficiency = 0.98 * (1.0 - 0.62 * s_scale)
    control = setpoint + drift
    works = s_element <= 0.0

    tank = np.empty(n)
    heating = np.zeros(n, dtype=np.bool_)
    cutoff = np.zeros(n, dtype=np.bool_)
    temp = float(setpoint[0]) - 2.0
    on = False
    gain = (power_w * efficiency * dt / (_TANK_KG * _C)).tolist()
    for i, (drawn, cold, ctl, rm, ok) in enumerate(
        zip(
            draws.tolist(),
            mains_c.tolist(),
            control.tolist(),
            room.tolist(),
            works.tolist(),
            strict=True,
        )
    ):
        frac = min(drawn / _TANK_KG, 1.0)
        temp = temp - frac * (temp - cold) - loss_ua * (temp - rm) * dt / (_TANK_KG * _C)
        if on and temp >= ctl:
            on = False
            cutoff[i] = True
        elif not on and temp < ctl - hysteresis:
            on = True
        if on and ok:
            temp = min(temp + gain[i], ctl + 0.5)
        heating[i] = on
        tank[i] = temp
    current = np.where(heating & works, volts * power_w / 230.0**2 * (230.0 / volts), 0.0)
    rate_new = power_w * 0.98 * 60.0 / (_TANK_KG * _C)
    rate = np.where(heating & works, power_w * efficiency * 60.0 / (_TANK_KG * _C), 0.0)
    inlet = np.where(draws > 0, mains_c, lowpass(np.where(draws > 0, mains_c, room), dt, 2 * HOUR))
    pressure = rng.uniform(280.0, 420.0) + 1.2 * (tank - 20.0) - 25.0 * (draws > 0)

    onset = ctx.onset()
    failure: float | None = None
    fault = ctx.spec.fault
    code = fault.code if fault is not None else None
    if code == "WH_SCALE_BUILDUP":
        failure = first_sustained(t, heating & (rate < 0.5 * rate_new), after=onset, samples=2)
    elif code == "WH_ELEMENT_FAILURE":
        failure = first_sustained(t, heating & (current < 0.5), after=onset)
    elif code == "WH_THERMOSTAT_DRIFT":
        failure = first_sustained(t, cutoff & (np.abs(tank - setpoint) > 8.0), after=onset)
    return Series(
        t=t,
        metrics={
            "tank_temp_c": tank,
            "inlet_temp_c": inlet,
            "setpoint_c": setpoint,
            "element_current_a": current,
            "heat_rate_c_per_min": rate,
            "tank_pressure_kpa": pressure,
        },
        state=[
            StateColumn("power", ("off", "on"), np.ones(n, dtype=np.int8)),
            StateColumn("heating", ("off", "on"), heating.astype(np.int8)),
        ],
        failure_at=failure,
    )
