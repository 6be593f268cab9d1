"""The SLA job: flags warned/breached clocks, expires reservations, auto-raises escalations.

``run_due`` is one pass at an instant (deterministic, used by tests with a ManualClock);
``run_forever`` is the app's background task: it wakes at the earliest stored deadline
(capped, so clocks started meanwhile are seen within seconds), never polling blindly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aftercare.clock import Clock
from cloud_api.db import aggregate_time
from cloud_api.models.parts import Reservation
from cloud_api.models.tickets import ClockStatus, SlaClock, Ticket
from cloud_api.services import escalation, idempotency, parts, sla
from cloud_api.services.actors import SYSTEM
from cloud_api.services.timeline import record

__all__ = ["next_wake", "run_due", "run_forever"]

logger = logging.getLogger(__name__)

_OPEN: Final = (ClockStatus.RUNNING.value, ClockStatus.WARNED.value)
_EXPIRABLE: Final = ("held", "allocated", "at_station")


def run_due(*, session: Session, clock: Clock) -> dict[str, int]:
    """One pass at ``clock.now()``; commits. Returns counts of what it did."""
    now = clock.now()
    counts = {"warned": 0, "breached": 0, "expired": 0, "escalated": 0}
    due = session.scalars(
        select(SlaClock)
        .where(
            SlaClock.status.in_(_OPEN),
            SlaClock.stopped_at.is_(None),
            (SlaClock.deadline <= now)
            | ((SlaClock.status == ClockStatus.RUNNING.value) & (SlaClock.warn_at <= now)),
        )
        .order_by(SlaClock.deadline)
    ).all()
    for c in due:
        ticket = session.get(Ticket, c.ticket_id)
        if ticket is None:
            continue
        if c.deadline <= now:
            _breach(session, ticket, c, clock)
            counts["breached"] += 1
            counts["escalated"] += int(c.name in sla.ESCALATION)
        else:
            c.status = ClockStatus.WARNED.value
            c.warned_at = now
            _line(
                session,
                ticket,
                "sla_warned",
                now,
                {"clock": c.name, "deadline": c.deadline.isoformat()},
            )
            counts["warned"] += 1
    for line in parts.expire_due(session=session, now=now):
        ticket = session.get(Ticket, line.ticket_id)
        if ticket is not None:
            _line(
                session,
                ticket,
                "reservation_expired",
                now,
                {"sku": line.sku, "qty": line.qty, "parts_at_risk": True},
            )
        counts["expired"] += 1
    idempotency.purge_expired(session=session, now=now)
    session.commit()
    if any(counts.values()):
        logger.info("sla job: %s", counts)
    return counts


def _line(
    session: Session, ticket: Ticket, kind: str, at: datetime, payload: dict[str, object]
) -> None:
    record(
        session=session,
        ticket=ticket,
        type=kind,
        actor=SYSTEM,
        at=at,
        from_state=ticket.state,
        to_state=ticket.state,
        payload=payload,
    )


def _breach(session: Session, ticket: Ticket, c: SlaClock, clock: Clock) -> None:
    c.status = ClockStatus.BREACHED.value
    c.breached_at = c.deadline
    _line(
        session,
        ticket,
        "sla_breached",
        clock.now(),
        {"clock": c.name, "deadline": c.deadline.isoformat()},
    )
    level = sla.ESCALATION.index(c.name) + 1 if c.name in sla.ESCALATION else 0
    if (
        level
        and level == ticket.escalation_level
        and level < len(sla.ESCALATION)
        and escalation.is_open(ticket)
    ):
        escalation.raise_level(
            session=session,
            ticket=ticket,
            actor=SYSTEM,
            clock=clock,
            auto=True,
            note=f"level {level} deadline missed",
        )


def next_wake(*, session: Session) -> datetime | None:
    """The earliest instant at which :func:`run_due` has something to do."""
    candidates = [
        session.scalar(
            select(func.min(SlaClock.deadline)).where(
                SlaClock.status.in_(_OPEN), SlaClock.stopped_at.is_(None)
            )
        ),
        session.scalar(
            select(func.min(SlaClock.warn_at)).where(
                SlaClock.status == ClockStatus.RUNNING.value, SlaClock.stopped_at.is_(None)
            )
        ),
        session.scalar(
            select(func.min(Reservation.expires_at)).where(Reservation.state.in_(_EXPIRABLE))
        ),
    ]
    times = [t for t in candidates if t is not None]
    if not times:
        return None
    # func.min bypasses the column type on SQLite: normalise to aware UTC here.

    return min(aggregate_time(t) for t in times)


async def run_forever(*, sessions: Callable[[], Session], clock: Clock, max_sleep_s: float) -> None:
    """The background task of the app lifespan."""
    while True:
        try:
            wake = await asyncio.to_thread(_pass, sessions, clock)
        except SQLAlchemyError:
            logger.exception("sla job pass failed; retrying")
            wake = None
        delay = max_sleep_s if wake is None else (wake - clock.now()).total_seconds()
        await clock.sleep(min(max(delay, 0.05), max_sleep_s))


def _pass(sessions: Callable[[], Session], clock: Clock) -> datetime | None:
    with sessions() as session:
        run_due(session=session, clock=clock)
        return next_wake(session=session)
