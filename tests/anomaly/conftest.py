"""Shared fixtures: small simulated fleets (the simulator's own physics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from anomaly.fault_report import FaultReport
from device_adapters import NativeAdapter
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.spec import DeviceSpec, fault_plan
from gateway.pipeline import Pipeline

START = datetime(2026, 6, 1, tzinfo=UTC)


def ac_trio(seed: int = 0, days: float = 30.0) -> Fleet:
    """Three air conditioners: ac-000001 with a clogging filter, two healthy twins."""
    devices = tuple(
        DeviceSpec(
            device_id=f"ac-{i:06d}",
            kind="air_conditioner",
            home_id=f"h-{i:06d}",
            model="KFR-35GW",
            fw="2.3.1",
            fault=fault_plan("AC_FILTER_CLOGGED", START + timedelta(days=3), 21)
            if i == 1
            else None,
            index=i,
        )
        for i in range(1, 4)
    )
    return Fleet(FleetSpec(devices=devices, start=START, days=days, seed=seed))


def run_fleet(fleet: Fleet, pipeline: Pipeline) -> list[FaultReport]:
    """Every report the pipeline raises over the fleet's messages, in order."""
    reports: list[FaultReport] = []
    for message in fleet.messages():
        outcome = pipeline.handle(message.topic, message.payload, message.ts)
        reports.extend(outcome.faults)
        reports.extend(pipeline.sweep(message.ts))
    return reports


@pytest.fixture(scope="session")
def ac_trio_run() -> tuple[dict[str, Any], list[FaultReport]]:
    from anomaly.engine import FaultEngine

    fleet = ac_trio()
    reports = run_fleet(fleet, Pipeline([NativeAdapter()], FaultEngine()))
    return fleet.labels(), reports
