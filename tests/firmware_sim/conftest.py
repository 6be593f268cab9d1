"""Helpers for the simulator's tests: explicit one-device fleets and their healthy twins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aftercare.catalog import default_catalog
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.spec import DeviceSpec, fault_plan
from firmware_sim.wire import Artefacts

START = datetime(2026, 6, 15, tzinfo=UTC)
ONSET_DAYS = 3.0


def one_device_fleet(
    kind: str,
    code: str | None,
    *,
    course_days: float = 20.0,
    days: float | None = None,
    seed: int = 5,
    artefacts: Artefacts | None = None,
) -> Fleet:
    """A fleet of one device of ``kind`` with fault ``code`` starting on day 3."""
    model = default_catalog().models_for(kind)[0]
    plan = fault_plan(code, START + timedelta(days=ONSET_DAYS), course_days) if code else None
    device = DeviceSpec(
        device_id="dev-000001",
        kind=kind,
        home_id="h-000001",
        model=model.model,
        fw=model.firmware[0],
        fault=plan,
        index=1,
    )
    span = days if days is not None else ONSET_DAYS + course_days * 1.5 + 3
    return Fleet(
        FleetSpec(
            devices=(device,),
            start=START,
            days=span,
            seed=seed,
            artefacts=artefacts or Artefacts.none(),
        )
    )
