"""The customer page behind the signed link, served by a real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from cloud_api.app import create_app
from cloud_api.models.notices import Notice
from cloud_api.models.tickets import FollowUp, Ticket, TicketEvent
from cloud_api.notify.install import notice_config_from_settings
from cloud_api.notify.links import LinkSigner
from cloud_api.settings import CloudSettings
from tests.cloud_api.notices.world import (
    SECRET,
    PostgresTemplate,
    SqliteTemplate,
    World,
    build_world,
)
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.integration


class Site:
    def __init__(self, world: World, client: httpx.Client) -> None:
        self.world = world
        self.client = client

    def path_for(self, ticket_id: str) -> str:
        token = self.world.config.signer.sign(ticket_id, now=self.world.clock.now())
        return f"/c/{token}"


@pytest.fixture
def site(db_url: str, template: SqliteTemplate | PostgresTemplate) -> Iterator[Site]:
    settings = CloudSettings(
        mode="test",
        db_url=db_url,
        secret_key=SECRET,
        public_url="http://cloud.test",
        scheduler_enabled=False,
        notify_worker_enabled=False,
    )
    world = build_world(
        db_url, seeded=template.seeded, config=notice_config_from_settings(settings)
    )
    app = create_app(settings, clock=world.clock, engine=world.engine)
    with (
        serve_in_thread(app) as base,
        httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client,
    ):
        yield Site(world, client)
    world.engine.dispose()


def _token_path(link: str) -> str:
    return "/c/" + link.rsplit("/c/", 1)[1]


def test_page_shows_the_ticket_in_plain_words_in_the_customers_language(site: Site) -> None:
    result = site.world.intake("ac-new", "AC_FILTER_CLOGGED")
    assert result.customer_notice is not None
    path = _token_path(result.customer_notice["link"])

    zh = site.client.get(path)
    assert zh.status_code == 200
    assert result.ticket.id in zh.text
    assert "空调滤网正在堵塞" in zh.text
    assert "已派工" in zh.text  # auto-dispatched at intake
    assert "保修期内" in zh.text
    assert "服务单 " + result.ticket.id + " 已受理" in zh.text  # the intake notice, listed
    en = site.client.get(path, params={"lang": "en"})
    assert "the air filter is clogging" in en.text
    assert "assigned to a service station" in en.text
    assert en.headers["cache-control"] == "no-store"


def test_forged_token_is_refused_with_403(site: Site) -> None:
    result = site.world.intake("ac-new", "AC_FILTER_CLOGGED")
    path = site.path_for(result.ticket.id)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    foreign = LinkSigner("some-other-secret-0123456789").sign(
        result.ticket.id, now=site.world.clock.now()
    )

    for bad in (tampered, f"/c/{foreign}", "/c/not-a-token"):
        r = site.client.get(bad)
        assert r.status_code == 403, bad
        assert "此链接无效" in r.text
        assert "This link is not valid" in r.text
        assert result.ticket.id not in r.text


def test_expired_link_is_refused_with_410(site: Site) -> None:
    result = site.world.intake("ac-new", "AC_FILTER_CLOGGED")
    path = site.path_for(result.ticket.id)
    site.world.advance(days=30, seconds=1)

    r = site.client.get(path)
    assert r.status_code == 410
    assert "此链接已过期" in r.text
    assert "This link has expired" in r.text
    assert site.client.post(path + "/rating", data={"score": "5"}).status_code == 410


def test_a_link_opens_only_its_own_ticket(site: Site) -> None:
    mine = site.world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    other = site.world.intake("fr-1", "FR_DOOR_GASKET_LEAK").ticket.id
    my_path, other_path = site.path_for(mine), site.path_for(other)

    page = site.client.get(my_path, params={"ticket": other, "ticket_id": other})
    assert mine in page.text
    assert other not in page.text
    # The other ticket's payload under my signature is a forgery.
    my_sig = my_path.rsplit(".", 1)[1]
    other_payload = other_path[len("/c/") :].rsplit(".", 1)[0]
    assert site.client.get(f"/c/{other_payload}.{my_sig}").status_code == 403


def test_customer_confirms_and_moves_the_appointment_through_the_flow(site: Site) -> None:
    world = site.world
    ticket_id = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    start = world.clock.now() + timedelta(days=1)
    world.event(
        ticket_id, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=2)
    )
    path = site.path_for(ticket_id)

    confirmed = site.client.post(path + "/confirm")
    assert confirmed.status_code == 303
    assert confirmed.headers["location"].endswith("msg=confirmed")
    moved = site.client.post(
        path + "/appointment", data={"slot_start": "2026-11-05T14:00", "hours": "4"}
    )
    assert moved.status_code == 303

    with world.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.slot_start is not None
        assert ticket.slot_start.isoformat() == "2026-11-05T06:00:00+00:00"  # 14:00 in Shanghai
        assert ticket.slot_end is not None
        assert ticket.slot_end - ticket.slot_start == timedelta(hours=4)
        events = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.seq)
        ).all()
        by_customer = [(e.type, e.actor_id) for e in events if e.actor_type == "customer"]
        assert by_customer == [
            ("appointment_confirmed", ticket_id),
            ("appointment_booked", ticket_id),
        ]
        assert events[-1].payload["customer_chosen"] is True
        kinds = s.scalars(select(Notice.kind).where(Notice.ticket_id == ticket_id)).all()
        assert kinds == ["intake", "appointment", "appointment"]
    page = site.client.get(path, params={"msg": "moved"})
    assert "预约时间已更改" in page.text
    assert "2026-11-05 14:00" in page.text


def test_customer_cannot_move_a_visit_into_the_past(site: Site) -> None:
    ticket_id = site.world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    r = site.client.post(
        site.path_for(ticket_id) + "/appointment", data={"slot_start": "2020-01-01T10:00"}
    )
    assert r.status_code == 422
    assert "请检查您填写的内容" in r.text


def _complete(world: World, ticket_id: str) -> None:
    start = world.clock.now() + timedelta(hours=2)
    world.event(
        ticket_id, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=2)
    )
    world.advance(hours=2)
    world.event(ticket_id, "engineer_departed")
    world.event(ticket_id, "repair_started")
    world.event(
        ticket_id,
        "completed",
        parts_used=[{"sku": "AC-FILTER", "qty": 1}],
        work_done="filter replaced",
    )


def test_customer_rating_is_recorded_as_the_follow_up(site: Site) -> None:
    world = site.world
    ticket_id = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    path = site.path_for(ticket_id)
    too_early = site.client.post(path + "/rating", data={"score": "5"})
    assert too_early.status_code == 409
    _complete(world, ticket_id)

    rated = site.client.post(path + "/rating", data={"score": "5", "comment": "很及时"})
    assert rated.status_code == 303

    with world.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.state == "followed_up"
        follow_up = s.scalars(select(FollowUp).where(FollowUp.ticket_id == ticket_id)).one()
        assert (follow_up.outcome, follow_up.satisfaction, follow_up.comment) == (
            "rated",
            5,
            "很及时",
        )
        last = s.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.seq.desc())
        ).first()
        assert last is not None
        assert (last.type, last.actor_type) == ("follow_up", "customer")
    again = site.client.post(path + "/rating", data={"score": "1"})
    assert again.status_code == 409
    assert "感谢您的评价,已记录" in site.client.get(path).text
