"""Two-compartment refrigerator with one compressor, cycling and timed defrost.

Heat leaks into both compartments through the cabinet (``UA × (ambient - inside)``) and
with every door opening; the compressor's capacity falls in a warm kitchen. The duty
cycle is load over capacity; when the load exceeds the capacity the compartments settle
warmer by ``deficit / UA``. The compressor cycles about every 45 minutes, so a 5-minute
sample sees it on or off; every 8-12 hours of running a defrost heater warms the
evaporator above 0 °C for about 25 minutes.

Faults:

- ``FR_DOOR_GASKET_LEAK``: warm air leaks in: duty rises without more door openings,
  until the fridge compartment cannot be held.
- ``FR_DEFROST_FAILURE``: no more defrost peaks; ice insulates the evaporator (colder
  coil) and blocks the air to the freezer (warmer freezer).
- ``FR_CONDENSER_FAN_FAILURE`` (sudden): the condenser cannot reject heat: capacity
  collapses, the compressor runs flat out and draws more current.

Functional failure: fridge above 8 °C for an hour (gasket, condenser fan), freezer above
-12 °C for an hour (defrost).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from firmware_sim.core import (
    HOUR,
    Series,
    StateColumn,
    first_sustained,
    lowpass,
    rolling_mean,
)
from firmware_sim.spec import Profile, SimContext
from firmware_sim.usage import events_from_rate, meal_rate

__all__ = ["simulate"]

INTERVAL_S: Final = 300.0
_CYCLE_S: Final = 45 * 60.0


def simulate(ctx: SimContext) -> Series:
    """Simulate one refrigerator over the context's window."""
    rng = ctx.rng
    t = ctx.grid(INTERVAL_S)
    dt = INTERVAL_S
    n = len(t)
    ambient = ctx.weather.indoor_ambient(t, dt, garage=ctx.profile is Profile.GARAGE)
    ambient = ambient + rng.normal(0.0, 0.15, n)
    hour, _, _ = ctx.household.local(t)
    heavy = ctx.profile is Profile.HEAVY_USER
    per_hour = (16.0 if heavy else 8.0) * rng.uniform(0.7, 1.3)
    door = events_from_rate(meal_rate(hour) * per_hour / HOUR * ctx.household.awake(t), dt, rng)

    fridge_set = (
        rng.choice([1.5, 2.0]) if ctx.profile is Profile.ODD_SETPOINT else rng.uniform(3.5, 5.0)
    )
    freezer_set = rng.uniform(-19.5, -17.0)
    ua_f = 0.85 * rng.normal(1.0, 0.05)  # W/K
    ua_z = 0.60 * rng.normal(1.0, 0.05)
    q0 = 135.0 * rng.normal(1.0, 0.04)  # W of cooling
    e_door = 4200.0  # J per opening (warm air and a little food)

    s_gasket = np.clip(ctx.severity("FR_DOOR_GASKET_LEAK", t), 0.0, 1.5)
    s_ice = np.clip(ctx.severity("FR_DEFROST_FAILURE", t), 0.0, 1.4)
    s_cond = ctx.severity("FR_CONDENSER_FAN_FAILURE", t)

    gasket = 10.0 * s_gasket
    load_f = ua_f * (1.0 + gasket) * (ambient - fridge_set) + door * e_door / dt
    load_z = ua_z * (ambient - freezer_set) + 0.3 * door * e_door / dt
    load = np.clip(load_f + load_z, 0.0, None)
    capacity = (
        q0
        * np.clip(1.0 - 0.012 * (ambient - 25.0), 0.5, 1.2)
        * (1.0 - 0.85 * s_cond)
        * (1.0 - 0.45 * s_ice)
    )
    duty = np.clip(load / capacity, 0.0, 1.0)
    deficit = np.clip(load - capacity, 0.0, None)
    fridge_eq = np.minimum(fridge_set + 0.5 * deficit / (ua_f * (1.0 + gasket)), ambient)
    freezer_eq = np.minimum(freezer_set + 0.25 * deficit / ua_z + 10.0 * s_ice**2, ambient)
    fridge = lowpass(fridge_eq, dt, 2.0 * HOUR)
    freezer = lowpass(freezer_eq, dt, 3.0 * HOUR)

    phase = (np.arange(n) * dt / _CYCLE_S + rng.uniform()) % 1.0
    running = phase < duty
    # defrost every ~10 h of compressor running, unless the heater has failed
    run_hours = np.cumsum(running) * dt / HOUR
    defrost_every = rng.uniform(8.0, 12.0)
    in_defrost = (run_hours % defrost_every) < (25.0 / 60.0) * np.clip(duty * 2.0, 0.3, 1.0)
    defrost_ok = s_ice <= 0.0
    defrosting = in_defrost & defrost_ok & (run_hours > 1.0)
    running = running & ~defrosting

    ripple = np.where(running, -0.6, 0.5) * (phase / np.maximum(duty, 0.05)).clip(0, 1)
    fridge_m = fridge + ripple + 0.35 * door + np.where(defrosting, 0.6, 0.0)
    freezer_m = freezer + 0.8 * ripple + np.where(defrosting, 2.5, 0.0)
    evap_run = -24.0 - 4.0 * duty - 7.0 * s_ice - 3.0 * s_cond
    evap_off = -12.0 + 0.2 * (ambient - 25.0) - 6.0 * s_ice
    evap = np.where(defrosting, rng.uniform(4.0, 9.0, n), np.where(running, evap_run, evap_off))
    i_run = 1.05 * rng.normal(1.0, 0.03)
    current = np.where(
        running,
        i_run * (1.0 + 0.01 * (ambient - 25.0)) * (1.0 + 0.4 * s_cond) * (1.0 + 0.05 * s_ice),
        0.0,
    )
    duty_pct = 100.0 * rolling_mean(np.where(defrosting, 0.0, duty), 12)

    onset = ctx.onset()
    failure: float | None = None
    fault = ctx.spec.fault
    if fault is not None and fault.code in ("FR_DOOR_GASKET_LEAK", "FR_CONDENSER_FAN_FAILURE"):
        failure = first_sustained(t, fridge > 8.0, after=onset, samples=12)
    elif fault is not None and fault.code == "FR_DEFROST_FAILURE":
        failure = first_sustained(t, freezer > -12.0, after=onset, samples=12)
    return Series(
        t=t,
        metrics={
            "fridge_temp_c": fridge_m,
            "freezer_temp_c": freezer_m,
            "ambient_temp_c": ambient,
            "evaporator_temp_c": evap,
            "compressor_current_a": current,
            "compressor_duty_pct": duty_pct,
            "door_open_count": door,
        },
        state=[
            StateColumn("power", ("off", "on"), np.ones(n, dtype=np.int8)),
            StateColumn(
                "mode",
                ("cooling", "idle", "defrost"),
                np.where(defrosting, 2, np.where(running, 0, 1)).astype(np.int8),
            ),
        ],
        failure_at=failure,
    )
