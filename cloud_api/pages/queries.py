"""Read-only queries that turn tickets and their clocks into the pages' view models.

These only read and shape: every change to a ticket goes through the flow service, and
KPI and quality figures come from their own services. Station and engineer users are
scoped to their station here as in the API (Contract 4: "a station or engineer sees only
its own station's tickets").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from cloud_api.models.parts import Reservation
from cloud_api.models.registry import Customer, Device, Home, StaffUser, Station
from cloud_api.models.tickets import OPEN_STATES, ClockStatus, SlaClock, Ticket, TicketEvent
from cloud_api.pages.flow_bridge import actor_for
from cloud_api.pages.i18n import Translator
from cloud_api.pages.views import (
    ClockView,
    JobCard,
    QueueFilters,
    ReservationView,
    TicketDetail,
    TicketRow,
    TimelineItem,
)
from cloud_api.pages.views import StaffUser as StaffView
from cloud_api.services.tickets import visible

__all__ = [
    "QUEUE_LIMIT",
    "TicketNotVisibleError",
    "engineer_jobs",
    "queue_rows",
    "staff_by_id",
    "station_choices",
    "ticket_detail",
]

QUEUE_LIMIT: Final = 200
_STATION_SCOPED: Final = frozenset({"station", "engineer"})
_FIELD_STATES: Final = ("en_route", "repairing", "waiting_for_parts")
_CLOCK_ORDER: Final = (
    "dispatch",
    "appointment",
    "parts",
    "completion",
    "completion_operational",
    "visit_before_failure",
    "follow_up",
    "escalation_l1",
    "escalation_l2",
    "escalation_l3",
)
_CLOCK_LABELS: Final[dict[str, tuple[str, str]]] = {
    "dispatch": ("dispatch 1 min", "派工 1分钟"),
    "appointment": ("appointment", "预约"),
    "parts": ("parts 24 h", "配件 24小时"),
    "completion": ("completion 24 h", "完工 24小时"),
    "completion_operational": ("completion (operational)", "完工(网点时效)"),
    "visit_before_failure": ("visit before failure", "故障前上门"),
    "follow_up": ("follow-up 48 h", "回访 48小时"),
    "escalation_l1": ("escalation L1", "升级 一级"),
    "escalation_l2": ("escalation L2", "升级 二级"),
    "escalation_l3": ("escalation L3", "升级 三级"),
}


class TicketNotVisibleError(LookupError):
    """The ticket does not exist, or is outside the user's station."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket {ticket_id} not found")
        self.ticket_id = ticket_id


def staff_by_id(*, session: Session, user_id: str) -> StaffView | None:
    """The active staff user with ``user_id``, as the pages see them."""
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        return None
    return _staff_view(user)


def _staff_view(user: StaffUser) -> StaffView:
    return StaffView(
        id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name or user.username,
        station_id=user.station_id,
    )


def _scope(user: StaffView) -> ColumnElement[bool]:
    """The ticket service's visibility rule for this user, as a condition on ``Ticket.id``."""
    if user.role not in _STATION_SCOPED:
        return true()
    ids = visible(select(Ticket), actor_for(user)).with_only_columns(Ticket.id)
    return Ticket.id.in_(ids)


def clock_label(name: str, t: Translator) -> str:
    """A clock's name in the page language."""
    en, zh = _CLOCK_LABELS.get(name, (name, name))
    return zh if t.is_zh else en


def _sla_summary(clocks: Sequence[SlaClock], t: Translator) -> tuple[str, datetime | None, str]:
    """(ok | at_risk | breached, the nearest open deadline, its clock's label)."""
    breached = [
        c for c in clocks if c.status == ClockStatus.BREACHED.value and c.stopped_at is None
    ]
    if breached:
        first = min(breached, key=lambda c: c.deadline)
        return "breached", first.deadline, clock_label(first.name, t)
    running = [
        c for c in clocks if c.status in (ClockStatus.RUNNING.value, ClockStatus.WARNED.value)
    ]
    if not running:
        return "ok", None, ""
    nearest = min(running, key=lambda c: c.deadline)
    warned = any(c.status == ClockStatus.WARNED.value for c in running)
    return ("at_risk" if warned else "ok"), nearest.deadline, clock_label(nearest.name, t)


def _clocks_by_ticket(session: Session, ticket_ids: Iterable[str]) -> dict[str, list[SlaClock]]:
    ids = list(ticket_ids)
    out: dict[str, list[SlaClock]] = {tid: [] for tid in ids}
    if not ids:
        return out
    for clock in session.scalars(select(SlaClock).where(SlaClock.ticket_id.in_(ids))):
        out[clock.ticket_id].append(clock)
    return out


def _row(
    ticket: Ticket,
    device: Device,
    station_name: str | None,
    clocks: Sequence[SlaClock],
    t: Translator,
) -> TicketRow:
    status, deadline, label = _sla_summary(clocks, t)
    return TicketRow(
        id=ticket.id,
        origin="gateway" if ticket.source == "gateway" else "agent",
        device_id=ticket.device_id,
        kind=device.kind,
        model=device.model,
        fault_code=ticket.fault_code,
        severity=ticket.severity,
        state=ticket.state,
        station_id=ticket.station_id,
        station_name=station_name,
        accepted_at=ticket.accepted_at,
        occurrences=ticket.occurrences,
        sla_status=status,
        sla_deadline=deadline,
        sla_clock_label=label,
    )


def queue_rows(
    *, session: Session, user: StaffView, filters: QueueFilters, t: Translator
) -> list[TicketRow]:
    """The queue: newest first, filtered, scoped to the user's station where it applies."""
    query = (
        select(Ticket, Device, Station.name)
        .join(Device, Device.id == Ticket.device_id)
        .outerjoin(Station, Station.id == Ticket.station_id)
        .where(_scope(user))
        .order_by(Ticket.accepted_at.desc(), Ticket.id)
    )
    if filters.state:
        query = query.where(Ticket.state == filters.state)
    if filters.station:
        query = query.where(Ticket.station_id == filters.station)
    if filters.fault:
        query = query.where(Ticket.fault_code == filters.fault)
    if filters.at_risk:
        risky = select(SlaClock.ticket_id).where(
            SlaClock.status.in_((ClockStatus.WARNED.value, ClockStatus.BREACHED.value)),
            SlaClock.stopped_at.is_(None),
        )
        query = query.where(Ticket.id.in_(risky), Ticket.state.in_([s.value for s in OPEN_STATES]))
    rows = session.execute(query.limit(QUEUE_LIMIT)).all()
    clocks = _clocks_by_ticket(session, (r[0].id for r in rows))
    return [_row(ticket, device, name, clocks[ticket.id], t) for ticket, device, name in rows]


def station_choices(*, session: Session, user: StaffView) -> list[tuple[str, str]]:
    """(id, name) of the stations the user may filter by or dispatch to."""
    query = select(Station.id, Station.name).where(Station.active.is_(True)).order_by(Station.id)
    if user.role in _STATION_SCOPED:
        query = query.where(Station.id == (user.station_id or "\x00none"))
    return [(str(row[0]), str(row[1])) for row in session.execute(query).all()]


def _actor_names(session: Session, events: Sequence[TicketEvent]) -> dict[str, str]:
    ids = {e.actor_id for e in events if e.actor_type == "staff"}
    if not ids:
        return {}
    users = session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
    return {u.id: f"{u.display_name or u.username} ({u.role})" for u in users}


def _event_detail(payload: dict[str, Any], t: Translator) -> str:
    keys = ("slot_start", "slot_end", "satisfaction", "reason", "comment", "station_id")
    parts = [f"{t('field.' + k)}: {payload[k]}" for k in keys if payload.get(k) not in (None, "")]
    used = payload.get("parts_used")
    if isinstance(used, list) and used:
        lines = [f"{p.get('sku')}×{p.get('qty')}" for p in used if isinstance(p, dict)]
        parts.append(f"{t('ticket.sku')}: {', '.join(lines)}")
    return " · ".join(parts)


def _timeline(session: Session, ticket_id: str, t: Translator) -> tuple[TimelineItem, ...]:
    events = list(
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.seq)
        )
    )
    names = _actor_names(session, events)
    items = []
    for e in events:
        label = t(f"action.{e.type}")
        what = e.type if label == f"action.{e.type}" else label
        who = names.get(e.actor_id, f"{e.actor_type}:{e.actor_id}")
        items.append(
            TimelineItem(
                at=e.at,
                who=who,
                what=what,
                to_state=e.to_state if e.to_state != e.from_state else None,
                detail=_event_detail(e.payload or {}, t),
            )
        )
    return tuple(items)


def _money(value: object) -> str:
    return f"{float(value):.2f}" if isinstance(value, int | float) else "—"


def _quote_lines(ticket: Ticket, t: Translator) -> tuple[tuple[tuple[str, str], ...], str | None]:
    quote = ticket.quote or (ticket.warranty or {}).get("quote")
    if not isinstance(quote, dict):
        return (), None
    lines: list[tuple[str, str]] = []
    for line in quote.get("lines", []):
        if isinstance(line, dict):
            label = f"{t.part(str(line.get('sku')))} ×{line.get('qty')}"
            lines.append((label, _money(line.get("amount"))))
    zh = t.is_zh
    for key, en_label, zh_label in (
        ("tax", "tax", "税"),
        ("logistics", "logistics", "物流"),
        ("labour", "labour", "人工"),
    ):
        if quote.get(key):
            lines.append((zh_label if zh else en_label, _money(quote.get(key))))
    currency = str(quote.get("currency", ""))
    return tuple(lines), f"{_money(quote.get('total'))} {currency}".strip()


def ticket_detail(
    *, session: Session, user: StaffView, ticket_id: str, t: Translator
) -> TicketDetail:
    """Everything the ticket page shows.

    Raises:
        TicketNotVisibleError: unknown ticket, or another station's for a scoped user.
    """
    query = (
        select(Ticket, Device, Station.name)
        .join(Device, Device.id == Ticket.device_id)
        .outerjoin(Station, Station.id == Ticket.station_id)
        .where(Ticket.id == ticket_id, _scope(user))
    )
    found = session.execute(query).first()
    if found is None:
        raise TicketNotVisibleError(ticket_id)
    ticket, device, station_name = found
    clocks = sorted(
        _clocks_by_ticket(session, [ticket.id])[ticket.id],
        key=lambda c: _CLOCK_ORDER.index(c.name) if c.name in _CLOCK_ORDER else 99,
    )
    home = session.get(Home, ticket.home_id)
    customer = session.get(Customer, ticket.customer_id)
    reservations = session.scalars(
        select(Reservation).where(Reservation.ticket_id == ticket.id).order_by(Reservation.id)
    )
    warranty = ticket.warranty or {}
    quote_lines, customer_pays = _quote_lines(ticket, t)
    return TicketDetail(
        row=_row(ticket, device, station_name, clocks, t),
        firmware=device.firmware or None,
        detected_at=ticket.detected_at,
        predicted_failure_at=ticket.predicted_failure_at,
        evidence=dict(ticket.evidence or {}),
        timeline=_timeline(session, ticket.id, t),
        reservations=tuple(
            ReservationView(r.sku, r.qty, r.state, r.warehouse_id) for r in reservations
        ),
        clocks=tuple(
            ClockView(
                name=clock_label(c.name, t),
                status=c.status,
                css={"breached": "breached", "warned": "at_risk"}.get(c.status, "ok"),
                deadline=c.deadline,
            )
            for c in clocks
        ),
        warranty_covered=bool(warranty["covered"]) if "covered" in warranty else None,
        quote_lines=quote_lines,
        customer_pays=customer_pays if warranty.get("customer_pays") else None,
        customer_name=customer.name if customer else None,
        address=home.address if home else None,
        slot_start=ticket.slot_start,
        slot_end=ticket.slot_end,
        quote_status=ticket.quote_status,
    )


def engineer_jobs(
    *, session: Session, user: StaffView, day: date, tz: tzinfo
) -> list[tuple[Ticket, Device, Home | None]]:
    """A station's (or one engineer's) jobs for ``day``: booked that day, or in the field now.

    Engineers see tickets assigned to them and unassigned ones of their station.
    """
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = start + timedelta(days=1)
    query = (
        select(Ticket, Device, Home)
        .join(Device, Device.id == Ticket.device_id)
        .outerjoin(Home, Home.id == Ticket.home_id)
        .where(
            (
                (Ticket.slot_start >= start)
                & (Ticket.slot_start < end)
                & (Ticket.state == "scheduled")
            )
            | Ticket.state.in_(_FIELD_STATES)
        )
        .where(_scope(user))
        .order_by(Ticket.slot_start, Ticket.id)
    )
    if user.role == "engineer":
        query = query.where((Ticket.engineer_id.is_(None)) | (Ticket.engineer_id == user.id))
    return [(row[0], row[1], row[2]) for row in session.execute(query).all()]


def job_card(
    ticket: Ticket, device: Device, home: Home | None, tz: tzinfo, actions: Sequence[Any]
) -> JobCard:
    """One job for the phone view."""
    slot = None
    if ticket.slot_start is not None:
        start = ticket.slot_start.astimezone(tz).strftime("%H:%M")
        end = ticket.slot_end.astimezone(tz).strftime("%H:%M") if ticket.slot_end else ""
        slot = f"{start}–{end}" if end else start
    parts = tuple(
        (str(p.get("sku")), int(p.get("qty", 1)))
        for p in (ticket.parts_requested or [])
        if isinstance(p, dict) and p.get("sku")
    )
    return JobCard(
        id=ticket.id,
        state=ticket.state,
        severity=ticket.severity,
        kind=device.kind,
        model=device.model,
        device_id=device.id,
        fault_code=ticket.fault_code,
        slot_label=slot,
        address=home.address if home else None,
        parts=parts,
        actions=tuple(actions),
    )
