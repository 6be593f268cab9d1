"""Reverse-osmosis purifier with a pre-filter and a booster pump, reporting every 5 minutes.

Water passes the pre-filter (a pressure drop that grows with its load), the booster pump
(a boost that falls with wear) and the RO membrane, whose product flow is
``A × (pump pressure - osmotic pressure)`` (warmer water permeates faster) and whose
salt passage is nearly independent of pressure, so product TDS rises when the water flux
falls. The pump runs while the household draws water and the buffer tank refills; a
sample taken while idle shows no flow, no current, mains pressure on both gauges and the
last product TDS, slightly raised by stagnation (the familiar "first cup" effect).

Faults: ``WP_RO_MEMBRANE_FOULING`` (product TDS up, flow down), ``WP_PREFILTER_CLOG``
(inlet and pump pressure down, flow down), ``WP_PUMP_WEAR`` (current up, pressure down).
Functional failure: product water above 50 ppm; flow below 50% of new; pump pressure
below 60% of new (new = the same device and conditions without the fault).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from firmware_sim.core import HOUR, FloatArray, Series, StateColumn, first_sustained, lowpass
from firmware_sim.spec import Profile, SimContext
from firmware_sim.usage import meal_rate

__all__ = ["simulate"]

INTERVAL_S: Final = 300.0


def _pump_on(ctx: SimContext, t: FloatArray) -> np.ndarray:
    """Production runs: each draw starts a 10-30 minute refill."""
    rng = ctx.rng
    hour, _, _ = ctx.household.local(t)
    heavy = ctx.profile is Profile.HEAVY_USER
    per_hour = (4.0 if heavy else 2.4) * rng.uniform(0.7, 1.3)
    starts = rng.random(len(t)) < meal_rate(hour) * per_hour * (INTERVAL_S / HOUR) * (
        0.3 + 0.7 * ctx.household.awake(t)
    )
    on = np.zeros(len(t), dtype=np.bool_)
    for i in np.flatnonzero(starts).tolist():
        on[i : i + int(rng.integers(3, 9))] = True
    return on


def simulate(ctx: SimContext) -> Series:
    """Simulate one water purifier over the context's window."""
    rng = ctx.rng
    t = ctx.grid(INTERVAL_S)
    dt = INTERVAL_S
    n = len(t)
    on = _pump_on(ctx, t)
    water_c = ctx.weather.mains_water(t)
    tds_base = rng.uniform(90.0, 380.0)
    # the supply's salinity wanders slowly (source mix, season); start from its mean
    wander = lowpass(np.concatenate(([0.0], rng.normal(0.0, 0.5, n))), dt, 24 * HOUR)[1:]
    tds_in = tds_base * (1.0 + wander) + rng.normal(0.0, 2.0, n)
    hour, _, _ = ctx.household.local(t)
    mains = rng.uniform(220.0, 380.0) * (1.0 - 0.06 * meal_rate(hour)) + rng.normal(0.0, 4.0, n)

    s_foul = np.clip(ctx.severity("WP_RO_MEMBRANE_FOULING", t), 0.0, 2.2)
    s_pre = np.clip(ctx.severity("WP_PREFILTER_CLOG", t), 0.0, 1.3)
    s_pump = np.clip(ctx.severity("WP_PUMP_WEAR", t), 0.0, 1.4)

    boost_new = 560.0 * rng.normal(1.0, 0.03)
    area = 0.0031 * rng.normal(1.0, 0.04)  # L/min per kPa of net driving pressure
    passage_new = 0.028 * rng.normal(1.0, 0.08)
    osmotic = 0.075 * tds_in
    temp_factor = 1.03 ** (water_c - 25.0)

    def hydraulics(
        pre: FloatArray, pump: FloatArray, foul: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        # the pre-filter's drop grows with the square of its blockage (flow ~ constant)
        inlet = mains - 15.0 - 220.0 * pre**1.5 * np.where(on, 1.0, 0.25)
        inlet = np.maximum(inlet, 20.0)
        boost = boost_new * (1.0 - 0.5 * pump) * np.clip(inlet / 250.0, 0.1, 1.1) ** 0.6
        pressure = inlet + boost
        flow = area * np.clip(pressure - osmotic, 0.0, None) * temp_factor * (1.0 - 0.5 * foul)
        return inlet, pressure, flow, boost

    inlet, pressure, flow, boost = hydraulics(s_pre, s_pump, s_foul)
    zeros = np.zeros(n)
    _, pressure_new, flow_new, _ = hydraulics(zeros, zeros, zeros)
    passage = (
        passage_new
        * (1.0 + 9.0 * s_foul**1.5)
        * np.sqrt(np.clip(flow_new / np.maximum(flow, 1e-3), 1.0, 5.0))
    )
    tds_live = tds_in * passage
    # idle samples hold the last product TDS, creeping up while the water stands
    last_idx = np.maximum.accumulate(np.where(on, np.arange(n), 0))
    idle_for = (np.arange(n) - last_idx) * dt / HOUR
    tds_out = np.where(on, tds_live, tds_live[last_idx] * (1.0 + 0.04 * np.minimum(idle_for, 6.0)))
    current = np.where(on, 0.85 * (boost / boost_new) ** 0.5 * (1.0 + 0.7 * s_pump), 0.0)
    current = current * rng.normal(1.0, 0.02)
    flow_out = np.where(on, flow, 0.0)
    liters = rng.uniform(0.0, 2500.0) + np.cumsum(flow_out * dt / 60.0)

    onset = ctx.onset()
    failure: float | None = None
    fault = ctx.spec.fault
    code = fault.code if fault is not None else None
    if code == "WP_RO_MEMBRANE_FOULING":
        failure = first_sustained(t, on & (tds_live > 50.0), after=onset)
    elif code == "WP_PREFILTER_CLOG":
        failure = first_sustained(t, on & (flow < 0.5 * flow_new), after=onset)
    elif code == "WP_PUMP_WEAR":
        failure = first_sustained(t, on & (pressure < 0.6 * pressure_new), after=onset)
    return Series(
        t=t,
        metrics={
            "tds_in_ppm": tds_in,
            "tds_out_ppm": tds_out,
            "flow_lpm": flow_out,
            "inlet_pressure_kpa": inlet,
            "pump_pressure_kpa": np.where(on, pressure, inlet),
            "pump_current_a": current,
            "filter_liters": liters,
        },
        state=[
            StateColumn("power", ("off", "on"), np.ones(n, dtype=np.int8)),
            StateColumn("pump", ("off", "on"), on.astype(np.int8)),
        ],
        failure_at=failure,
    )
