"""The three-level escalation (1 h / 24 h / 48 h)."""

from __future__ import annotations

from cloud_api.services.scheduler import run_due
from tests.cloud_api.conftest import Cloud


def _completed(cloud: Cloud) -> str:
    tid: str = cloud.create()["id"]
    cloud.ok_event(tid, "completed", resolution="remote")
    return tid


def test_low_score_starts_escalation_level_1(cloud: Cloud) -> None:
    tid = _completed(cloud)
    t = cloud.ok_event(
        tid, "follow_up", role="agent", outcome="rated", satisfaction=2, comment="slow"
    )
    assert t["state"] == "followed_up"
    assert t["escalation_level"] == 1
    l1 = {c["name"]: c for c in t["sla"]}["escalation_l1"]
    assert l1["deadline"] == "2026-11-23T09:00:00Z"


def test_satisfied_follow_up_does_not_escalate(cloud: Cloud) -> None:
    tid = _completed(cloud)
    assert (
        cloud.ok_event(tid, "follow_up", role="agent", outcome="rated", satisfaction=4)[
            "escalation_level"
        ]
        == 0
    )


def test_complaint_starts_escalation_without_changing_state(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    t = cloud.ok_event(tid, "complaint", role="agent", reason="nobody called")
    assert t["state"] == "dispatched"
    assert t["escalation_level"] == 1


def test_escalation_auto_raises_on_missed_deadline(cloud: Cloud) -> None:
    tid = _completed(cloud)
    cloud.ok_event(tid, "follow_up", role="agent", outcome="rated", satisfaction=1)
    cloud.clock.advance(3601)
    with cloud.session() as session:
        assert run_due(session=session, clock=cloud.clock)["escalated"] == 1
    t = cloud.ticket(tid)
    assert t["escalation_level"] == 2
    clocks = {c["name"]: c for c in t["sla"]}
    assert clocks["escalation_l1"]["status"] == "breached"
    assert clocks["escalation_l2"]["deadline"] == "2026-11-24T08:00:00Z"  # 24 h from the start
    assert any(e["type"] == "escalation_auto_raised" for e in t["timeline"])


def test_close_blocked_while_escalation_open(cloud: Cloud) -> None:
    tid = _completed(cloud)
    cloud.ok_event(tid, "follow_up", role="agent", outcome="rated", satisfaction=1)
    r = cloud.event(tid, "closed", role="agent")
    assert r.status_code == 409
    assert r.json()["type"].endswith("/invalid-transition")
    cloud.ok_event(tid, "escalated", role="manager", action="raise")
    cloud.ok_event(tid, "escalated", role="manager", action="raise")
    assert cloud.event(tid, "escalated", role="agent", action="confirm_closed").status_code == 403
    cloud.ok_event(tid, "escalated", role="manager", action="confirm_closed")
    assert cloud.ok_event(tid, "closed", role="agent")["state"] == "closed"


def test_missed_levels_climb_to_level_3_with_deadlines_from_the_start(cloud: Cloud) -> None:
    tid = _completed(cloud)
    cloud.ok_event(tid, "follow_up", role="agent", outcome="rated", satisfaction=1)
    cloud.clock.advance(24 * 3600 + 1)  # past level 1 (1 h) and level 2 (24 h)
    with cloud.session() as session:
        assert run_due(session=session, clock=cloud.clock)["escalated"] == 1  # level 1 → 2
    with cloud.session() as session:
        assert run_due(session=session, clock=cloud.clock)["escalated"] == 1  # level 2 → 3
    t = cloud.ticket(tid)
    assert t["escalation_level"] == 3
    clocks = {c["name"]: c for c in t["sla"]}
    assert clocks["escalation_l2"]["status"] == "breached"
    assert clocks["escalation_l3"]["deadline"] == "2026-11-25T08:00:00Z"  # 48 h from the start
    # Level 3 is the last: missing it is a breach, never a level 4.
    cloud.clock.advance(24 * 3600)
    with cloud.session() as session:
        run_due(session=session, clock=cloud.clock)
    t = cloud.ticket(tid)
    assert t["escalation_level"] == 3
    assert {c["name"]: c for c in t["sla"]}["escalation_l3"]["status"] == "breached"
    auto = [e for e in t["timeline"] if e["type"] == "escalation_auto_raised"]
    assert [e["payload"]["level"] for e in auto] == [2, 3]
    # Only a senior role confirms the loop closed, and only at level 3.
    assert cloud.event(tid, "escalated", role="agent", action="confirm_closed").status_code == 403
    cloud.ok_event(tid, "escalated", role="manager", action="confirm_closed")
    assert cloud.ok_event(tid, "closed", role="agent")["state"] == "closed"


def test_confirm_closed_before_level_3_is_409(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    cloud.ok_event(tid, "complaint", role="agent", reason="nobody called")
    r = cloud.event(tid, "escalated", role="manager", action="confirm_closed")
    assert r.status_code == 409
    assert r.json()["type"].endswith("/invalid-transition")
    # At level 1 the customer accepting the apology closes the escalation.
    t = cloud.ok_event(tid, "escalated", role="agent", action="resolve")
    assert t["escalation_level"] == 1
    assert cloud.event(tid, "escalated", role="agent", action="resolve").status_code == 409
