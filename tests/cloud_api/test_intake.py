"""Intake: the three dedup levels, ownership, agents' phone tickets (SERVICE_FLOW section 3)."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.cloud_api.conftest import Cloud
from tests.cloud_api.factories import intake_body


def test_intake_returns_contract_fields_and_dispatches(cloud: Cloud) -> None:
    r = cloud.intake(key="k-1")
    assert r.status_code == 201
    t = r.json()
    for field in (
        "id",
        "state",
        "station_id",
        "warranty",
        "reservations",
        "sla",
        "customer_notice",
        "occurrences",
    ):
        assert field in t
    assert t["state"] == "dispatched"
    assert t["station_id"] == "st-pudong"
    assert t["occurrences"] == 1
    assert [line["sku"] for line in t["reservations"]] == ["AC-FILTER"]


def test_idempotent_retry_returns_same_ticket(cloud: Cloud) -> None:
    first = cloud.intake(key="same")
    again = cloud.intake(key="same")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["occurrences"] == 1
    assert cloud.sql("SELECT count(*) FROM tickets")[0][0] == 1


def test_same_key_different_body_is_422(cloud: Cloud) -> None:
    assert cloud.intake(key="k").status_code == 201
    r = cloud.intake(intake_body(severity="high"), key="k")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/idempotency-key-reused")


def test_same_key_while_first_request_runs_is_409(cloud: Cloud) -> None:
    from cloud_api.exceptions import IdempotencyInProgress
    from cloud_api.services import idempotency

    with cloud.session() as session:
        assert (
            idempotency.claim(
                session=session,
                principal="gateway:gw-demo",
                key="busy",
                digest="d",
                now=cloud.clock.now(),
            )
            is None
        )
        with pytest.raises(IdempotencyInProgress):
            idempotency.claim(
                session=session,
                principal="gateway:gw-demo",
                key="busy",
                digest="d",
                now=cloud.clock.now(),
            )


def test_repeat_alert_joins_open_ticket(cloud: Cloud) -> None:
    first = cloud.create()
    repeat = cloud.intake(key="other-key")
    assert repeat.status_code == 200
    assert repeat.json()["id"] == first["id"]
    assert repeat.json()["occurrences"] == 2
    assert cloud.sql("SELECT count(*) FROM tickets")[0][0] == 1
    timeline = [e["type"] for e in cloud.ticket(first["id"])["timeline"]]
    assert "occurrence" in timeline


def test_higher_severity_repeat_pulls_appointment_deadline_in(cloud: Cloud) -> None:
    first = cloud.create()
    r = cloud.intake(intake_body(severity="critical"))
    assert r.status_code == 200
    clocks = {c["name"]: c for c in r.json()["sla"]}
    assert clocks["appointment"]["deadline"] == "2026-11-23T08:30:00Z"
    assert clocks["appointment"]["started_at"] == first["sla"][1]["started_at"]


def test_repeat_within_30_days_links_repeat_of(cloud: Cloud) -> None:
    first = cloud.create()
    tid = first["id"]
    cloud.ok_event(
        tid,
        "appointment_booked",
        slot_start="2026-11-23T10:00:00Z",
        slot_end="2026-11-23T12:00:00Z",
    )
    cloud.ok_event(tid, "engineer_departed")
    cloud.ok_event(tid, "repair_started")
    cloud.ok_event(tid, "completed", parts_used=[{"sku": "AC-FILTER", "qty": 1}])
    cloud.ok_event(tid, "follow_up", outcome="rated", satisfaction=5)
    cloud.ok_event(tid, "closed")
    cloud.clock.advance(10 * 86400)
    second = cloud.intake()
    assert second.status_code == 201
    assert second.json()["repeat_of"] == tid
    assert second.json()["escalation_level"] == 1


def test_no_fault_found_cancel_suppresses_repeat_unless_severity_rises(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    cloud.ok_event(tid, "cancelled", reason="no_fault_found")
    cloud.clock.advance(3600)
    same = cloud.intake()
    assert same.status_code == 200
    assert same.json()["id"] == tid
    assert same.json()["state"] == "cancelled"
    higher = cloud.intake(intake_body(severity="high"))
    assert higher.status_code == 201
    assert higher.json()["id"] != tid


def test_gateway_cannot_raise_ticket_for_another_homes_device(cloud: Cloud) -> None:
    from cloud_api.schemas.registry import GatewayIn, HomeIn
    from cloud_api.services.registry import create

    with cloud.session() as session:
        other = create(
            session=session, entity="gateways", body=GatewayIn(id="gw-other"), now=cloud.clock.now()
        )
        create(
            session=session,
            entity="homes",
            body=HomeIn(
                id="h-x", customer_id="c-demo-0", region="shanghai-pudong", gateway_id="gw-other"
            ),
            now=cloud.clock.now(),
        )
        session.commit()
    r = cloud.intake(headers={"Authorization": f"Bearer {other['token']}"})
    assert r.status_code == 403
    assert r.json()["type"].endswith("/forbidden")


def test_agent_creates_ticket_for_phone_call(cloud: Cloud) -> None:
    body = intake_body("fr-1", "FR_DOOR_GASKET_LEAK", description="customer calls: fridge sweats")
    r = cloud.intake(body, headers=cloud.staff("agent"))
    assert r.status_code == 201
    assert r.json()["source"] == "agent"


def test_engineer_may_not_create_tickets(cloud: Cloud) -> None:
    assert cloud.intake(headers=cloud.staff("engineer")).status_code == 403


def test_unknown_device_is_404_problem(cloud: Cloud) -> None:
    r = cloud.intake(intake_body("nope"))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_fault_of_another_kind_is_422(cloud: Cloud) -> None:
    assert cloud.intake(intake_body("ac-1", "FR_DEFROST_FAILURE")).status_code == 422


def test_parallel_repeats_of_one_fault_make_one_ticket_and_count_every_occurrence(
    cloud: Cloud,
) -> None:
    barrier = threading.Barrier(12)
    codes: list[int] = []
    lock = threading.Lock()

    def hit(n: int) -> None:
        with httpx.Client(base_url=cloud.url, timeout=60) as client:
            barrier.wait()
            r = client.post(
                "/v1/tickets",
                json=intake_body("ac-2"),
                headers={**cloud.gateway, "Idempotency-Key": f"rep-{n}"},
            )
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=hit, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 11 + [201]
    rows = cloud.sql("SELECT id, occurrences FROM tickets WHERE device_id = 'ac-2'")
    assert len(rows) == 1
    assert rows[0][1] == 12
