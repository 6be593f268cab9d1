"""The ticket state machine (SERVICE_FLOW section 2): every Contract 4 event.

``apply_event`` checks who may send the event, whether the state allows it (else
:class:`InvalidTransition`, 409), runs the guard and side effects, and appends the audit
line, all in the caller's transaction. A client ``event_id`` already on the timeline is a
replay and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.clock import Clock
from cloud_api.exceptions import Forbidden, InvalidRequest, InvalidTransition
from cloud_api.models.parts import ReservationState
from cloud_api.models.registry import Device, Home, Part, Role, Station
from cloud_api.models.tickets import Complaint, FollowUp, Ticket, TicketEvent, TicketState
from cloud_api.schemas.tickets import EventCreate
from cloud_api.services import dispatch, escalation, parts, sla
from cloud_api.services.actors import Actor
from cloud_api.services.intake import assign_station
from cloud_api.services.notify import notify
from cloud_api.services.timeline import record
from cloud_api.services.warranty import covers

__all__ = ["ALLOWED", "CANCEL_REASONS", "EVENT_ROLES", "apply_event"]

S = TicketState
_ANY_OPEN: Final = frozenset(s.value for s in S if s not in (S.CLOSED, S.CANCELLED))
_BEFORE_VISIT: Final = frozenset({S.ACCEPTED.value, S.DISPATCHED.value, S.SCHEDULED.value})

# Event → states it may be sent in (the target state is decided by its handler).
ALLOWED: Final[dict[str, frozenset[str]]] = {
    "dispatched": frozenset({S.ACCEPTED, S.DISPATCHED, S.SCHEDULED}),
    "appointment_booked": frozenset({S.DISPATCHED, S.SCHEDULED, S.WAITING_FOR_PARTS}),
    "engineer_departed": frozenset({S.SCHEDULED}),
    "repair_started": frozenset({S.EN_ROUTE, S.WAITING_FOR_PARTS}),
    "waiting_for_parts": frozenset({S.REPAIRING}),
    "completed": frozenset({S.REPAIRING, S.ACCEPTED, S.DISPATCHED}),
    "follow_up": frozenset({S.COMPLETED}),
    "complaint": _ANY_OPEN,
    "escalated": _ANY_OPEN,
    "closed": frozenset({S.FOLLOWED_UP}),
    "cancelled": _BEFORE_VISIT,
    "quote_accepted": _BEFORE_VISIT,
    "quote_declined": _BEFORE_VISIT,
    "parts_arrived": _ANY_OPEN - {S.COMPLETED.value, S.FOLLOWED_UP.value},
}

_ALL_STAFF: Final = frozenset(Role)
_OFFICE: Final = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})
_FIELD: Final = frozenset({Role.STATION, Role.ENGINEER, Role.MANAGER, Role.ADMIN})
EVENT_ROLES: Final[dict[str, frozenset[Role]]] = {
    "dispatched": frozenset({Role.AGENT, Role.STATION, Role.MANAGER, Role.ADMIN}),
    "appointment_booked": frozenset(
        {Role.AGENT, Role.STATION, Role.ENGINEER, Role.MANAGER, Role.ADMIN}
    ),
    "engineer_departed": _FIELD,
    "repair_started": _FIELD,
    "waiting_for_parts": _FIELD,
    "completed": _ALL_STAFF,
    "follow_up": _OFFICE,
    "complaint": _ALL_STAFF,
    "escalated": _OFFICE,
    "closed": _OFFICE,
    "cancelled": frozenset({Role.AGENT, Role.STATION, Role.MANAGER, Role.ADMIN}),
    "quote_accepted": frozenset({Role.AGENT, Role.STATION, Role.MANAGER, Role.ADMIN}),
    "quote_declined": frozenset({Role.AGENT, Role.STATION, Role.MANAGER, Role.ADMIN}),
    "parts_arrived": frozenset({Role.STATION, Role.MANAGER, Role.ADMIN}),
}
CANCEL_REASONS: Final = frozenset(
    {"duplicate", "no_fault_found", "customer_declined", "resolved_by_customer", "other"}
)
_SKEW: Final = timedelta(minutes=5)
_RESERVATION_GRACE: Final = timedelta(hours=24)


@dataclass(slots=True)
class _Ctx:
    session: Session
    ticket: Ticket
    actor: Actor
    event: EventCreate
    clock: Clock
    now: datetime
    at: datetime
    payload: dict[str, object]


def apply_event(
    *, session: Session, ticket: Ticket, actor: Actor, event: EventCreate, clock: Clock
) -> tuple[Ticket, bool]:
    """Apply ``event`` to ``ticket``; returns the ticket and whether it was a replay."""
    if event.event_id is not None and session.scalar(
        select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.event_id == event.event_id
        )
    ):
        return ticket, True
    if actor.role is None or actor.role not in EVENT_ROLES[event.type]:
        raise Forbidden(f"role {actor.role} may not send {event.type}")
    if ticket.state not in ALLOWED[event.type]:
        raise InvalidTransition(event.type, ticket.state)
    now = clock.now()
    ctx = _Ctx(
        session, ticket, actor, event, clock, now, _effective_at(session, ticket, event, now), {}
    )
    before = ticket.state
    _HANDLERS[event.type](ctx)
    if event.type not in ("dispatched", "escalated"):  # those record their own lines
        record(
            session=session,
            ticket=ticket,
            type=event.type,
            actor=actor,
            at=now,
            from_state=before,
            to_state=ticket.state,
            payload=ctx.payload,
            event_id=event.event_id,
            client_at=event.at,
        )
    session.flush()
    return ticket, False


def _effective_at(session: Session, ticket: Ticket, event: EventCreate, now: datetime) -> datetime:
    """An engineer's ``at`` counts if it lies between the previous event and receipt (± skew)."""
    if event.at is None:
        return now
    last = session.scalar(
        select(TicketEvent.at)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.seq.desc())
        .limit(1)
    )
    low = (last or ticket.accepted_at) - _SKEW
    return min(max(event.at, low), now + _SKEW)


def _close_open_key(ticket: Ticket) -> None:
    ticket.open_key = None


def _on_dispatched(ctx: _Ctx) -> None:
    t, e = ctx.ticket, ctx.event
    if e.station_id is None:
        raise InvalidRequest("dispatched needs station_id")
    if ctx.actor.is_station_scoped and e.station_id != ctx.actor.station_id:
        raise Forbidden("a station may reassign only within itself; ask a manager")
    station = ctx.session.get(Station, e.station_id)
    if station is None:
        raise InvalidRequest(f"station {e.station_id} not found")
    _check_station(ctx, station)
    old = t.station_id
    if old is not None and old != station.id:
        parts.release(session=ctx.session, ticket=t, now=ctx.now, station_id=old)
        wanted = [(p["sku"], int(p["qty"])) for p in t.parts_requested]
        live = {
            line.sku
            for line in parts.lines_of(session=ctx.session, ticket_id=t.id)
            if line.state != ReservationState.RELEASED.value
            and line.state != ReservationState.EXPIRED.value
        }
        parts.reserve(
            session=ctx.session,
            ticket=t,
            station_id=station.id,
            parts=[w for w in wanted if w[0] not in live],
            now=ctx.now,
        )
    if e.engineer_id is not None:
        t.engineer_id = e.engineer_id
    assign_station(
        session=ctx.session,
        ticket=t,
        station_id=station.id,
        now=ctx.now,
        actor=ctx.actor,
        payload={"from_station": old, "reason": e.reason or "", "override": e.override},
    )


def _check_station(ctx: _Ctx, station: Station) -> None:
    """Region, skill and capacity, unless a manager overrides (logged in the payload)."""
    if ctx.event.override and ctx.actor.has_role(Role.MANAGER, Role.ADMIN):
        return
    device = ctx.session.get(Device, ctx.ticket.device_id)
    home = ctx.session.get(Home, ctx.ticket.home_id)
    if device is None or home is None:
        raise InvalidRequest("ticket's device or home is gone from the registry")
    if home.region not in (station.regions or []) or device.kind not in (station.skills or []):
        raise InvalidTransition(
            "dispatched", ctx.ticket.state, f"station {station.id} lacks region or skill"
        )
    load = dispatch.open_loads(session=ctx.session, station_ids=[station.id]).get(station.id, 0)
    if ctx.ticket.station_id != station.id and load >= station.capacity:
        raise InvalidTransition(
            "dispatched", ctx.ticket.state, f"station {station.id} is at capacity"
        )


def _on_appointment(ctx: _Ctx) -> None:
    t, e = ctx.ticket, ctx.event
    if e.slot_start is None or e.slot_end is None or e.slot_end <= e.slot_start:
        raise InvalidRequest("appointment_booked needs slot_start < slot_end")
    if e.slot_start < ctx.now - _SKEW:
        raise InvalidRequest("slot_start is in the past")
    if t.quote_status in ("pending", "declined"):
        raise InvalidTransition(
            "appointment_booked", t.state, "the customer has not accepted the quote"
        )
    first = t.appointment_booked_at is None
    t.slot_start, t.slot_end = e.slot_start, e.slot_end
    if e.engineer_id is not None:
        t.engineer_id = e.engineer_id
    if first:
        t.appointment_booked_at = ctx.now
        sla.stop(session=ctx.session, ticket=t, name=sla.APPOINTMENT, at=ctx.now)
    parts.extend_expiry(session=ctx.session, ticket=t, until=e.slot_end + _RESERVATION_GRACE)
    target = t.accepted_at + sla.TARGETS[sla.COMPLETION]
    if e.customer_chosen and e.slot_start > target and not t.customer_deferred:
        # The customer chose a later slot: only the operational clock waits (section 5).
        t.customer_deferred = True
        sla.pause_operational(
            session=ctx.session, ticket=t, seconds=(e.slot_start - target).total_seconds()
        )
    t.state = S.SCHEDULED.value
    ctx.payload = {
        "slot_start": e.slot_start.isoformat(),
        "slot_end": e.slot_end.isoformat(),
        "customer_chosen": e.customer_chosen,
        "engineer_id": t.engineer_id,
    }
    notify(session=ctx.session, ticket=t, kind="appointment", clock=ctx.clock)


def _on_departed(ctx: _Ctx) -> None:
    t = ctx.ticket
    if ctx.actor.role is Role.ENGINEER and t.engineer_id not in (None, ctx.actor.id):
        raise Forbidden("another engineer is assigned to this ticket")
    t.departed_at = ctx.at
    t.engineer_id = t.engineer_id or (ctx.actor.id if ctx.actor.role is Role.ENGINEER else None)
    t.state = S.EN_ROUTE.value
    ctx.payload = {"eta": ctx.event.eta.isoformat() if ctx.event.eta else None}
    notify(
        session=ctx.session, ticket=t, kind="engineer_departed", clock=ctx.clock, eta=ctx.event.eta
    )


def _on_repair_started(ctx: _Ctx) -> None:
    t = ctx.ticket
    if t.arrived_at is None:
        t.arrived_at = ctx.at
    for line in parts.lines_of(session=ctx.session, ticket_id=t.id):
        if line.state == ReservationState.AT_STATION.value:
            line.state = ReservationState.ISSUED.value
            line.updated_at = ctx.now
    t.state = S.REPAIRING.value


def _on_waiting_for_parts(ctx: _Ctx) -> None:
    t, e = ctx.ticket, ctx.event
    pending = [
        line
        for line in parts.lines_of(session=ctx.session, ticket_id=t.id)
        if line.state
        in (
            ReservationState.HELD.value,
            ReservationState.ALLOCATED.value,
            ReservationState.IN_TRANSIT.value,
        )
    ]
    if not e.parts and not pending:
        raise InvalidTransition("waiting_for_parts", t.state, "no new or unmet part line")
    new = [(p.sku, p.qty) for p in e.parts or []]
    lines, unmet = parts.reserve(
        session=ctx.session, ticket=t, station_id=t.station_id, parts=new, now=ctx.now
    )
    if t.station_id is not None:
        parts.allocate(session=ctx.session, ticket=t, station_id=t.station_id, now=ctx.now)
    if lines:
        sla.start(session=ctx.session, ticket=t, name=sla.PARTS, at=ctx.now)
    t.parts_requested = [*t.parts_requested, *({"sku": s, "qty": q} for s, q in new)]
    t.state = S.WAITING_FOR_PARTS.value
    etas = [
        line.transfer_eta
        for line in parts.lines_of(session=ctx.session, ticket_id=t.id)
        if line.transfer_eta
    ]
    ctx.payload = {
        "parts": [{"sku": s, "qty": q} for s, q in new],
        "unmet": [u.sku for u in unmet],
        "eta": max(etas).isoformat() if etas else None,
    }
    notify(session=ctx.session, ticket=t, kind="waiting_for_parts", clock=ctx.clock)


def _on_completed(ctx: _Ctx) -> None:
    t, e = ctx.ticket, ctx.event
    if t.state != S.REPAIRING.value and e.resolution != "remote":
        raise InvalidTransition(
            "completed", t.state, "only a remote resolution completes before repair"
        )
    outcome = e.outcome or "repaired"
    if outcome not in ("repaired", "not_repaired"):
        raise InvalidRequest("completed outcome is repaired or not_repaired")
    if outcome == "not_repaired" and not e.reason:
        raise InvalidRequest("not_repaired needs a reason")
    used = [(p.sku, p.qty) for p in e.parts_used]
    covered = {
        sku
        for sku in {*e.old_parts_kept, *(s for s, _ in used)}
        if (part := ctx.session.get(Part, sku)) is not None
        and covers(t.warranty, part.warranty_class, ctx.now.date())
    }
    moved = parts.consume(
        session=ctx.session,
        ticket=t,
        parts_used=used,
        old_parts_kept=list(e.old_parts_kept),
        covered_skus=covered,
        now=ctx.now,
    )
    t.completion = {
        "outcome": outcome,
        "resolution": e.resolution,
        "work_done": e.work_done,
        "reason": e.reason,
        "fee": e.fee,
        "parts_used": [{"sku": s, "qty": q} for s, q in used],
        "old_parts_kept": list(e.old_parts_kept),
        "lines": moved,
    }
    t.resolution = e.resolution
    t.completed_at = ctx.at
    for name in (
        sla.COMPLETION,
        sla.COMPLETION_OPERATIONAL,
        sla.VISIT_BEFORE_FAILURE,
        sla.APPOINTMENT,
        sla.DISPATCH,
    ):
        sla.stop(session=ctx.session, ticket=t, name=name, at=ctx.now)
    sla.start(session=ctx.session, ticket=t, name=sla.FOLLOW_UP, at=ctx.now)
    t.state = S.COMPLETED.value
    ctx.payload = dict(t.completion)
    notify(session=ctx.session, ticket=t, kind="completed", clock=ctx.clock)


def _on_follow_up(ctx: _Ctx) -> None:
    t, e = ctx.ticket, ctx.event
    outcome = e.outcome or "rated"
    if outcome not in ("rated", "declined", "unreachable"):
        raise InvalidRequest("follow_up outcome is rated, declined or unreachable")
    if outcome == "rated" and e.satisfaction is None:
        raise InvalidRequest("a rated follow-up needs satisfaction 1-5")
    ctx.session.add(
        FollowUp(
            ticket_id=t.id,
            at=ctx.now,
            outcome=outcome,
            satisfaction=e.satisfaction,
            fixed=e.fixed,
            comment=e.comment,
            staff_id=ctx.actor.id,
        )
    )
    ctx.payload = {
        "outcome": outcome,
        "satisfaction": e.satisfaction,
        "fixed": e.fixed,
        "comment": e.comment,
    }
    if outcome == "unreachable":
        return  # the follow-up clock keeps running; the agent calls again
    t.followed_up_at = ctx.now
    sla.stop(session=ctx.session, ticket=t, name=sla.FOLLOW_UP, at=ctx.now)
    t.state = S.FOLLOWED_UP.value
    notify(session=ctx.session, ticket=t, kind="follow_up", clock=ctx.clock)
    if (e.satisfaction is not None and e.satisfaction <= 2) or e.fixed is False:
        escalation.start(
            session=ctx.session,
            ticket=t,
            actor=ctx.actor,
            clock=ctx.clock,
            reason="low satisfaction" if e.fixed is not False else "not fixed",
        )


def _on_complaint(ctx: _Ctx) -> None:
    t, e = ctx.ticket, ctx.event
    if not e.reason:
        raise InvalidRequest("complaint needs a reason")
    ctx.session.add(
        Complaint(
            ticket_id=t.id,
            at=ctx.now,
            reason=e.reason,
            actor_type=ctx.actor.type.value,
            actor_id=ctx.actor.id,
        )
    )
    ctx.payload = {"reason": e.reason}
    escalation.start(
        session=ctx.session, ticket=t, actor=ctx.actor, clock=ctx.clock, reason="complaint"
    )


def _on_escalated(ctx: _Ctx) -> None:
    t, e = ctx.ticket, ctx.event
    senior = ctx.actor.has_role(Role.MANAGER, Role.ADMIN)
    if e.action == "raise":
        if not escalation.is_open(t):
            escalation.start(
                session=ctx.session,
                ticket=t,
                actor=ctx.actor,
                clock=ctx.clock,
                reason=e.reason or "manual",
            )
            return
        if not senior and t.escalation_level >= 1:
            raise Forbidden("levels 2 and 3 belong to managers")
        escalation.raise_level(
            session=ctx.session,
            ticket=t,
            actor=ctx.actor,
            clock=ctx.clock,
            auto=False,
            note=e.reason or "",
        )
        return
    if not senior and (t.escalation_level > 1 or e.action == "confirm_closed"):
        raise Forbidden("only a manager confirms levels 2 and 3 closed")
    escalation.resolve(session=ctx.session, ticket=t, actor=ctx.actor, at=ctx.now, action=e.action)


def _on_closed(ctx: _Ctx) -> None:
    t = ctx.ticket
    if escalation.is_open(t):
        raise InvalidTransition(
            "closed", t.state, f"escalation level {t.escalation_level} is still open"
        )
    t.closed_at = ctx.now
    t.state = S.CLOSED.value
    _close_open_key(t)


def _on_cancelled(ctx: _Ctx) -> None:
    e = ctx.event
    if e.reason not in CANCEL_REASONS:
        raise InvalidRequest(f"cancelled needs reason in {sorted(CANCEL_REASONS)}")
    _cancel(ctx, e.reason)


def _cancel(ctx: _Ctx, reason: str) -> None:
    t = ctx.ticket
    released = parts.release(session=ctx.session, ticket=t, now=ctx.now)
    sla.cancel_all(session=ctx.session, ticket=t, at=ctx.now)
    t.cancel_reason = reason
    t.cancelled_at = ctx.now
    t.state = S.CANCELLED.value
    _close_open_key(t)
    ctx.payload = {"reason": reason, "released": [line.sku for line in released]}
    notify(session=ctx.session, ticket=t, kind="cancelled", clock=ctx.clock)


def _on_quote(ctx: _Ctx) -> None:
    t = ctx.ticket
    if t.quote_status != "pending":
        raise InvalidTransition(ctx.event.type, t.state, "no quote is waiting for the customer")
    if ctx.event.type == "quote_accepted":
        t.quote_status = "accepted"
        ctx.payload = {"total": (t.quote or {}).get("total")}
        return
    t.quote_status = "declined"
    _cancel(ctx, "customer_declined")


def _on_parts_arrived(ctx: _Ctx) -> None:
    t = ctx.ticket
    count = parts.receive(session=ctx.session, ticket=t, now=ctx.now)
    if parts.parts_ready(parts.lines_of(session=ctx.session, ticket_id=t.id)):
        sla.stop(session=ctx.session, ticket=t, name=sla.PARTS, at=ctx.now)
    ctx.payload = {"received": count}


_HANDLERS: Final[dict[str, Callable[[_Ctx], None]]] = {
    "dispatched": _on_dispatched,
    "appointment_booked": _on_appointment,
    "engineer_departed": _on_departed,
    "repair_started": _on_repair_started,
    "waiting_for_parts": _on_waiting_for_parts,
    "completed": _on_completed,
    "follow_up": _on_follow_up,
    "complaint": _on_complaint,
    "escalated": _on_escalated,
    "closed": _on_closed,
    "cancelled": _on_cancelled,
    "quote_accepted": _on_quote,
    "quote_declined": _on_quote,
    "parts_arrived": _on_parts_arrived,
}
