"""SLA clocks: deadlines at start, urgent tier, the two completion clocks, breach job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from aftercare.clock import ManualClock
from cloud_api.services.scheduler import next_wake, run_due
from tests.cloud_api.conftest import Cloud, start_cloud
from tests.cloud_api.factories import T0


def _clocks(t: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in t["sla"]}


def test_intake_starts_clocks_with_seed_targets(cloud: Cloud) -> None:
    clocks = _clocks(cloud.create())
    assert clocks["dispatch"]["status"] == "met"  # automatic dispatch at intake
    assert clocks["appointment"]["deadline"] == "2026-11-23T09:00:00Z"
    assert clocks["completion"]["deadline"] == "2026-11-24T08:00:00Z"
    assert clocks["parts"]["status"] == "met"  # the part was at the station


def test_intake_notice_does_not_stop_appointment_clock(cloud: Cloud) -> None:
    t = cloud.create()
    assert t["customer_notice"] is not None
    appointment = _clocks(t)["appointment"]
    assert appointment["stopped_at"] is None
    assert appointment["status"] == "running"


def test_urgent_appointment_target_is_30_minutes(cloud: Cloud) -> None:
    t = cloud.create(severity="high")
    assert _clocks(t)["appointment"]["deadline"] == "2026-11-23T08:30:00Z"


def test_breach_job_warns_then_breaches_and_booking_late_stays_breached(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    cloud.clock.advance(46 * 60)
    with cloud.session() as session:
        assert run_due(session=session, clock=cloud.clock)["warned"] >= 1
    assert _clocks(cloud.ticket(tid))["appointment"]["status"] == "warned"
    cloud.clock.advance(15 * 60)
    with cloud.session() as session:
        run_due(session=session, clock=cloud.clock)
    assert _clocks(cloud.ticket(tid))["appointment"]["status"] == "breached"
    booked = cloud.ok_event(
        tid,
        "appointment_booked",
        slot_start="2026-11-23T12:00:00Z",
        slot_end="2026-11-23T13:00:00Z",
    )
    assert _clocks(booked)["appointment"]["status"] == "breached"
    assert any(e["type"] == "sla_breached" for e in booked["timeline"])


def test_scheduler_wakes_at_earliest_deadline(cloud: Cloud) -> None:
    cloud.create()
    with cloud.session() as session:
        wake = next_wake(session=session)
    assert wake is not None
    assert wake == T0.replace(minute=45)  # 75 % of the 60-minute appointment clock


def test_customer_deferred_slot_only_pauses_operational_clock(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    booked = cloud.ok_event(
        tid,
        "appointment_booked",
        slot_start="2026-11-26T08:00:00Z",
        slot_end="2026-11-26T10:00:00Z",
        customer_chosen=True,
    )
    clocks = _clocks(booked)
    assert clocks["completion"]["deadline"] == "2026-11-24T08:00:00Z"
    assert clocks["completion"]["paused_total_s"] == 0
    assert clocks["completion_operational"]["paused_total_s"] == 2 * 86400
    assert clocks["completion_operational"]["deadline"] == "2026-11-26T08:00:00Z"


def test_follow_up_clock_starts_at_completion(cloud: Cloud) -> None:
    tid = cloud.create()["id"]
    done = cloud.ok_event(tid, "completed", resolution="remote")
    assert _clocks(done)["follow_up"]["deadline"] == "2026-11-25T08:00:00Z"
    assert _clocks(done)["completion"]["status"] == "met"


class _TestDrivenClock(ManualClock):
    """Manual time whose ``sleep`` yields briefly instead of jumping ahead.

    A plain :class:`ManualClock` advances itself when the job sleeps; here only the test
    moves time, so the job must notice on its own that a deadline has passed.
    """

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.1))


@pytest.fixture
def scheduled_cloud(database: tuple[str, dict[str, Any]]) -> Iterator[Cloud]:
    """The cloud with its SLA job running in the app lifespan."""
    yield from start_cloud(
        *database,
        clock=_TestDrivenClock(T0),
        scheduler_enabled=True,
        scheduler_max_sleep_s=0.2,
    )


def _wait_for_status(cloud: Cloud, tid: str, clock_name: str, status: str) -> str:
    # Real time only bounds the wait; the job's decisions run on the injected clock.
    seen = ""
    give_up = time.monotonic() + 15
    while time.monotonic() < give_up:
        seen = _clocks(cloud.ticket(tid))[clock_name]["status"]
        if seen == status:
            break
        time.sleep(0.05)
    return seen


def test_background_job_in_the_app_flags_breaches_on_its_own(scheduled_cloud: Cloud) -> None:
    cloud = scheduled_cloud
    tid = cloud.create()["id"]
    time.sleep(0.5)  # several job passes: nothing is due yet
    assert _clocks(cloud.ticket(tid))["appointment"]["status"] == "running"
    cloud.clock.advance(46 * 60)
    assert _wait_for_status(cloud, tid, "appointment", "warned") == "warned"
    cloud.clock.advance(15 * 60)
    assert _wait_for_status(cloud, tid, "appointment", "breached") == "breached"
    timeline = [e["type"] for e in cloud.ticket(tid)["timeline"]]
    assert "sla_warned" in timeline
    assert "sla_breached" in timeline
