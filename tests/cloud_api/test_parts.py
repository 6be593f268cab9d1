"""Part reservations: stock first at the station, transfers, expiry, release, consumption."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from cloud_api.services.scheduler import run_due
from tests.cloud_api.conftest import Cloud
from tests.cloud_api.factories import intake_body

SLOT = {"slot_start": "2026-11-23T10:00:00Z", "slot_end": "2026-11-23T12:00:00Z"}


def _available(cloud: Cloud, warehouse: str, sku: str) -> int:
    rows = cloud.sql(
        "SELECT on_hand - reserved FROM stock WHERE warehouse_id = :w AND sku = :s",
        w=warehouse,
        s=sku,
    )
    return int(rows[0][0])


def _set_stock(cloud: Cloud, warehouse: str, sku: str, on_hand: int) -> None:
    cloud.sql(
        "UPDATE stock SET on_hand = :n, reserved = 0 WHERE warehouse_id = :w AND sku = :s",
        n=on_hand,
        w=warehouse,
        s=sku,
    )


def test_station_stock_first_else_central_with_transfer(cloud: Cloud) -> None:
    _set_stock(cloud, "wh-st-pudong", "AC-FILTER", 1)
    first = cloud.create(device_id="ac-1")
    second = cloud.create(device_id="ac-2")
    assert first["reservations"][0]["warehouse_id"] == "wh-st-pudong"
    assert first["reservations"][0]["state"] == "at_station"
    line = second["reservations"][0]
    assert line["warehouse_id"] == "wh-central"
    assert line["state"] == "in_transit"
    assert line["transfer_eta"] == "2026-11-24T02:00:00Z"  # central lead time 18 h
    parts_clock = {c["name"]: c for c in second["sla"]}["parts"]
    assert parts_clock["stopped_at"] is None


def test_parallel_intakes_never_oversell_a_part(cloud: Cloud) -> None:
    _set_stock(cloud, "wh-st-pudong", "AC-FILTER", 3)
    _set_stock(cloud, "wh-central", "AC-FILTER", 2)
    results: list[int] = []
    lock = threading.Lock()

    def hit(n: int) -> None:
        with httpx.Client(base_url=cloud.url, timeout=60) as client:
            body = intake_body(f"ac-p{n:02d}")
            r = client.post(
                "/v1/tickets", json=body, headers={**cloud.gateway, "Idempotency-Key": f"par-{n}"}
            )
            with lock:
                results.append(r.status_code)

    threads = [threading.Thread(target=hit, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 24
    held = cloud.sql(
        "SELECT warehouse_id, sum(qty) FROM reservations WHERE sku = 'AC-FILTER'"
        " AND state IN ('held','allocated','in_transit','at_station','issued')"
        " GROUP BY warehouse_id"
    )
    assert {w: int(q) for w, q in held} == {"wh-st-pudong": 3, "wh-central": 2}
    stock = cloud.sql(
        "SELECT warehouse_id, on_hand, reserved FROM stock"
        " WHERE sku = 'AC-FILTER' AND warehouse_id IN ('wh-st-pudong', 'wh-central')"
    )
    assert all(reserved == on_hand for _, on_hand, reserved in stock)
    unmet = cloud.sql("SELECT count(*) FROM ticket_events WHERE type = 'parts_unavailable'")
    assert unmet[0][0] == 19


def test_reservation_expires_and_releases_stock(cloud: Cloud) -> None:
    before = _available(cloud, "wh-st-pudong", "AC-FILTER")
    tid = cloud.create()["id"]
    assert _available(cloud, "wh-st-pudong", "AC-FILTER") == before - 1
    cloud.clock.advance(23 * 3600)
    with cloud.session() as session:
        assert run_due(session=session, clock=cloud.clock)["expired"] == 0
    cloud.clock.advance(3601)
    with cloud.session() as session:
        assert run_due(session=session, clock=cloud.clock)["expired"] == 1
    assert _available(cloud, "wh-st-pudong", "AC-FILTER") == before
    t = cloud.ticket(tid)
    assert t["reservations"][0]["state"] == "expired"
    assert any(e["type"] == "reservation_expired" for e in t["timeline"])


def test_appointment_extends_reservation_expiry(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    later = {"slot_start": "2026-11-25T10:00:00Z", "slot_end": "2026-11-25T12:00:00Z"}
    booked = cloud.ok_event(tid, "appointment_booked", **later)
    assert booked["reservations"][0]["expires_at"] == "2026-11-26T12:00:00Z"
    cloud.clock.advance(30 * 3600)
    with cloud.session() as session:
        assert run_due(session=session, clock=cloud.clock)["expired"] == 0
    assert cloud.ticket(tid)["reservations"][0]["state"] == "at_station"


def test_cancel_releases_every_reservation(cloud: Cloud) -> None:
    _set_stock(cloud, "wh-st-pudong", "AC-FILTER", 1)
    cloud.create(device_id="ac-1")
    second = cloud.create(
        device_id="ac-2", parts=[{"sku": "AC-FILTER", "qty": 1}, {"sku": "AC-CAPACITOR", "qty": 1}]
    )
    central_before = _available(cloud, "wh-central", "AC-FILTER")
    cancelled = cloud.ok_event(second["id"], "cancelled", role="agent", reason="customer_declined")
    assert {r["state"] for r in cancelled["reservations"]} == {"released"}
    assert _available(cloud, "wh-central", "AC-FILTER") == central_before + 1
    assert all(c["status"] in ("met", "cancelled") for c in cancelled["sla"])


def test_completion_consumes_used_and_returns_unused(cloud: Cloud) -> None:
    tid = cloud.create(parts=[{"sku": "AC-FILTER", "qty": 1}, {"sku": "AC-CAPACITOR", "qty": 1}])[
        "id"
    ]
    on_hand = {
        s: int(n)
        for s, n in cloud.sql("SELECT sku, on_hand FROM stock WHERE warehouse_id = 'wh-st-pudong'")
    }
    cloud.ok_event(tid, "appointment_booked", **SLOT)
    cloud.ok_event(tid, "engineer_departed")
    cloud.ok_event(tid, "repair_started")
    done = cloud.ok_event(
        tid, "completed", parts_used=[{"sku": "AC-FILTER", "qty": 1}], old_parts_kept=[]
    )
    states = {r["sku"]: r["state"] for r in done["reservations"]}
    assert states["AC-FILTER"] == "consumed"
    assert states["AC-CAPACITOR"] == "returned"
    after = {
        s: int(n)
        for s, n in cloud.sql("SELECT sku, on_hand FROM stock WHERE warehouse_id = 'wh-st-pudong'")
    }
    assert after["AC-FILTER"] == on_hand["AC-FILTER"] - 1
    reserved: dict[str, Any] = {
        s: int(n)
        for s, n in cloud.sql(
            "SELECT sku, reserved FROM stock WHERE warehouse_id IN ('wh-st-pudong', 'wh-central')"
        )
    }
    assert set(reserved.values()) == {0}
