"""Reading tickets: visibility per caller, filters, pagination, details."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cloud_api.exceptions import TicketNotFound
from cloud_api.models.parts import Reservation
from cloud_api.models.registry import Home
from cloud_api.models.tickets import ActorType, SlaClock, Ticket, TicketEvent
from cloud_api.services import parts, sla
from cloud_api.services.actors import Actor

TicketRow = Ticket

__all__ = [
    "TicketDetails",
    "TicketFilters",
    "details",
    "details_many",
    "get_visible",
    "list_tickets",
    "visible",
]


@dataclass(frozen=True, slots=True)
class TicketFilters:
    """Filters of ``GET /v1/tickets``."""

    state: str | None = None
    station: str | None = None
    fault: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class TicketDetails:
    """A ticket with its lines, clocks and (optionally) timeline."""

    ticket: Ticket
    reservations: list[Reservation]
    clocks: list[SlaClock]
    timeline: list[TicketEvent]


def visible(stmt: Select[TicketRow], actor: Actor) -> Select[TicketRow]:
    """Restrict a ticket query to what ``actor`` may see (SERVICE_FLOW section 12)."""
    if actor.type is ActorType.GATEWAY:
        return stmt.where(Ticket.home_id.in_(select(Home.id).where(Home.gateway_id == actor.id)))
    if actor.type is ActorType.CUSTOMER:
        return stmt.where(Ticket.id == actor.id)
    if actor.is_station_scoped:
        return stmt.where(Ticket.station_id == actor.station_id)
    return stmt


def get_visible(
    *, session: Session, ticket_id: str, actor: Actor, for_update: bool = False
) -> Ticket:
    """The ticket if ``actor`` may see it; otherwise :class:`TicketNotFound` (no leak)."""
    stmt = visible(select(Ticket).where(Ticket.id == ticket_id), actor)
    if for_update:
        stmt = stmt.with_for_update()
    ticket = session.scalar(stmt)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def list_tickets(
    *, session: Session, actor: Actor, filters: TicketFilters
) -> tuple[list[Ticket], int]:
    """A page of visible tickets, newest first, and the total count."""
    stmt = visible(select(Ticket), actor)
    if filters.state:
        stmt = stmt.where(Ticket.state == filters.state)
    if filters.station:
        stmt = stmt.where(Ticket.station_id == filters.station)
    if filters.fault:
        stmt = stmt.where(Ticket.fault_code == filters.fault)
    if filters.since:
        stmt = stmt.where(Ticket.accepted_at >= filters.since)
    if filters.until:
        stmt = stmt.where(Ticket.accepted_at < filters.until)
    count = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Ticket.accepted_at.desc(), Ticket.id)
        .offset(filters.offset)
        .limit(filters.limit)
    )
    return list(rows), int(count)


def details(*, session: Session, ticket: Ticket, timeline: bool) -> TicketDetails:
    """Load a ticket's reservations, clocks and timeline.

    A ticket created in this session (the intake response) has them all in memory.
    """
    session.flush()
    lines = parts.fresh_lines(session=session, ticket=ticket)
    if lines is None:
        lines = list(
            session.scalars(
                select(Reservation)
                .where(Reservation.ticket_id == ticket.id)
                .order_by(Reservation.id)
            )
        )
    clocks = sla.fresh_clocks(session=session, ticket=ticket)
    if clocks is None:
        clocks = list(
            session.scalars(
                select(SlaClock).where(SlaClock.ticket_id == ticket.id).order_by(SlaClock.id)
            )
        )
    events = (
        list(
            session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.seq)
            )
        )
        if timeline
        else []
    )
    return TicketDetails(ticket, lines, clocks, events)


def details_many(*, session: Session, tickets: list[Ticket]) -> list[TicketDetails]:
    """Details of a page of tickets in two queries."""
    ids = [t.id for t in tickets]
    lines: dict[str, list[Reservation]] = {i: [] for i in ids}
    clocks: dict[str, list[SlaClock]] = {i: [] for i in ids}
    for line in session.scalars(
        select(Reservation).where(Reservation.ticket_id.in_(ids)).order_by(Reservation.id)
    ):
        lines[line.ticket_id].append(line)
    for c in session.scalars(
        select(SlaClock).where(SlaClock.ticket_id.in_(ids)).order_by(SlaClock.id)
    ):
        clocks[c.ticket_id].append(c)
    return [TicketDetails(t, lines[t.id], clocks[t.id], []) for t in tickets]
