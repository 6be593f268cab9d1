"""Intake notices leave through the outbox to a real SMTP server and a real webhook."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from aftercare.catalog import Severity
from cloud_api.models.notices import Notice
from cloud_api.models.tickets import SlaClock, Ticket
from cloud_api.notify.channels import SIGNATURE_HEADER, AppriseSender, verify_webhook
from cloud_api.notify.worker import deliver_due
from tests.cloud_api.notices.servers import Mailbox, smtp_server, smtp_url, webhook_server
from tests.cloud_api.notices.world import PostgresTemplate, SqliteTemplate, World, build_world
from tests.support.ports import free_port

pytestmark = pytest.mark.integration

HOOK_SECRET = "hook-secret-for-tests"
SHANGHAI = ZoneInfo("Asia/Shanghai")


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
        rng=random.Random(1),
    )
    return stats.sent, stats.retried, stats.failed


@pytest.fixture
def mail(
    db_url: str, template: SqliteTemplate | PostgresTemplate
) -> Iterator[tuple[World, Mailbox]]:
    with smtp_server() as (mailbox, port):
        w = build_world(db_url, seeded=template.seeded, smtp_url=smtp_url(port))
        yield w, mailbox
        w.engine.dispose()


def test_intake_email_in_chinese_says_what_was_found_part_warranty_and_callback(
    mail: tuple[World, Mailbox],
) -> None:
    world, mailbox = mail
    world.set_customer("ac-new", language="zh-CN", email="wang@example.cn")
    result = world.intake("ac-new", "AC_FILTER_CLOGGED", predicted_in=timedelta(days=10))

    assert _deliver(world) == (1, 0, 0)
    assert mailbox.recipients == [["wang@example.cn"]]
    message = mailbox.messages[0]
    text = mailbox.text()
    assert result.ticket.id in str(message["Subject"])
    assert "服务单" in str(message["Subject"])
    assert "空调滤网正在堵塞" in text  # the catalog's plain-language summary
    assert "空调滤网 × 1" in text  # the reserved part, by its Chinese name
    detected = result.ticket.detected_at.astimezone(SHANGHAI)
    assert f"设备运行数据于 {detected:%Y-%m-%d %H:%M}" in text
    assert "保修期内" in text
    assert "免费" in text
    call_by = (result.ticket.accepted_at + timedelta(minutes=60)).astimezone(SHANGHAI)
    assert f"{call_by:%Y-%m-%d %H:%M}" in text
    link = result.customer_notice["link"] if result.customer_notice else None
    assert link is not None
    assert link in text
    token = link.rsplit("/c/", 1)[1]
    assert world.config.signer.verify(token, clock=world.clock).ticket_id == result.ticket.id


def test_intake_email_in_english_states_the_quote_out_of_warranty(
    mail: tuple[World, Mailbox],
) -> None:
    world, mailbox = mail
    world.set_customer("ac-old", language="en", email="li@example.com")
    result = world.intake("ac-old", "AC_FILTER_CLOGGED")
    quote = result.ticket.quote
    assert quote is not None

    assert _deliver(world) == (1, 0, 0)
    text = mailbox.text()
    assert "Your air conditioner (KFR-35GW) told us about a problem" in text
    assert "the air filter is clogging" in text
    assert "air filter × 1" in text
    assert f"{quote['total']:.2f} CNY" in text
    assert "out of warranty" in text
    assert "We will call you by" in text
    assert "/c/" in text


def test_urgent_intake_promises_a_call_within_30_minutes(world: World) -> None:
    world.set_customer("fr-1", language="en", email=None)
    result = world.intake("fr-1", "FR_DEFROST_FAILURE", severity=Severity.CRITICAL)

    notice = result.customer_notice
    assert notice is not None
    promised = result.ticket.accepted_at + timedelta(minutes=30)
    assert notice["call_back_by"] == promised.isoformat()
    assert f"{promised.astimezone(SHANGHAI):%H:%M}" in notice["text"]
    assert notice["channels"] == ["log"]  # no e-mail address, no webhook: the page and the log


def test_webhook_carries_a_valid_signature_and_a_stable_event_id(
    db_url: str, template: SqliteTemplate | PostgresTemplate
) -> None:
    with webhook_server() as (hooks, address):
        world = build_world(
            db_url,
            seeded=template.seeded,
            webhook_url=f"json://{address}/aftercare",
            webhook_secret=HOOK_SECRET,
        )
        result = world.intake("ac-new", "AC_FILTER_CLOGGED")
        assert _deliver(world) == (1, 0, 0)
        world.engine.dispose()

    assert len(hooks.requests) == 1
    headers, body = hooks.requests[0]
    assert verify_webhook(HOOK_SECRET, headers[SIGNATURE_HEADER], body["message"])
    assert not verify_webhook("another-secret", headers[SIGNATURE_HEADER], body["message"])
    assert not verify_webhook(HOOK_SECRET, headers[SIGNATURE_HEADER], body["message"] + " ")
    event = json.loads(body["message"])
    assert event["event_id"] == f"{result.ticket.id}:1"
    assert headers["X-Aftercare-Event-Id"] == event["event_id"]
    assert event["kind"] == "intake"
    assert event["ticket_id"] == result.ticket.id
    assert event["link"].startswith("http://cloud.test/c/")


def test_smtp_outage_is_retried_with_backoff_until_the_server_is_back(
    db_url: str, template: SqliteTemplate | PostgresTemplate
) -> None:
    port = free_port()  # nothing listens yet
    world = build_world(db_url, seeded=template.seeded, smtp_url=smtp_url(port))
    world.set_customer("ac-new", language="en", email="li@example.com")
    world.intake("ac-new", "AC_FILTER_CLOGGED")

    assert _deliver(world) == (0, 1, 0)
    with world.session() as s:
        notice = s.scalars(select(Notice)).one()
        assert notice.state == "pending"
        assert notice.attempts == 1
        assert notice.last_error
        assert notice.next_attempt_at == world.clock.now() + timedelta(seconds=60)
    assert _deliver(world) == (0, 0, 0)  # not due before its backoff

    with smtp_server(port) as (mailbox, _):
        world.advance(seconds=61)
        assert _deliver(world) == (1, 0, 0)
    assert len(mailbox.messages) == 1
    with world.session() as s:
        notice = s.scalars(select(Notice)).one()
        assert notice.state == "sent"
        assert notice.attempts == 2
        assert notice.last_error is None
        assert notice.sent_at == world.clock.now()
    world.engine.dispose()


def test_notice_is_failed_after_the_last_attempt(
    db_url: str, template: SqliteTemplate | PostgresTemplate
) -> None:
    world = build_world(db_url, seeded=template.seeded, smtp_url=smtp_url(free_port()))
    world.set_customer("ac-new", language="en", email="li@example.com")
    world.intake("ac-new", "AC_FILTER_CLOGGED")

    outcomes = []
    for _ in range(3):
        outcomes.append(_deliver(world))
        world.advance(seconds=700)
    assert outcomes == [(0, 1, 0), (0, 1, 0), (0, 0, 1)]
    with world.session() as s:
        assert s.scalars(select(Notice.state)).one() == "failed"
    assert _deliver(world) == (0, 0, 0)
    world.engine.dispose()


def test_intake_notice_does_not_stop_the_appointment_clock(world: World) -> None:
    result = world.intake("ac-new", "AC_FILTER_CLOGGED")
    with world.session() as s:
        clock = s.scalars(
            select(SlaClock).where(
                SlaClock.ticket_id == result.ticket.id, SlaClock.name == "appointment"
            )
        ).one()
        assert clock.stopped_at is None
        assert clock.status == "running"
        assert s.scalars(select(Notice.kind)).all() == ["intake"]


def test_notice_rows_roll_back_with_the_ticket(world: World) -> None:
    from cloud_api.services.notices import queue_notice

    with world.session() as s:
        ticket = s.scalars(select(Ticket)).first()
        assert ticket is None
    result = world.intake("ac-new", "AC_FILTER_CLOGGED")
    with world.session() as s:
        ticket = s.get(Ticket, result.ticket.id)
        assert ticket is not None
        queue_notice(session=s, ticket=ticket, kind="appointment", clock=world.clock)
        s.flush()
        assert len(s.scalars(select(Notice)).all()) == 2
        s.rollback()
    with world.session() as s:
        assert [n.kind for n in s.scalars(select(Notice))] == ["intake"]


def test_webhook_answering_5xx_is_retried_then_delivered_once(
    db_url: str, template: SqliteTemplate | PostgresTemplate
) -> None:
    with webhook_server() as (hooks, address):
        hooks.status = 503
        world = build_world(
            db_url,
            seeded=template.seeded,
            webhook_url=f"json://{address}/aftercare",
            webhook_secret=HOOK_SECRET,
        )
        world.intake("ac-new", "AC_FILTER_CLOGGED")
        assert _deliver(world) == (0, 1, 0)
        hooks.status = 200
        world.advance(seconds=61)
        assert _deliver(world) == (1, 0, 0)
        world.engine.dispose()

    ids = [headers["X-Aftercare-Event-Id"] for headers, _ in hooks.requests]
    assert len(ids) == 2
    assert len(set(ids)) == 1  # the retry carries the same event id


async def test_worker_loop_delivers_until_stopped(
    db_url: str, template: SqliteTemplate | PostgresTemplate
) -> None:
    import asyncio

    from cloud_api.notify.worker import run_notice_worker

    with webhook_server() as (hooks, address):
        world = build_world(
            db_url,
            seeded=template.seeded,
            webhook_url=f"json://{address}/aftercare",
            webhook_secret=HOOK_SECRET,
        )
        world.intake("ac-new", "AC_FILTER_CLOGGED")
        world.intake("fr-1", "FR_DOOR_GASKET_LEAK")
        stop = asyncio.Event()
        sender = AppriseSender(
            smtp_url=None, webhook_url=world.config.webhook_url, webhook_secret=HOOK_SECRET
        )
        task = asyncio.create_task(
            run_notice_worker(
                world.sessions,
                world.clock,
                stop,
                sender=sender,
                retry=world.config.retry,
                poll_interval_s=1.0,
            )
        )
        for _ in range(200):
            if len(hooks.requests) >= 2:
                break
            await asyncio.sleep(0.02)
        stop.set()
        totals = await asyncio.wait_for(task, timeout=10)
        world.engine.dispose()

    assert totals.sent == 2
    assert sorted(json.loads(b["message"])["kind"] for _, b in hooks.requests) == ["intake"] * 2
