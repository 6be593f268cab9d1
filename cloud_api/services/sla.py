"""SLA clocks (SERVICE_FLOW section 5): deadlines stored at start, stopped by events.

The targets are the seeds': dispatch 1 minute, appointment 60 minutes (urgent 30),
completion 24 hours, parts within 24 hours, follow-up within 48 hours of completion,
escalation levels 1 h / 24 h / 48 h from the escalation's start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.models.tickets import ClockStatus, SlaClock, Ticket
from cloud_api.services import session_cache

__all__ = [
    "APPOINTMENT",
    "COMPLETION",
    "COMPLETION_OPERATIONAL",
    "DISPATCH",
    "ESCALATION",
    "FOLLOW_UP",
    "PARTS",
    "TARGETS",
    "VISIT_BEFORE_FAILURE",
    "appointment_target",
    "cancel_all",
    "clocks_of",
    "forget",
    "fresh_clocks",
    "pause_operational",
    "retarget",
    "start",
    "stop",
]

DISPATCH: Final = "dispatch"
APPOINTMENT: Final = "appointment"
COMPLETION: Final = "completion"
COMPLETION_OPERATIONAL: Final = "completion_operational"
PARTS: Final = "parts"
VISIT_BEFORE_FAILURE: Final = "visit_before_failure"
FOLLOW_UP: Final = "follow_up"
ESCALATION: Final = ("escalation_l1", "escalation_l2", "escalation_l3")

TARGETS: Final[dict[str, timedelta]] = {
    DISPATCH: timedelta(minutes=1),
    APPOINTMENT: timedelta(minutes=60),
    COMPLETION: timedelta(hours=24),
    COMPLETION_OPERATIONAL: timedelta(hours=24),
    PARTS: timedelta(hours=24),
    FOLLOW_UP: timedelta(hours=48),
    ESCALATION[0]: timedelta(hours=1),
    ESCALATION[1]: timedelta(hours=24),
    ESCALATION[2]: timedelta(hours=48),
}
URGENT_APPOINTMENT: Final = timedelta(minutes=30)
# The dispatch clock is too short to warn; the others warn at 75 % of their span.
_WARN_FRACTION: Final[dict[str, float | None]] = {DISPATCH: None}
_OPEN: Final = (ClockStatus.RUNNING.value, ClockStatus.WARNED.value)


def appointment_target(*, urgent: bool) -> timedelta:
    """60 minutes, 30 for urgent tickets."""
    return URGENT_APPOINTMENT if urgent else TARGETS[APPOINTMENT]


def _warn_at(name: str, started_at: datetime, deadline: datetime) -> datetime | None:
    fraction = _WARN_FRACTION.get(name, 0.75)
    if fraction is None:
        return None
    return started_at + (deadline - started_at) * fraction


_CLOCKS: Final = "aftercare.sla_clocks"


def _cache(session: Session) -> dict[tuple[str, str], SlaClock]:
    cache: dict[tuple[str, str], SlaClock] = session.info.setdefault(_CLOCKS, {})
    return cache


def _find(session: Session, ticket: Ticket, name: str) -> SlaClock | None:
    """The clock, from this session when it created or loaded it, else from the database.

    Intake starts and stops clocks in one transaction: a ticket created in this session
    has no clock but those :func:`start` cached, so no query (and no autoflush) is needed.
    """
    cached = _cache(session).get((ticket.id, name))
    if cached is not None and cached in session:
        return cached
    if session_cache.is_fresh(session, ticket.id):
        return None
    clock = session.scalar(
        select(SlaClock).where(SlaClock.ticket_id == ticket.id, SlaClock.name == name)
    )
    if clock is not None:
        _cache(session)[(ticket.id, name)] = clock
    return clock


def fresh_clocks(*, session: Session, ticket: Ticket) -> list[SlaClock] | None:
    """Every clock of a ticket created in this session (all cached), else ``None``."""
    if not session_cache.is_fresh(session, ticket.id):
        return None
    clocks = [c for (tid, _), c in _cache(session).items() if tid == ticket.id and c in session]
    return sorted(clocks, key=lambda c: c.id or 0)


def forget(*, session: Session, ticket: Ticket, names: Iterable[str]) -> None:
    """Drop cached clocks whose rows the caller deletes."""
    cache = _cache(session)
    for name in names:
        cache.pop((ticket.id, name), None)


def start(
    *,
    session: Session,
    ticket: Ticket,
    name: str,
    at: datetime,
    deadline: datetime | None = None,
    fresh: bool = False,
) -> SlaClock:
    """Start clock ``name`` (idempotent: an existing clock is returned unchanged).

    ``fresh`` says the ticket is new in this transaction, so no clock can exist yet.
    """
    existing = None if fresh else _find(session, ticket, name)
    if existing is not None:
        return existing
    deadline = deadline if deadline is not None else at + TARGETS[name]
    clock = SlaClock(
        ticket_id=ticket.id,
        name=name,
        started_at=at,
        deadline=deadline,
        warn_at=_warn_at(name, at, deadline),
        status=ClockStatus.RUNNING.value,
        paused_total_s=0.0,
    )
    session.add(clock)
    _cache(session)[(ticket.id, name)] = clock
    return clock


def stop(*, session: Session, ticket: Ticket, name: str, at: datetime) -> SlaClock | None:
    """Stop a running clock: ``met`` before its deadline; ``breached`` stays ``breached``."""
    clock = _find(session, ticket, name)
    if clock is None or clock.stopped_at is not None:
        return clock
    clock.stopped_at = at
    if clock.status != ClockStatus.BREACHED.value:
        clock.status = ClockStatus.MET.value if at <= clock.deadline else ClockStatus.BREACHED.value
        if clock.status == ClockStatus.BREACHED.value:
            clock.breached_at = clock.deadline
    return clock


def retarget(*, session: Session, ticket: Ticket, name: str, deadline: datetime) -> None:
    """Pull a running clock's deadline earlier (never later; never restarts it)."""
    clock = _find(session, ticket, name)
    if clock is None or clock.status not in _OPEN or deadline >= clock.deadline:
        return
    clock.deadline = deadline
    clock.warn_at = _warn_at(name, clock.started_at, deadline)


def pause_operational(*, session: Session, ticket: Ticket, seconds: float) -> None:
    """Push the operational completion clock back by a customer-caused wait."""
    clock = session.scalar(
        select(SlaClock).where(
            SlaClock.ticket_id == ticket.id, SlaClock.name == COMPLETION_OPERATIONAL
        )
    )
    if clock is None or clock.status not in _OPEN or seconds <= 0:
        return
    clock.paused_total_s += seconds
    clock.deadline = clock.deadline + timedelta(seconds=seconds)
    clock.warn_at = _warn_at(clock.name, clock.started_at, clock.deadline)


def cancel_all(*, session: Session, ticket: Ticket, at: datetime) -> None:
    """Cancel every open clock of a cancelled ticket."""
    for clock in clocks_of(session=session, ticket_id=ticket.id):
        if clock.status in _OPEN:
            clock.status = ClockStatus.CANCELLED.value
            clock.stopped_at = at


def clocks_of(*, session: Session, ticket_id: str) -> list[SlaClock]:
    """Every clock of a ticket, in start order."""
    return list(
        session.scalars(
            select(SlaClock).where(SlaClock.ticket_id == ticket_id).order_by(SlaClock.id)
        )
    )
