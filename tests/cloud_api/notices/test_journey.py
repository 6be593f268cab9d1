"""Every notice of a ticket's journey leaves through the outbox, by e-mail and by webhook.

The ticket is moved by the real flow (no notice is queued by hand), the worker delivers
to a real SMTP server (aiosmtpd) and a real HTTP webhook receiver, and each notice's
customer link opens the ticket until it expires.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from cloud_api.models.parts import Reservation
from cloud_api.models.registry import Role, Stock, Warehouse
from cloud_api.notify.channels import SIGNATURE_HEADER, AppriseSender, verify_webhook
from cloud_api.notify.links import LinkExpired
from cloud_api.notify.worker import deliver_due
from tests.cloud_api.notices.servers import (
    Hooks,
    Mailbox,
    smtp_server,
    smtp_url,
    webhook_server,
)
from tests.cloud_api.notices.world import PostgresTemplate, SqliteTemplate, World, build_world

pytestmark = pytest.mark.integration

HOOK_SECRET = "journey-hook-secret"
SHANGHAI = ZoneInfo("Asia/Shanghai")

JOURNEY = [
    "intake",
    "appointment",
    "engineer_departed",
    "waiting_for_parts",
    "appointment",
    "engineer_departed",
    "completed",
    "follow_up",
]

# What each notice must say, per language (the first words a customer reads).
SAYS = {
    "en": {
        "intake": "told us about a problem",
        "appointment": "will visit you on",
        "engineer_departed": "has left for your home",
        "waiting_for_parts": "compressor run capacitor × 1",
        "completed": "We will call you by",
        "follow_up": "Thank you for telling us how the service went (5 of 5)",
    },
    "zh-CN": {
        "intake": "主动向我们报告",
        "appointment": "上门检修",
        "engineer_departed": "已出发前往您家",
        "waiting_for_parts": "压缩机运行电容 × 1",
        "completed": "回访",
        "follow_up": "5 分,满分 5 分",
    },
}


@dataclass
class Outlets:
    world: World
    mailbox: Mailbox
    hooks: Hooks


@pytest.fixture
def outlets(db_url: str, template: SqliteTemplate | PostgresTemplate) -> Iterator[Outlets]:
    with smtp_server() as (mailbox, port), webhook_server() as (hooks, address):
        world = build_world(
            db_url,
            seeded=template.seeded,
            smtp_url=smtp_url(port),
            webhook_url=f"json://{address}/aftercare",
            webhook_secret=HOOK_SECRET,
        )
        yield Outlets(world, mailbox, hooks)
        world.engine.dispose()


def _deliver(world: World) -> tuple[int, int, int]:
    sender = AppriseSender(
        smtp_url=world.config.smtp_url,
        webhook_url=world.config.webhook_url,
        webhook_secret=world.config.webhook_secret,
    )
    stats = deliver_due(
        session_factory=world.sessions,
        clock=world.clock,
        sender=sender,
        retry=world.config.retry,
        rng=random.Random(7),
    )
    return stats.sent, stats.retried, stats.failed


def _walk(world: World, ticket_id: str) -> list[tuple[int, int, int]]:
    """Move the ticket through a two-visit repair; deliver after every step."""
    delivered = [_deliver(world)]
    start = world.clock.now() + timedelta(hours=3)
    world.event(
        ticket_id, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=2)
    )
    delivered.append(_deliver(world))
    world.clock.set(start - timedelta(minutes=20))
    world.event(ticket_id, "engineer_departed", eta=start + timedelta(minutes=10))
    delivered.append(_deliver(world))
    world.advance(minutes=30)
    world.event(ticket_id, "repair_started")
    world.event(ticket_id, "waiting_for_parts", parts=[{"sku": "AC-CAPACITOR", "qty": 1}])
    delivered.append(_deliver(world))
    world.advance(hours=2)
    world.event(ticket_id, "parts_arrived")
    second = world.clock.now() + timedelta(hours=1)
    world.event(
        ticket_id, "appointment_booked", slot_start=second, slot_end=second + timedelta(hours=1)
    )
    delivered.append(_deliver(world))
    world.clock.set(second)
    world.event(ticket_id, "engineer_departed")
    delivered.append(_deliver(world))
    world.event(ticket_id, "repair_started")
    world.event(
        ticket_id,
        "completed",
        parts_used=[{"sku": "AC-FILTER", "qty": 1}, {"sku": "AC-CAPACITOR", "qty": 1}],
        work_done="filter and capacitor replaced",
    )
    delivered.append(_deliver(world))
    world.advance(hours=5)
    world.event(ticket_id, "follow_up", role=Role.AGENT, outcome="rated", satisfaction=5)
    delivered.append(_deliver(world))
    return delivered


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_journey_notice_is_mailed_and_posted_in_the_customers_language(
    outlets: Outlets, language: str
) -> None:
    world, mailbox, hooks = outlets.world, outlets.mailbox, outlets.hooks
    world.set_customer("ac-new", language=language, email="kunde@example.cn")
    ticket_id = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id

    delivered = _walk(world, ticket_id)

    # One e-mail and one webhook per notice, each delivered in the step that queued it.
    assert delivered == [(2, 0, 0)] * len(JOURNEY)
    events = [json.loads(body["message"]) for _, body in hooks.requests]
    assert [e["kind"] for e in events] == JOURNEY
    assert [e["event_id"] for e in events] == [f"{ticket_id}:{i}" for i in range(1, 9)]
    for headers, body in hooks.requests:
        assert verify_webhook(HOOK_SECRET, headers[SIGNATURE_HEADER], body["message"])
    assert len(mailbox.messages) == len(JOURNEY)
    assert mailbox.recipients == [["kunde@example.cn"]] * len(JOURNEY)
    for index, event in enumerate(events):
        text = mailbox.text(index)
        assert event["language"] == language
        # The same words in the mail as in the webhook (mail may carry CRLF line ends).
        assert event["text"].split() == text.split()
        assert SAYS[language][event["kind"]] in text, event["kind"]
        assert event["link"] in text


def test_departure_notice_promises_the_engineers_eta_not_the_slot(outlets: Outlets) -> None:
    world, mailbox = outlets.world, outlets.mailbox
    world.set_customer("ac-new", language="en", email="li@example.com")
    ticket_id = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    start = world.clock.now() + timedelta(hours=3)
    world.event(
        ticket_id, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=2)
    )
    eta = start + timedelta(minutes=47)
    world.event(ticket_id, "engineer_departed", eta=eta)
    _deliver(world)

    departed = mailbox.text(-1)
    assert "Your engineer is on the way" in str(mailbox.messages[-1]["Subject"])
    assert f"{eta.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" in departed
    assert f"{start.astimezone(SHANGHAI):%H:%M} (" not in departed


def test_waiting_for_parts_notice_names_the_transfer_eta(outlets: Outlets) -> None:
    world, mailbox = outlets.world, outlets.mailbox
    world.set_customer("ac-new", language="en", email="li@example.com")
    with world.session() as s:
        stations = select(Warehouse.id).where(Warehouse.kind == "station")
        s.execute(
            update(Stock)
            .where(Stock.sku == "AC-REFRIG-KIT", Stock.warehouse_id.in_(stations))
            .values(on_hand=0)
        )
        s.commit()
    ticket_id = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    start = world.clock.now() + timedelta(hours=1)
    world.event(
        ticket_id, "appointment_booked", slot_start=start, slot_end=start + timedelta(hours=1)
    )
    world.event(ticket_id, "engineer_departed")
    world.event(ticket_id, "repair_started")
    world.event(ticket_id, "waiting_for_parts", parts=[{"sku": "AC-REFRIG-KIT", "qty": 1}])
    _deliver(world)

    with world.session() as s:
        line = s.scalars(
            select(Reservation).where(
                Reservation.ticket_id == ticket_id, Reservation.sku == "AC-REFRIG-KIT"
            )
        ).one()
    assert line.transfer_eta is not None  # from the central warehouse, with its lead time
    text = mailbox.text(-1)
    assert "The repair needs a part that is on its way" in text
    assert "air filter" not in text  # already at the station: not what we wait for
    assert f"We expect it by {line.transfer_eta.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" in text


def test_every_notice_link_opens_its_ticket_until_it_expires(outlets: Outlets) -> None:
    world, hooks = outlets.world, outlets.hooks
    world.set_customer("ac-new", language="en", email="li@example.com")
    ticket_id = world.intake("ac-new", "AC_FILTER_CLOGGED").ticket.id
    _walk(world, ticket_id)

    links = [json.loads(body["message"])["link"] for _, body in hooks.requests]
    assert len(links) == len(JOURNEY)
    tokens = [link.rsplit("/c/", 1)[1] for link in links]
    for token in tokens:
        assert world.config.signer.verify(token, clock=world.clock).ticket_id == ticket_id
    # The last link was signed at the follow-up; a link lives for the signer's ttl.
    world.advance(seconds=world.config.link_ttl.total_seconds() + 1)
    for token in tokens:
        with pytest.raises(LinkExpired):
            world.config.signer.verify(token, clock=world.clock)
