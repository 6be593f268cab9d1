"""The state machine: every Contract 4 event, the audit timeline, 409s."""

from __future__ import annotations

from tests.cloud_api.conftest import Cloud

SLOT = {"slot_start": "2026-11-23T10:00:00Z", "slot_end": "2026-11-23T12:00:00Z"}


def test_full_flow_records_who_when_and_from_which_state(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    cloud.clock.advance(600)
    cloud.ok_event(tid, "appointment_booked", role="station", **SLOT)
    cloud.ok_event(tid, "engineer_departed", role="engineer")
    cloud.ok_event(tid, "repair_started", role="engineer")
    cloud.ok_event(
        tid, "waiting_for_parts", role="engineer", parts=[{"sku": "AC-CAPACITOR", "qty": 1}]
    )
    cloud.ok_event(tid, "parts_arrived", role="station")
    cloud.ok_event(
        tid,
        "appointment_booked",
        role="station",
        slot_start="2026-11-23T14:00:00Z",
        slot_end="2026-11-23T15:00:00Z",
    )
    cloud.ok_event(tid, "engineer_departed", role="engineer")
    cloud.ok_event(tid, "repair_started", role="engineer")
    done = cloud.ok_event(
        tid,
        "completed",
        role="engineer",
        parts_used=[{"sku": "AC-FILTER", "qty": 1}, {"sku": "AC-CAPACITOR", "qty": 1}],
        old_parts_kept=["AC-CAPACITOR"],
        work_done="filter and capacitor replaced",
        fee=0,
    )
    assert done["state"] == "completed"
    cloud.ok_event(tid, "follow_up", role="agent", outcome="rated", satisfaction=5, comment="great")
    closed = cloud.ok_event(tid, "closed", role="agent")
    assert closed["state"] == "closed"
    steps = [
        (e["type"], e["from_state"], e["to_state"], e["actor_type"]) for e in closed["timeline"]
    ]
    assert steps[0] == ("created", None, "accepted", "gateway")
    assert steps[1] == ("dispatched", "accepted", "dispatched", "system")
    assert ("appointment_booked", "dispatched", "scheduled", "staff") in steps
    assert ("waiting_for_parts", "repairing", "waiting_for_parts", "staff") in steps
    assert steps[-1] == ("closed", "followed_up", "closed", "staff")
    assert all(e["actor_id"] for e in closed["timeline"])
    old = cloud.sql("SELECT sku, in_warranty FROM old_parts")
    assert [(sku, bool(kept)) for sku, kept in old] == [("AC-CAPACITOR", True)]


def test_event_not_allowed_in_state_is_409(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    for event in ("engineer_departed", "repair_started", "completed", "follow_up", "closed"):
        r = cloud.event(tid, event)
        assert r.status_code == 409, event
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "https://aftercare.example/problems/invalid-transition"


def test_cancel_after_work_started_is_409(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    cloud.ok_event(tid, "appointment_booked", **SLOT)
    cloud.ok_event(tid, "engineer_departed")
    assert cloud.event(tid, "cancelled", reason="other").status_code == 409


def test_engineer_event_replay_is_idempotent(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    cloud.ok_event(tid, "appointment_booked", **SLOT)
    first = cloud.ok_event(tid, "engineer_departed", role="engineer", event_id="phone-1")
    again = cloud.ok_event(tid, "engineer_departed", role="engineer", event_id="phone-1")
    assert again["state"] == "en_route"
    assert len(again["timeline"]) == len(first["timeline"])
    cloud.ok_event(tid, "repair_started", role="engineer", event_id="phone-2")
    # An older event sent after a newer one is checked against the machine: 409.
    assert (
        cloud.event(tid, "engineer_departed", role="engineer", event_id="phone-3").status_code
        == 409
    )


def test_remote_resolution_completes_from_dispatched(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    done = cloud.ok_event(
        tid, "completed", role="agent", resolution="remote", work_done="reset by phone"
    )
    assert done["state"] == "completed"
    assert {r["state"] for r in done["reservations"]} == {"returned"}


def test_manual_reassignment_records_reason_and_moves_parts(cloud: Cloud) -> None:
    tid = cloud.create(device_id="fr-1", fault_code="FR_DOOR_GASKET_LEAK")["id"]
    before = cloud.ticket(tid)
    assert before["station_id"] == "st-pudong"
    after = cloud.ok_event(
        tid, "dispatched", role="manager", station_id="st-minhang", reason="closer engineer"
    )
    assert after["station_id"] == "st-minhang"
    states = {(r["station_id"], r["state"]) for r in after["reservations"]}
    assert ("st-pudong", "released") in states
    assert ("st-minhang", "at_station") in states
    assert after["timeline"][-1]["payload"]["reason"] == "closer engineer"


def test_reassignment_to_station_without_skill_is_409_unless_overridden(cloud: Cloud) -> None:
    tid = cloud.create(device_id="ac-1")["id"]
    assert (
        cloud.event(tid, "dispatched", role="manager", station_id="st-wuzhong").status_code == 409
    )
    r = cloud.event(
        tid, "dispatched", role="manager", station_id="st-wuzhong", override=True, reason="storm"
    )
    assert r.status_code == 200


def test_list_filters_and_paginates(cloud: Cloud) -> None:
    cloud.create(device_id="ac-1")
    cloud.create(device_id="ac-2")
    cloud.create(device_id="fr-1", fault_code="FR_DOOR_GASKET_LEAK")
    page = cloud.http.get("/v1/tickets", params={"limit": 2}, headers=cloud.staff("agent")).json()
    assert page["count"] == 3
    assert len(page["data"]) == 2
    fr = cloud.http.get(
        "/v1/tickets", params={"fault": "FR_DOOR_GASKET_LEAK"}, headers=cloud.staff("agent")
    ).json()
    assert fr["count"] == 1
    later = cloud.http.get(
        "/v1/tickets", params={"since": "2026-11-24T00:00:00Z"}, headers=cloud.staff("agent")
    ).json()
    assert later["count"] == 0
