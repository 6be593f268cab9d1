"""Unusual but healthy devices (hot attic, heavy user, odd setpoints, garage) never fail.

Each is checked against the functional-failure criteria of its kind's faults, on the
true signals, over two summer months: a detector that flags them is wrong, not unlucky.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from firmware_sim.core import Series, first_sustained
from firmware_sim.devices.air_conditioner import running_for
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.spec import Profile


def _fails(kind: str, s: Series) -> bool:
    m = s.metrics
    if kind == "air_conditioner":
        on = s.state[0].codes.astype(bool)
        off_setpoint = on & (running_for(on) >= 24) & (m["indoor_temp_c"] - m["setpoint_c"] > 2)
        return first_sustained(s.t, off_setpoint, after=0, samples=12) is not None
    if kind == "refrigerator":
        warm = (m["fridge_temp_c"] > 8.5) | (m["freezer_temp_c"] > -12)
        return first_sustained(s.t, warm, after=0, samples=12) is not None
    if kind == "washing_machine":
        worn = (
            (m["drum_vibration_rms_g"] > 1.2) | (m["drain_time_s"] > 300) | (m["fill_time_s"] > 480)
        )
        return bool(worn.any())
    if kind == "water_purifier":
        pump = s.state[1].codes.astype(bool)
        return bool((pump & (m["tds_out_ppm"] > 50)).any())
    if kind == "water_heater":
        heating = s.state[1].codes.astype(bool)
        rates = m["heat_rate_c_per_min"][heating]
        return bool(len(rates) and np.median(rates) < 0.3)
    return bool((m["main_brush_current_a"] > 1.2).any())


def test_unusual_healthy_devices_never_meet_a_failure_criterion() -> None:
    spec = FleetSpec.random(300, days=60, seed=5, unusual_share=0.6)
    healthy = tuple(d for d in spec.devices if d.fault is None)
    fleet = Fleet(replace(spec, devices=healthy))
    unusual = [d for d in healthy if d.profile is not Profile.NORMAL]
    assert len(unusual) > 60
    failing = [
        (d.device_id, d.profile.value)
        for d in healthy
        if _fails(d.kind, fleet.recording(d.device_id).true)
    ]
    assert failing == []
