"""The monthly quality report: tickets per 1000 devices and Poisson incident detection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud_api.models.registry import Role
from cloud_api.services.quality import (
    BadMonth,
    Month,
    build_report,
    parse_month,
    poisson_upper,
    quality_report,
)
from tests.cloud_api.notices.world import World, build_world

NOV, OCT = Month(2026, 11), Month(2026, 10)
FLEET = {("KFR-35GW", "2.3.1"): 1000, ("KFR-35GW", "2.4.0"): 1000}


def _tickets(
    month: Month, n: int, fw: str, fault: str = "AC_FILTER_CLOGGED"
) -> list[tuple[Month, str, str, str]]:
    return [(month, "KFR-35GW", fw, fault)] * n


def test_poisson_upper_bound_is_the_99th_percentile() -> None:
    assert poisson_upper(1.0) == 4
    assert poisson_upper(10.0) == 18
    assert poisson_upper(0.0) == 0


def test_a_month_within_its_baseline_is_not_an_incident() -> None:
    history = [t for m in (1, 2, 3) for t in _tickets(NOV.shift(-m), 10, "2.3.1")]
    report = build_report(
        NOV,
        [*history, *_tickets(NOV, 18, "2.3.1")],
        dict.fromkeys([NOV.shift(-m) for m in range(4)], FLEET),
    )
    (row,) = report.rows
    assert (row.tickets, row.devices, row.per_1000) == (18, 1000, 18.0)
    assert row.baseline_per_1000 == 10.0
    assert (row.expected, row.upper_bound) == (10.0, 18)
    assert report.incidents == ()


def test_one_fault_rising_on_one_firmware_is_an_incident_on_it_and_its_model() -> None:
    history = [t for m in (1, 2, 3) for t in _tickets(NOV.shift(-m), 10, "2.3.1")]
    now = [*_tickets(NOV, 10, "2.3.1"), *_tickets(NOV, 19, "2.4.0")]
    fleets = dict.fromkeys([NOV.shift(-m) for m in range(4)], FLEET)
    report = build_report(NOV, [*history, *now], fleets)

    incidents = {(i.model, i.firmware, i.fault_code): i for i in report.incidents}
    assert set(incidents) == {
        ("KFR-35GW", "2.4.0", "AC_FILTER_CLOGGED"),  # 19 against a baseline of 0
        ("KFR-35GW", None, "AC_FILTER_CLOGGED"),  # 29 against 5 per 1000 x 2000 = 10 (bound 18)
    }
    assert incidents[("KFR-35GW", None, "AC_FILTER_CLOGGED")].upper_bound == 18
    body = report.as_dict()
    assert {i["scope"] for i in body["incidents"]} == {"model", "firmware"}
    assert report.devices_in_field == 2000


def test_few_tickets_on_a_new_fault_are_not_a_fleet_incident() -> None:
    report = build_report(NOV, _tickets(NOV, 2, "2.4.0"), {NOV: FLEET})
    assert report.incidents == ()
    assert report.rows[0].baseline_per_1000 is None  # no devices in the trailing months


def test_month_must_be_year_dash_month() -> None:
    assert parse_month("2026-03") == Month(2026, 3)
    for bad in ("2026-13", "2026", "March"):
        with pytest.raises(BadMonth):
            parse_month(bad)


AC_FLEET = [
    {
        "id": f"ac-{fw.replace('.', '')}-{n}",
        "kind": "air_conditioner",
        "model": "KFR-35GW",
        "firmware": fw,
        "age_days": 400,
        "home_id": "h-q",
        "region": "shanghai-pudong",
    }
    for fw in ("2.3.1", "2.4.0")
    for n in range(10)
]


@pytest.fixture
def fleet_world(tmp_path: Path) -> Iterator[World]:
    w = build_world(
        f"sqlite:///{tmp_path / 'q.db'}",
        devices=AC_FLEET,
        start=datetime(2026, 8, 5, 2, 0, tzinfo=UTC),
    )
    yield w
    w.engine.dispose()


@pytest.mark.integration
def test_quality_report_from_tickets_and_the_device_registry(fleet_world: World) -> None:
    world = fleet_world
    for n, month in enumerate((8, 9, 10)):
        world.clock.set(datetime(2026, month, 5, 2, 0, tzinfo=UTC))
        world.intake(f"ac-231-{n}", "AC_FILTER_CLOGGED")
    world.clock.set(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    for n in range(5):
        world.intake(f"ac-240-{n}", "AC_FILTER_CLOGGED")
    duplicate = world.intake("ac-240-9", "AC_FILTER_CLOGGED", actor=world.staff(Role.AGENT))
    world.event(duplicate.ticket.id, "cancelled", reason="duplicate")

    with world.session() as s:
        november = quality_report(session=s, month=NOV)
        october = quality_report(session=s, month=OCT)

    (row,) = november.rows
    assert (row.firmware, row.tickets, row.devices, row.per_1000) == ("2.4.0", 5, 10, 500.0)
    scopes = {(i.firmware, i.expected, i.upper_bound) for i in november.incidents}
    # Firmware 2.4.0 had no such ticket before; the model had 3 in 60 device-months.
    assert scopes == {("2.4.0", 0.0, 0), (None, 1.0, 4)}
    assert october.incidents == ()
    assert [r.tickets for r in october.rows] == [1]

    rows = list(csv.DictReader(io.StringIO(november.to_csv())))
    assert rows == [
        {
            "month": "2026-11",
            "model": "KFR-35GW",
            "firmware": "2.4.0",
            "fault_code": "AC_FILTER_CLOGGED",
            "tickets": "5",
            "devices": "10",
            "per_1000": "500.0",
            "baseline_per_1000": "0.0",
            "incident": "yes",
        }
    ]
