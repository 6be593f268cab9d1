"""Repeat-repair rate and escalation-on-time from timelines the real flow writes.

Cohort rules pinned here (SERVICE_FLOW section 9): repeat-repair by ``closed_at`` (the
30-day repeat window opens at closing), with the repeat found wherever it falls and the
rate provisional until 30 days after ``until``; escalation-on-time by the escalation's
start, one decided-or-pending entry per level reached.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cloud_api.models.registry import Role
from cloud_api.services.kpis import KpiReport, compute_kpis
from cloud_api.services.scheduler import run_due
from tests.cloud_api.notices.world import World

pytestmark = pytest.mark.integration


def _report(world: World, since: datetime, until: datetime) -> KpiReport:
    with world.session() as s:
        return compute_kpis(session=s, since=since, until=until, now=world.clock.now())


def _close(world: World, ticket_id: str, sku: str) -> None:
    """Visit, repair, a happy follow-up and close, two hours of flow in all."""
    start = world.clock.now() + timedelta(minutes=30)
    world.event(
        ticket_id, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=1)
    )
    world.clock.set(start)
    world.event(ticket_id, "engineer_departed")
    world.event(ticket_id, "repair_started")
    world.event(ticket_id, "completed", parts_used=[{"sku": sku, "qty": 1}])
    world.advance(hours=1)
    world.event(ticket_id, "follow_up", role=Role.AGENT, outcome="rated", satisfaction=5)
    world.event(ticket_id, "closed", role=Role.AGENT)


def test_repeat_repair_counts_a_repeat_found_after_the_period(world: World) -> None:
    t0 = world.clock.now()
    ac = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    fridge = world.intake("fr-1", "FR_DOOR_GASKET_LEAK").ticket.id
    _close(world, ac, "AC-FILTER")
    _close(world, fridge, "FR-GASKET")
    # Accepted in the period but closed after it: not in the closed_at cohort.
    late = world.intake("wm-1", "WM_DRAIN_PUMP_CLOG").ticket.id
    world.clock.set(t0 + timedelta(days=3))
    _close(world, late, "WM-DRAIN-PUMP")
    # Ten days on the filter clogs again: a new ticket linked to the closed one.
    world.clock.set(t0 + timedelta(days=10))
    again = world.intake("ac-new", "AC_FILTER_CLOGGED")
    assert again.ticket.repeat_of == ac

    report = _report(world, t0 - timedelta(hours=1), t0 + timedelta(days=2))
    repeat = report.results["repeat_repair_rate"]
    assert sorted(repeat.denominator_ids) == sorted([ac, fridge])
    assert repeat.numerator_ids == [ac]
    assert repeat.value == 0.5
    assert repeat.extra["provisional"] is True  # a repeat may still come until day 32
    assert repeat.extra["window_open"] == 1  # the fridge's 30 days are not over
    fix = report.results["first_time_fix_rate"]
    assert sorted(fix.denominator_ids) == sorted([ac, fridge, late])
    assert sorted(fix.numerator_ids) == sorted([fridge, late])  # the AC came back

    # The repeat's own period: nothing closed in it, so no denominator at all.
    later = _report(world, t0 + timedelta(days=9), t0 + timedelta(days=11))
    assert later.results["repeat_repair_rate"].denominator == 0
    assert later.results["repeat_repair_rate"].value is None

    # 40 days after the period the rate is final.
    world.clock.set(t0 + timedelta(days=45))
    final = _report(world, t0 - timedelta(hours=1), t0 + timedelta(days=2))
    assert final.results["repeat_repair_rate"].extra["provisional"] is False
    assert final.results["repeat_repair_rate"].extra["window_open"] == 0


def test_escalation_on_time_per_level_by_escalation_start(world: World) -> None:
    t0 = world.clock.now()
    # x was accepted two days before the period; its escalation starts inside it.
    x = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    world.clock.set(t0 + timedelta(days=2))
    start = world.clock.now()
    y = world.intake("fr-1", "FR_DOOR_GASKET_LEAK").ticket.id
    world.event(x, "complaint", role=Role.AGENT, reason="nobody called back")
    world.event(y, "complaint", role=Role.AGENT, reason="engineer did not come")
    # x: the manager takes it to level 2 after 30 min (level 1 on time) ...
    world.advance(minutes=30)
    world.event(x, "escalated", action="raise", reason="apologised, supervisor next")
    # ... y: nobody acts in the first hour; the SLA job raises it (level 1 missed).
    world.clock.set(start + timedelta(hours=1, seconds=1))
    with world.session() as s:
        assert run_due(session=s, clock=world.clock)["escalated"] == 1
    world.clock.set(start + timedelta(hours=2))
    world.event(y, "escalated", action="raise", reason="supervisor called")  # level 2 on time
    world.clock.set(start + timedelta(hours=20))
    world.event(x, "escalated", action="resolve")  # the customer accepts at level 2: on time
    world.clock.set(start + timedelta(hours=21))

    since, until = start - timedelta(hours=1), start + timedelta(days=1)
    report = _report(world, since, until)
    on_time = report.results["escalation_on_time_rate"]
    per_level = on_time.extra["per_level"]
    assert (per_level["1"]["on_time"], per_level["1"]["decided"]) == (1, 2)
    assert (per_level["2"]["on_time"], per_level["2"]["decided"]) == (2, 2)
    assert (per_level["3"]["decided"], per_level["3"]["pending"]) == (0, 1)  # y, due at 48 h
    assert (on_time.numerator, on_time.denominator) == (3, 4)
    assert on_time.pending_ids == [y]
    assert on_time.target == 1.0

    # Escalations that started before the period are not in it, whatever happened later.
    assert (
        _report(world, start + timedelta(hours=1), until)
        .results["escalation_on_time_rate"]
        .denominator
        == 0
    )

    # Past the 48 h of level 3 with no confirmation: y's level 3 is a miss.
    world.clock.set(start + timedelta(hours=49))
    final = _report(world, since, until).results["escalation_on_time_rate"]
    assert final.extra["per_level"]["3"] == {
        "on_time": 0,
        "decided": 1,
        "pending": 0,
        "value": 0.0,
    }
    assert (final.numerator, final.denominator, final.pending_ids) == (3, 5, [])


def test_dedup_and_reservation_expiry_and_durations_from_the_timeline(world: World) -> None:
    t0 = world.clock.now()
    first = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    world.advance(minutes=5)
    assert world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id == first  # absorbed
    world.intake("ac-new", "AC_FILTER_CLOGGED")  # absorbed again
    other = world.intake("fr-1", "FR_DOOR_GASKET_LEAK").ticket.id
    start = world.clock.now() + timedelta(minutes=25)  # booked 5 min after intake
    world.event(first, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=1))
    world.clock.set(t0 + timedelta(hours=3))
    world.event(first, "engineer_departed")
    world.event(first, "repair_started")
    world.event(first, "completed", parts_used=[{"sku": "AC-FILTER", "qty": 1}])
    # The fridge's gasket is never booked: its hold expires after 24 h.
    world.clock.set(t0 + timedelta(hours=30))
    with world.session() as s:
        assert run_due(session=s, clock=world.clock)["expired"] == 1

    report = _report(world, t0 - timedelta(hours=1), t0 + timedelta(days=1))
    dedup = report.results["dedup_ratio"]
    assert (dedup.numerator, dedup.denominator) == (2, 4)  # 4 submissions, 2 absorbed
    assert dedup.numerator_ids == [first]
    assert dedup.extra["duplicate_open_tickets"] == 0
    expiry = report.results["reservation_expiry_rate"]
    assert expiry.numerator_ids == [other]
    # The gasket line expired; the filter line was extended by the booking, then consumed.
    assert (expiry.numerator, expiry.denominator) == (1, 2)
    mtta = report.results["mtta_min"]
    assert mtta.denominator_ids == [first]
    assert mtta.value == pytest.approx(5.0)
    assert mtta.extra["p90"] == pytest.approx(5.0)
    mttr = report.results["mttr_h"]
    assert mttr.value == pytest.approx(3.0)
