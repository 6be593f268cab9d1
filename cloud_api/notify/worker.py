"""The outbox worker: send due notices, retry with capped backoff, mark sent or failed.

Delivery is at least once. A pass first *claims* due rows in one short transaction
(``attempts += 1`` and ``next_attempt_at`` pushed one lease ahead, ``SKIP LOCKED`` on
PostgreSQL so several cloud processes share the work), commits, and only then talks to
the SMTP server or webhook. A process that dies mid-send leaves the row claimed until the
lease runs out; then it is due again and another worker sends it (webhook receivers drop
the duplicate by ``event_id``). Holding a database transaction open across a slow SMTP
conversation would pin a connection and, on SQLite, the single write lock.

Everything here is blocking (SQLAlchemy sessions, apprise), so the asyncio loop in
:func:`run_notice_worker` runs each pass in a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aftercare.clock import Clock
from cloud_api.models.notices import Notice, NoticeState
from cloud_api.notify.channels import DeliveryFailed, Message, Sender
from cloud_api.notify.config import RetryPolicy

__all__ = ["DeliveryStats", "deliver_due", "run_notice_worker"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class DeliveryStats:
    """Counts of one pass (or, summed, of a worker's life)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        """Notices tried in the pass."""
        return self.sent + self.retried + self.failed

    def add(self, other: DeliveryStats) -> None:
        """Accumulate another pass."""
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.errors = (self.errors + other.errors)[-20:]


def _message(notice: Notice, timestamp: int) -> Message:
    if notice.channel == "webhook":
        body = json.dumps(notice.payload, ensure_ascii=False, sort_keys=True)
    else:
        body = notice.body
    return Message(
        channel=notice.channel,
        recipient=notice.recipient,
        subject=notice.subject,
        body=body,
        event_id=notice.event_id,
        timestamp=timestamp,
    )


def _claim(
    session_factory: sessionmaker[Session], clock: Clock, retry: RetryPolicy, limit: int
) -> list[tuple[int, Message]]:
    now = clock.now()
    with session_factory() as session, session.begin():
        rows = session.scalars(
            select(Notice)
            .where(Notice.state == NoticeState.PENDING.value, Notice.next_attempt_at <= now)
            .order_by(Notice.next_attempt_at, Notice.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        claimed: list[tuple[int, Message]] = []
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=retry.lease_s)
            claimed.append((row.id, _message(row, int(now.timestamp()))))
        return claimed


def _settle(
    session_factory: sessionmaker[Session],
    clock: Clock,
    retry: RetryPolicy,
    notice_id: int,
    error: str | None,
    rng: random.Random,
) -> str:
    now = clock.now()
    with session_factory() as session, session.begin():
        row = session.get(Notice, notice_id)
        if row is None:
            return "gone"
        if error is None:
            row.state, row.sent_at, row.last_error = NoticeState.SENT.value, now, None
            return "sent"
        row.last_error = error[:2000]
        if row.attempts >= retry.max_attempts:
            row.state = NoticeState.FAILED.value
            return "failed"
        delay = retry.delay_s(row.attempts, rng.random())
        row.next_attempt_at = now + timedelta(seconds=delay)
        return "retried"


def deliver_due(
    *,
    session_factory: sessionmaker[Session],
    clock: Clock,
    sender: Sender,
    retry: RetryPolicy,
    rng: random.Random | None = None,
    limit: int = 20,
) -> DeliveryStats:
    """Send up to ``limit`` due notices (blocking); returns what happened."""
    rng = rng or random.Random()
    stats = DeliveryStats()
    for notice_id, message in _claim(session_factory, clock, retry, limit):
        error: str | None = None
        try:
            sender.send(message)
        except DeliveryFailed as exc:
            error = str(exc) or "delivery failed"
            logger.warning("notice %s by %s failed: %s", message.event_id, message.channel, error)
            stats.errors.append(error)
        outcome = _settle(session_factory, clock, retry, notice_id, error, rng)
        if outcome == "sent":
            stats.sent += 1
        elif outcome == "retried":
            stats.retried += 1
        elif outcome == "failed":
            stats.failed += 1
            logger.error("notice %s by %s gave up: %s", message.event_id, message.channel, error)
    return stats


async def _pause(clock: Clock, seconds: float, stop_event: asyncio.Event) -> None:
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop_event.wait())
    try:
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        stopper.cancel()


async def run_notice_worker(
    session_factory: sessionmaker[Session],
    clock: Clock,
    stop_event: asyncio.Event,
    *,
    sender: Sender,
    retry: RetryPolicy,
    poll_interval_s: float = 5.0,
    totals: DeliveryStats | None = None,
) -> DeliveryStats:
    """Deliver notices until ``stop_event`` is set; returns the totals.

    A full batch is followed at once by the next one; an empty or partial one waits
    ``poll_interval_s`` of the clock's time.
    """
    totals = totals if totals is not None else DeliveryStats()
    rng = random.Random()
    limit = 20
    while not stop_event.is_set():
        try:
            stats = await asyncio.to_thread(
                deliver_due,
                session_factory=session_factory,
                clock=clock,
                sender=sender,
                retry=retry,
                rng=rng,
                limit=limit,
            )
        # The worker must outlive a database hiccup; the pass is retried after a pause.
        except Exception:
            logger.exception("notice delivery pass failed")
            totals.errors.append("pass failed")
            stats = DeliveryStats()
        totals.add(stats)
        if stats.attempted < limit:
            await _pause(clock, poll_interval_s, stop_event)
    return totals
