"""Settlement records on a real (SQLite) schema built from the cloud models."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from aftercare.catalog import default_catalog
from aftercare.clock import ManualClock
from cloud_api.models import Base
from cloud_api.models.registry import Customer, Device, Home, Station
from cloud_api.models.settlement import FeeRuleRecord, SettlementRecord
from cloud_api.models.tickets import Ticket
from cloud_api.services.settlement import (
    DistanceBand,
    default_fee_schedule,
    settle_completed,
    settlement_csv,
    settlement_lines,
    station_totals,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all(
            [
                Station(id="st-city", name="City station", tier="city", regions=["r1"]),
                Station(id="st-town", name="Township station", tier="township", regions=["r2"]),
                Customer(id="c-1", name="Li Lei"),
                Home(id="h-1", customer_id="c-1", address="1 Road", region="r1"),
                Device(
                    id="ac-1",
                    home_id="h-1",
                    kind="air_conditioner",
                    model="KFR-35GW",
                    purchase_date=date(2026, 1, 1),
                ),
            ]
        )
        s.flush()
        yield s
    engine.dispose()


def add_ticket(
    s: Session,
    tid: str,
    *,
    station: str,
    fault: str,
    covered: bool,
    completed_at: datetime | None,
    state: str = "completed",
) -> Ticket:
    t = Ticket(
        id=tid,
        device_id="ac-1",
        customer_id="c-1",
        home_id="h-1",
        station_id=station,
        state=state,
        severity="medium",
        fault_code=fault,
        source="gateway",
        source_id="gw-1",
        detected_at=NOW - timedelta(days=3),
        accepted_at=NOW - timedelta(days=3),
        first_occurred_at=NOW - timedelta(days=3),
        last_occurred_at=NOW - timedelta(days=3),
        warranty={"covered": covered, "labour_covered": covered},
        completed_at=completed_at,
        created_at=NOW - timedelta(days=3),
        updated_at=NOW,
    )
    s.add(t)
    s.flush()
    return t


def test_completed_tickets_get_one_frozen_fee_each(session: Session) -> None:
    add_ticket(
        session,
        "tk-1",
        station="st-city",
        fault="AC_FILTER_CLOGGED",
        covered=True,
        completed_at=NOW,
    )
    add_ticket(
        session,
        "tk-2",
        station="st-town",
        fault="AC_FAN_BEARING_WEAR",
        covered=True,
        completed_at=NOW,
    )
    add_ticket(
        session,
        "tk-3",
        station="st-town",
        fault="AC_FAN_BEARING_WEAR",
        covered=False,
        completed_at=NOW,
    )
    add_ticket(
        session,
        "tk-open",
        station="st-city",
        fault="AC_FILTER_CLOGGED",
        covered=True,
        completed_at=None,
        state="scheduled",
    )
    clock = ManualClock(NOW)
    assert settle_completed(session=session, catalog=default_catalog(), clock=clock) == 3
    assert settle_completed(session=session, catalog=default_catalog(), clock=clock) == 0

    schedule = default_fee_schedule(default_catalog())
    lines = {line.ticket_id: line for line in settlement_lines(session=session, month="2026-11")}
    assert set(lines) == {"tk-1", "tk-2", "tk-3"}
    assert lines["tk-1"].band == DistanceBand.NEAR
    assert lines["tk-2"].band == DistanceBand.FAR
    assert lines["tk-1"].fee == schedule.fee_for("AC_FILTER_CLOGGED", True, DistanceBand.NEAR)
    assert lines["tk-3"].fee == schedule.fee_for("AC_FAN_BEARING_WEAR", False, DistanceBand.FAR)


def test_monthly_totals_per_station_sum_the_fees(session: Session) -> None:
    add_ticket(
        session,
        "tk-1",
        station="st-town",
        fault="AC_FAN_BEARING_WEAR",
        covered=True,
        completed_at=NOW,
    )
    add_ticket(
        session,
        "tk-2",
        station="st-town",
        fault="AC_FILTER_CLOGGED",
        covered=True,
        completed_at=NOW,
    )
    # 23:30 UTC on 30 Nov is already December in China: the reconciliation month follows local time.
    add_ticket(
        session,
        "tk-3",
        station="st-town",
        fault="AC_FILTER_CLOGGED",
        covered=True,
        completed_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),
    )
    settle_completed(session=session, catalog=default_catalog(), clock=ManualClock(NOW))
    [town] = station_totals(session=session, month="2026-11")
    lines = settlement_lines(session=session, month="2026-11")
    assert town.tickets == 2
    assert town.total == sum(line.fee for line in lines)
    assert [t.tickets for t in station_totals(session=session, month="2026-12")] == [1]
    assert station_totals(session=session, month="2026-11", station_id="st-city") == []


def test_schedule_in_the_database_replaces_the_default(session: Session) -> None:
    session.add(FeeRuleRecord(amount=Decimal("99.50")))
    add_ticket(
        session,
        "tk-1",
        station="st-city",
        fault="AC_FILTER_CLOGGED",
        covered=True,
        completed_at=NOW,
    )
    settle_completed(session=session, catalog=default_catalog(), clock=ManualClock(NOW))
    [line] = settlement_lines(session=session, month="2026-11")
    assert line.fee == Decimal("99.50")


def test_record_becomes_eligible_once_the_ticket_is_closed(session: Session) -> None:
    ticket = add_ticket(
        session,
        "tk-1",
        station="st-city",
        fault="AC_FILTER_CLOGGED",
        covered=True,
        completed_at=NOW,
    )
    settle_completed(session=session, catalog=default_catalog(), clock=ManualClock(NOW))
    record = session.query(SettlementRecord).one()
    assert record.state == "pending"
    ticket.state = "closed"
    settle_completed(session=session, catalog=default_catalog(), clock=ManualClock(NOW))
    assert record.state == "eligible"
    [total] = station_totals(session=session, month="2026-11")
    assert total.eligible_total == total.total


def test_csv_has_a_row_per_ticket_and_a_total_per_station(session: Session) -> None:
    add_ticket(
        session,
        "tk-1",
        station="st-city",
        fault="AC_FILTER_CLOGGED",
        covered=True,
        completed_at=NOW,
    )
    add_ticket(
        session,
        "tk-2",
        station="st-town",
        fault="AC_FILTER_CLOGGED",
        covered=False,
        completed_at=NOW,
    )
    settle_completed(session=session, catalog=default_catalog(), clock=ManualClock(NOW))
    text = settlement_csv(
        "2026-11",
        settlement_lines(session=session, month="2026-11"),
        station_totals(session=session, month="2026-11"),
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["row"] for r in rows] == ["ticket", "ticket", "station_total", "station_total"]
    assert rows[0]["ticket_id"] == "tk-1"
    assert rows[1]["in_warranty"] == "no"
    assert sum(Decimal(r["fee"]) for r in rows[:2]) == sum(Decimal(r["fee"]) for r in rows[2:])
