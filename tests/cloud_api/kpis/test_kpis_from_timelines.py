"""KPIs computed from ticket timelines written by the real intake and flow services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from cloud_api.models.registry import Role, Stock, Warehouse
from cloud_api.services.kpis import KpiReport, compute_kpis, kpi_tickets
from tests.cloud_api.notices.world import World

pytestmark = pytest.mark.integration


def _no_station_stock(world: World, sku: str) -> None:
    with world.session() as s:
        stations = [w.id for w in s.query(Warehouse).filter(Warehouse.kind == "station")]
        s.execute(
            update(Stock)
            .where(Stock.sku == sku, Stock.warehouse_id.in_(stations))
            .values(on_hand=0)
        )
        s.commit()


def _visit(world: World, ticket_id: str, *, in_hours: float = 1) -> None:
    start = world.clock.now() + timedelta(hours=in_hours)
    world.event(
        ticket_id, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=2)
    )


def _repair(world: World, ticket_id: str, sku: str) -> None:
    world.event(ticket_id, "engineer_departed")
    world.event(ticket_id, "repair_started")
    world.event(ticket_id, "completed", parts_used=[{"sku": sku, "qty": 1}])


def _build_history(world: World) -> tuple[dict[str, str], KpiReport]:
    """Four tickets whose KPI outcomes are known by construction (see each line)."""
    _no_station_stock(world, "AC-REFRIG-KIT")
    t0 = world.clock.now()
    # t1: gateway, part at the station, booked in 10 min, done in 3 h, rated 5 after 1 h.
    t1 = world.intake("ac-new", "AC_FILTER_CLOGGED", predicted_in=timedelta(days=10)).ticket.id
    # t2: gateway, booked after 2 h, done after 30 h, rated 2 fifty hours later.
    t2 = world.intake("fr-1", "FR_DOOR_GASKET_LEAK", predicted_in=timedelta(days=20)).ticket.id
    # t3: a customer call about the first AC, cancelled as a duplicate: not service demand.
    t3 = world.intake("ac-new", "AC_FAN_BEARING_WEAR", actor=world.staff(Role.AGENT)).ticket.id
    world.advance(minutes=10)
    _visit(world, t1, in_hours=2)
    world.event(t3, "cancelled", reason="duplicate")
    ids = {"t1": t1, "t2": t2, "t3": t3}
    with world.session() as s:
        early = compute_kpis(
            session=s,
            since=t0 - timedelta(hours=1),
            until=t0 + timedelta(days=10),
            now=world.clock.now(),
        )
    world.clock.set(t0 + timedelta(hours=2))
    _visit(world, t2, in_hours=24)
    _repair(world, t1, "AC-FILTER")
    world.clock.set(t0 + timedelta(hours=4))
    world.event(t1, "follow_up", role=Role.AGENT, outcome="rated", satisfaction=5)
    # t4: gateway, the same AC as the customer's call 4 h ago (not proactive); its part must
    # come from the central warehouse; two complaints within one open escalation; no visit.
    t4 = world.intake("ac-new", "AC_REFRIGERANT_LEAK").ticket.id
    world.event(t4, "complaint", role=Role.AGENT, reason="nobody called")
    world.event(t4, "complaint", role=Role.AGENT, reason="still nobody called")
    world.clock.set(t0 + timedelta(hours=30))
    _repair(world, t2, "FR-GASKET")
    world.clock.set(t0 + timedelta(hours=80))
    world.event(t2, "follow_up", role=Role.AGENT, outcome="rated", satisfaction=2)
    ids["t4"] = t4
    return ids, early


def test_seed_kpis_from_a_hand_built_history(world: World) -> None:
    t0 = world.clock.now()
    ids, _ = _build_history(world)
    t1, t2, t4 = ids["t1"], ids["t2"], ids["t4"]
    since, until = t0 - timedelta(hours=1), t0 + timedelta(days=10)

    with world.session() as s:
        report = compute_kpis(session=s, since=since, until=until, now=world.clock.now())
    got = {
        name: (int(r.numerator), int(r.denominator), len(r.pending_ids))
        for name, r in report.results.items()
    }
    assert got["satisfaction_rate"] == (1, 2, 0)  # 5 and 2
    assert got["complaint_rate"] == (1, 3, 0)  # two complaints, one episode; t3 is no demand
    assert got["response_1h_rate"] == (1, 3, 0)  # t1 in 10 min; t2 after 2 h; t4 never
    assert got["completion_24h_rate"] == (1, 3, 0)  # t1 in 3 h; t2 in 30 h; t4 not done
    assert got["parts_24h_rate"] == (2, 3, 0)  # t4's kit is still in transit after 76 h
    assert got["follow_up_rate"] == (1, 2, 0)  # t1 after 1 h; t2 after 50 h
    assert got["dispatch_1min_rate"] == (3, 3, 0)  # auto-dispatch at intake
    assert got["proactive_share"] == (2, 3, 0)  # t4 followed the customer's call on the AC
    assert sorted(report.results["proactive_share"].numerator_ids) == sorted([t1, t2])
    assert report.lead_time["value_days"] == pytest.approx(15.0)
    assert report.lead_time["n"] == 2
    per_clock = report.results["sla_breach_rate"].extra["per_clock"]
    assert (per_clock["appointment"]["breached"], per_clock["appointment"]["decided"]) == (2, 3)
    assert (per_clock["completion"]["breached"], per_clock["completion"]["decided"]) == (2, 3)
    assert sorted(report.results["response_1h_rate"].denominator_ids) == sorted([t1, t2, t4])

    body = report.as_dict()
    assert list(body["kpis"])[:6] == [
        "satisfaction_rate",
        "complaint_rate",
        "response_1h_rate",
        "completion_24h_rate",
        "parts_24h_rate",
        "follow_up_rate",
    ]
    assert body["kpis"]["response_1h_rate"]["target"] == 0.98
    assert body["kpis"]["response_1h_rate"]["ticket_ids_url"].startswith(
        "/v1/kpis/response_1h_rate/tickets?since="
    )


def test_young_open_tickets_are_pending_ten_minutes_after_intake(world: World) -> None:
    ids, early = _build_history(world)
    response = early.results["response_1h_rate"]
    assert (response.numerator_ids, response.denominator_ids) == ([ids["t1"]], [ids["t1"]])
    assert response.pending_ids == [ids["t2"]]  # booked later, but not late yet at 10 min
    assert early.results["completion_24h_rate"].denominator == 0
    assert sorted(early.results["completion_24h_rate"].pending_ids) == sorted(
        [ids["t1"], ids["t2"]]
    )


def test_kpi_ticket_ids_name_the_tickets_behind_the_numbers(world: World) -> None:
    t0 = world.clock.now()
    ids, _ = _build_history(world)
    with world.session() as s:
        listed = kpi_tickets(
            session=s,
            name="completion_24h_rate",
            since=t0 - timedelta(hours=1),
            until=t0 + timedelta(days=10),
            now=world.clock.now(),
        )
    assert listed["numerator_ids"] == [ids["t1"]]
    assert listed["denominator_ids"] == sorted([ids["t1"], ids["t2"], ids["t4"]])
