"""Every notice kind renders in both languages from a ticket the flow has moved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cloud_api.models.notices import Notice, NoticeKind
from cloud_api.models.registry import Role
from cloud_api.models.tickets import Ticket
from cloud_api.notify.render import TemplateMissing, render_notice
from cloud_api.services.notices import UnknownNoticeKind, queue_notice
from tests.cloud_api.notices.world import World


def _queue(world: World, ticket_id: str, kind: str) -> dict[str, object]:
    with world.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        summary = queue_notice(session=s, ticket=ticket, kind=kind, clock=world.clock)
        s.commit()
        return summary


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_flow_queues_a_notice_at_each_step_in_the_customers_language(
    world: World, language: str
) -> None:
    world.set_customer("ac-new", language=language, email=None)
    tid = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    start = world.clock.now() + timedelta(hours=3)
    world.event(tid, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=2))
    world.event(tid, "engineer_departed", eta=start)
    world.event(tid, "repair_started")
    world.event(tid, "waiting_for_parts", parts=[{"sku": "AC-CAPACITOR", "qty": 1}])
    world.event(tid, "repair_started")
    world.event(
        tid, "completed", parts_used=[{"sku": "AC-FILTER", "qty": 1}], work_done="filter replaced"
    )
    world.event(tid, "follow_up", role=Role.AGENT, outcome="rated", satisfaction=1)

    with world.session() as s:
        rows = s.scalars(select(Notice).where(Notice.ticket_id == tid).order_by(Notice.id)).all()
    kinds = [n.kind for n in rows]
    assert kinds == [
        "intake",
        "appointment",
        "engineer_departed",
        "waiting_for_parts",
        "completed",
        "follow_up",
        "escalation",
    ]
    assert [n.event_id for n in rows] == [f"{tid}:{i}" for i in range(1, 8)]
    assert {n.language for n in rows} == {language}
    text = {n.kind: n.body for n in rows}
    subject = {n.kind: n.subject for n in rows}
    zh = language == "zh-CN"
    assert ("工程师已出发" if zh else "Your engineer is on the way") in subject["engineer_departed"]
    assert ("压缩机运行电容 × 1" if zh else "compressor run capacitor × 1") in text[
        "waiting_for_parts"
    ]
    assert ("空调滤网" if zh else "air filter") not in text["waiting_for_parts"]  # at station
    assert "filter replaced" in text["completed"]
    assert ("回访" if zh else "We will call you by") in text["completed"]
    assert ("1 分" if zh else "1 of 5") in text["follow_up"]
    assert ("非常抱歉" if zh else "We apologise") in text["escalation"]


def test_cancel_notice_names_the_reason(world: World) -> None:
    world.set_customer("fr-1", language="en", email=None)
    tid = world.intake("fr-1", "FR_DOOR_GASKET_LEAK").ticket.id
    world.event(tid, "cancelled", reason="no_fault_found")
    with world.session() as s:
        body = s.scalars(select(Notice.body).where(Notice.kind == "cancelled")).one()
    assert "our check found no fault" in body
    assert "released" in body


def test_every_kind_has_both_templates_and_unknown_kinds_are_refused(world: World) -> None:
    tid = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    for language in ("zh-CN", "en"):
        world.set_customer("ac-new", language=language, email=None)
        for kind in NoticeKind:
            summary = _queue(world, tid, kind.value)
            assert summary["language"] == language
            assert tid in str(summary["subject"])
    with pytest.raises(UnknownNoticeKind):
        _queue(world, tid, "birthday")
    with pytest.raises(TemplateMissing):
        render_notice("birthday", "en", {})
