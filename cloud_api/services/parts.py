"""Part reservation lines (SERVICE_FLOW section 4).

Availability per warehouse is ``on_hand - reserved``. Every change of ``reserved`` is one
conditional ``UPDATE ... WHERE on_hand - reserved >= qty``: the database evaluates the
condition on the locked row, so concurrent intakes never oversell a part on PostgreSQL
(row lock, condition re-checked after the wait) or SQLite (one writer at a time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from cloud_api.models.parts import HOLDING_STATES, OldPart, Reservation, ReservationState
from cloud_api.models.registry import Stock, Warehouse, WarehouseKind
from cloud_api.models.tickets import Ticket
from cloud_api.services import session_cache

__all__ = [
    "HOLD_TTL",
    "Unmet",
    "allocate",
    "central_warehouse",
    "consume",
    "expire_due",
    "extend_expiry",
    "fresh_lines",
    "lines_of",
    "parts_ready",
    "receive",
    "release",
    "reserve",
    "station_warehouse",
]

HOLD_TTL: Final = timedelta(hours=24)
_EXPIRABLE: Final = (
    ReservationState.HELD.value,
    ReservationState.ALLOCATED.value,
    ReservationState.AT_STATION.value,
)
_HOLDING: Final = tuple(s.value for s in HOLDING_STATES)


@dataclass(frozen=True, slots=True)
class Unmet:
    """A part line no warehouse could supply."""

    sku: str
    qty: int


def station_warehouse(*, session: Session, station_id: str) -> Warehouse | None:
    """The station's own warehouse (looked up once per session)."""
    return session_cache.memo(
        session,
        ("station_warehouse", station_id),
        lambda: session.scalar(select(Warehouse).where(Warehouse.station_id == station_id)),
    )


def central_warehouse(*, session: Session) -> Warehouse | None:
    """The central warehouse (the first one, by id, if several; once per session)."""
    return session_cache.memo(
        session,
        ("central_warehouse",),
        lambda: session.scalar(
            select(Warehouse)
            .where(Warehouse.kind == WarehouseKind.CENTRAL.value)
            .order_by(Warehouse.id)
        ),
    )


def _prefetch_warehouses(session: Session, station_id: str) -> None:
    """Read the station's and the central warehouse in one query, for the memos above."""
    own_key, central_key = ("station_warehouse", station_id), ("central_warehouse",)
    if session_cache.known(session, own_key) and session_cache.known(session, central_key):
        return
    rows = list(
        session.scalars(
            select(Warehouse)
            .where(
                (Warehouse.station_id == station_id)
                | (Warehouse.kind == WarehouseKind.CENTRAL.value)
            )
            .order_by(Warehouse.id)
        )
    )
    own = next((w for w in rows if w.station_id == station_id), None)
    central = next((w for w in rows if w.kind == WarehouseKind.CENTRAL.value), None)
    session_cache.memo(session, own_key, lambda: own)
    session_cache.memo(session, central_key, lambda: central)


def fresh_lines(*, session: Session, ticket: Ticket) -> list[Reservation] | None:
    """Every line of a ticket created in this session (held in memory), else ``None``."""
    if not session_cache.is_fresh(session, ticket.id):
        return None
    lines: list[Reservation] = session_cache.recall(session, ("lines", ticket.id)) or []
    return sorted((line for line in lines if line in session), key=lambda line: line.id or 0)


def _take(session: Session, warehouse_id: str, sku: str, qty: int) -> bool:
    result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(Stock)
        .where(
            Stock.warehouse_id == warehouse_id,
            Stock.sku == sku,
            Stock.on_hand - Stock.reserved >= qty,
        )
        .values(reserved=Stock.reserved + qty)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _give_back(session: Session, line: Reservation, *, consumed: bool) -> None:
    values = {"reserved": Stock.reserved - line.qty}
    if consumed:
        values["on_hand"] = Stock.on_hand - line.qty
    session.execute(
        update(Stock)
        .where(Stock.warehouse_id == line.warehouse_id, Stock.sku == line.sku)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def reserve(
    *,
    session: Session,
    ticket: Ticket,
    station_id: str | None,
    parts: Iterable[tuple[str, int]],
    now: datetime,
) -> tuple[list[Reservation], list[Unmet]]:
    """Hold each part: the station's warehouse first, else the central one with a transfer."""
    if station_id:
        _prefetch_warehouses(session, station_id)
    own = station_warehouse(session=session, station_id=station_id) if station_id else None
    central = central_warehouse(session=session)
    lines: list[Reservation] = []
    unmet: list[Unmet] = []
    for sku, qty in parts:
        source = next(
            (w for w in (own, central) if w is not None and _take(session, w.id, sku, qty)), None
        )
        if source is None:
            unmet.append(Unmet(sku, qty))
            continue
        from_central = own is None or source.id != own.id
        line = Reservation(
            ticket_id=ticket.id,
            sku=sku,
            qty=qty,
            warehouse_id=source.id,
            station_id=station_id,
            state=ReservationState.HELD.value,
            expires_at=now + HOLD_TTL,
            transfer_eta=now + timedelta(hours=source.transfer_lead_hours)
            if from_central
            else None,
            created_at=now,
            updated_at=now,
        )
        session.add(line)
        lines.append(line)
    session_cache.remember(session, ("lines", ticket.id), lines)
    # No flush here: the next query flushes the lines, and intake inserts them once, in
    # their allocated state, instead of inserting then updating each.
    return lines, unmet


def lines_of(*, session: Session, ticket_id: str) -> list[Reservation]:
    """Every reservation line of a ticket."""
    return list(
        session.scalars(
            select(Reservation).where(Reservation.ticket_id == ticket_id).order_by(Reservation.id)
        )
    )


def allocate(
    *,
    session: Session,
    ticket: Ticket,
    station_id: str,
    now: datetime,
    lines: list[Reservation] | None = None,
) -> list[Reservation]:
    """On dispatch: lines in the station's warehouse are at the station, others ship.

    ``lines`` are every line of the ticket when the caller holds them (a ticket created in
    this transaction); otherwise they are read. Returns every line of the ticket.
    """
    own = station_warehouse(session=session, station_id=station_id)
    if lines is None:
        lines = lines_of(session=session, ticket_id=ticket.id)
    for line in lines:
        if (
            line.state != ReservationState.HELD.value
            and line.state != ReservationState.ALLOCATED.value
        ):
            continue
        line.station_id = station_id
        if own is not None and line.warehouse_id == own.id:
            line.state = ReservationState.AT_STATION.value
            line.transfer_eta = None
        else:
            source = session.get(Warehouse, line.warehouse_id)
            lead = source.transfer_lead_hours if source is not None else 24
            line.state = ReservationState.IN_TRANSIT.value
            line.transfer_eta = now + timedelta(hours=lead)
        line.updated_at = now
    return lines


def receive(*, session: Session, ticket: Ticket, now: datetime) -> int:
    """Transfers arrived: in-transit lines are now at the station; returns how many."""
    count = 0
    for line in lines_of(session=session, ticket_id=ticket.id):
        if line.state == ReservationState.IN_TRANSIT.value:
            line.state = ReservationState.AT_STATION.value
            line.updated_at = now
            count += 1
    return count


def parts_ready(lines: list[Reservation]) -> bool:
    """Every live line is at the station or issued (the parts clock stops)."""
    live = [line for line in lines if line.state in _HOLDING]
    return bool(live) and all(
        line.state in (ReservationState.AT_STATION.value, ReservationState.ISSUED.value)
        for line in live
    )


def release(
    *, session: Session, ticket: Ticket, now: datetime, station_id: str | None = None
) -> list[Reservation]:
    """Release live lines (all, or those headed to ``station_id``); stock goes back."""
    released = []
    for line in lines_of(session=session, ticket_id=ticket.id):
        if line.state not in _HOLDING:
            continue
        if station_id is not None and line.station_id != station_id:
            continue
        _give_back(session, line, consumed=False)
        line.state = ReservationState.RELEASED.value
        line.updated_at = now
        released.append(line)
    return released


def extend_expiry(*, session: Session, ticket: Ticket, until: datetime) -> None:
    """An appointment keeps the parts until the slot's end + 24 h."""
    for line in lines_of(session=session, ticket_id=ticket.id):
        if line.state in _HOLDING:
            line.expires_at = until


def expire_due(*, session: Session, now: datetime) -> list[Reservation]:
    """Expire lines whose hold ran out before dispatch or appointment; stock goes back."""
    due = list(
        session.scalars(
            select(Reservation)
            .where(Reservation.state.in_(_EXPIRABLE), Reservation.expires_at <= now)
            .order_by(Reservation.id)
            .with_for_update(skip_locked=True)
        )
    )
    for line in due:
        _give_back(session, line, consumed=False)
        line.state = ReservationState.EXPIRED.value
        line.updated_at = now
    return due


def consume(
    *,
    session: Session,
    ticket: Ticket,
    parts_used: list[tuple[str, int]],
    old_parts_kept: list[str],
    covered_skus: set[str],
    now: datetime,
) -> dict[str, list[str]]:
    """Completion: used lines consumed, unused returned; old parts recorded for claims.

    A used part with no line is taken from the station's stock on the spot (engineers
    carry common parts); if the station has none it is still recorded, as the work is done.
    """
    need = dict(parts_used)
    result: dict[str, list[str]] = {"consumed": [], "returned": [], "from_station_stock": []}
    for line in lines_of(session=session, ticket_id=ticket.id):
        if line.state not in _HOLDING:
            continue
        if need.get(line.sku, 0) >= line.qty:
            need[line.sku] -= line.qty
            _give_back(session, line, consumed=True)
            line.state = ReservationState.CONSUMED.value
            result["consumed"].append(line.sku)
        else:
            _give_back(session, line, consumed=False)
            line.state = ReservationState.RETURNED.value
            result["returned"].append(line.sku)
        line.updated_at = now
    own = (
        station_warehouse(session=session, station_id=ticket.station_id)
        if ticket.station_id
        else None
    )
    for sku, qty in need.items():
        if qty > 0 and own is not None:
            session.execute(
                update(Stock)
                .where(
                    Stock.warehouse_id == own.id,
                    Stock.sku == sku,
                    Stock.on_hand - Stock.reserved >= qty,
                )
                .values(on_hand=Stock.on_hand - qty)
                .execution_options(synchronize_session=False)
            )
            result["from_station_stock"].append(sku)
    for sku in old_parts_kept:
        session.add(
            OldPart(
                ticket_id=ticket.id,
                sku=sku,
                device_id=ticket.device_id,
                customer_id=ticket.customer_id,
                in_warranty=sku in covered_skus,
                kept_at=now,
                updated_at=now,
            )
        )
    return result
