"""Ticket intake (受理): ``POST /v1/tickets`` from a gateway or an agent.

Dedup levels 2 and 3 of SERVICE_FLOW section 3 live here (level 1, the Idempotency-Key,
is in :mod:`cloud_api.services.idempotency`): an open ticket for the same device+fault
absorbs a repeat as an occurrence; a repeat within 30 days of closing opens a linked
``repeat_of`` ticket; within 72 h of a ``no_fault_found`` cancel it is suppressed unless
the severity rose. A new ticket gets its warranty decision, part reservations, automatic
dispatch, SLA clocks and intake notice in the same transaction.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.catalog import Catalog, Severity
from aftercare.clock import Clock
from cloud_api.exceptions import Forbidden, InvalidRequest, RegistryNotFound
from cloud_api.models.parts import Reservation
from cloud_api.models.registry import Customer, Device, Home, Part
from cloud_api.models.tickets import ActorType, Ticket, TicketSource, TicketState
from cloud_api.services import dispatch, escalation, parts, session_cache, sla
from cloud_api.services.actors import SYSTEM, Actor
from cloud_api.services.notify import notify
from cloud_api.services.timeline import record
from cloud_api.services.warranty import PartPrice, decide

__all__ = [
    "IntakeRequest",
    "IntakeResult",
    "assign_station",
    "create_ticket",
    "open_key",
    "severity_rank",
]

logger = logging.getLogger(__name__)

REPEAT_WINDOW: Final = timedelta(days=30)
NO_FAULT_COOLDOWN: Final = timedelta(hours=72)
_SEVERITY_ORDER: Final = [s.value for s in Severity]
_MAX_EVIDENCE_REPEATS: Final = 20


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    """The Contract 4 intake body."""

    device_id: str
    fault_code: str
    detected_at: datetime
    severity: Severity
    predicted_failure_at: datetime | None = None
    parts: list[tuple[str, int]] | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(slots=True)
class IntakeResult:
    """What intake did: ``created`` (201), ``occurrence`` or ``suppressed`` (200)."""

    ticket: Ticket
    outcome: str
    customer_notice: dict[str, Any] | None = None

    @property
    def created(self) -> bool:
        """Whether a new ticket was created."""
        return self.outcome == "created"


def open_key(device_id: str, fault_code: str) -> str:
    """The unique key of an open device+fault pair."""
    return f"{device_id}|{fault_code}"


def severity_rank(severity: str) -> int:
    """Order of severities, low = 0."""
    return _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else 0


def _load_device(session: Session, actor: Actor, device_id: str) -> tuple[Device, Home]:
    # One round trip for the device, its home and the customer the notice addresses.
    row = session.execute(
        select(Device, Home, Customer)
        .outerjoin(Home, Home.id == Device.home_id)
        .outerjoin(Customer, Customer.id == Home.customer_id)
        .where(Device.id == device_id)
    ).first()
    if row is None:
        raise RegistryNotFound("device", device_id)
    device, home, customer = row
    if home is None:
        raise RegistryNotFound("home", device.home_id)
    session_cache.pin(session, (customer,))
    if actor.type is ActorType.GATEWAY and home.gateway_id != actor.id:
        raise Forbidden(f"device {device_id} is not in a home of gateway {actor.id}")
    return device, home


def _parts_for(
    catalog: Catalog, req: IntakeRequest, actor: Actor, kind: str
) -> list[tuple[str, int]]:
    spec = catalog.faults.get(req.fault_code)
    if spec is None and actor.type is ActorType.GATEWAY:
        raise InvalidRequest(f"unknown fault code {req.fault_code}")
    if spec is not None and not spec.applies_to(kind):
        raise InvalidRequest(f"fault {req.fault_code} does not occur on a {kind}")
    if req.parts is not None:
        return list(req.parts)
    return [(p.sku, p.qty) for p in spec.parts] if spec is not None else []


def create_ticket(
    *, session: Session, actor: Actor, req: IntakeRequest, catalog: Catalog, clock: Clock
) -> IntakeResult:
    """Accept a fault: absorb, suppress, or create a ticket with everything that follows."""
    device, home = _load_device(session, actor, req.device_id)
    wanted = _parts_for(catalog, req, actor, device.kind)
    now = clock.now()
    # One look-up for both dedup levels: the open ticket of this device+fault if there is
    # one (at most one, by the unique open_key), else the latest closed or cancelled one.
    # Row lock (PostgreSQL; SQLite has one writer anyway): concurrent repeats queue here
    # and each absorbs into the latest row, instead of colliding on the timeline's
    # (ticket_id, seq) and failing.
    previous = session.scalar(
        select(Ticket)
        .where(Ticket.device_id == device.id, Ticket.fault_code == req.fault_code)
        .order_by(Ticket.open_key.is_(None), Ticket.accepted_at.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if previous is not None and previous.open_key is not None:
        return IntakeResult(_absorb(session, previous, req, actor, now), "occurrence")
    if _suppressed(previous, req, now):
        assert previous is not None  # noqa: S101 — narrowed by _suppressed
        return IntakeResult(_absorb(session, previous, req, actor, now), "suppressed")
    repeat_of = (
        previous.id
        if previous is not None
        and previous.closed_at is not None
        and now - previous.closed_at <= REPEAT_WINDOW
        else None
    )
    # Decided before the ticket row is written, so its INSERT carries them (no UPDATE).
    warranty = _warranty(session, catalog, device, wanted, now)
    ticket = _new_ticket(session, device, home, req, actor, wanted, now, repeat_of, warranty)
    record(
        session=session,
        ticket=ticket,
        type="created",
        actor=actor,
        at=now,
        from_state=None,
        to_state=TicketState.ACCEPTED.value,
        payload={"source": ticket.source, "repeat_of": repeat_of, "warranty": ticket.warranty},
    )
    # Until the notice reads them back, the clocks, lines and timeline lines are only
    # added: one flush then inserts each row once, in its final state.
    with session.no_autoflush:
        _start_clocks(session, ticket, now, bool(wanted))
        _dispatch_and_reserve(session, ticket, home, device, wanted, now)
    if repeat_of is not None:
        escalation.start(
            session=session, ticket=ticket, actor=SYSTEM, clock=clock, reason="repeat repair"
        )
    notice = notify(session=session, ticket=ticket, kind="intake", clock=clock)
    session.flush()
    logger.info(
        "ticket %s accepted for %s %s (station %s)",
        ticket.id,
        device.id,
        req.fault_code,
        ticket.station_id,
    )
    return IntakeResult(ticket, "created", notice)


def _suppressed(previous: Ticket | None, req: IntakeRequest, now: datetime) -> bool:
    return (
        previous is not None
        and previous.state == TicketState.CANCELLED.value
        and previous.cancel_reason == "no_fault_found"
        and previous.cancelled_at is not None
        and now - previous.cancelled_at <= NO_FAULT_COOLDOWN
        and severity_rank(req.severity.value) <= severity_rank(previous.severity)
    )


def _new_ticket(
    session: Session,
    device: Device,
    home: Home,
    req: IntakeRequest,
    actor: Actor,
    wanted: list[tuple[str, int]],
    now: datetime,
    repeat_of: str | None,
    warranty: dict[str, Any],
) -> Ticket:
    source = TicketSource.GATEWAY if actor.type is ActorType.GATEWAY else TicketSource.AGENT
    quote = warranty.get("quote")
    ticket = Ticket(
        id=f"tk-{secrets.token_hex(8)}",
        device_id=device.id,
        customer_id=home.customer_id,
        home_id=home.id,
        state=TicketState.ACCEPTED.value,
        open_key=open_key(device.id, req.fault_code),
        severity=req.severity.value,
        urgent=req.severity.is_urgent,
        fault_code=req.fault_code,
        source=source.value,
        source_id=actor.id,
        detected_at=req.detected_at,
        accepted_at=now,
        predicted_failure_at=req.predicted_failure_at,
        occurrences=1,
        first_occurred_at=req.detected_at,
        last_occurred_at=req.detected_at,
        evidence=dict(req.evidence),
        description=req.description,
        parts_requested=[{"sku": sku, "qty": qty} for sku, qty in wanted],
        repeat_of=repeat_of,
        warranty=warranty,
        quote=quote,
        quote_status="pending" if quote else "none",
        created_at=now,
        updated_at=now,
        version=0,
    )
    session.add(ticket)
    # The unique open_key surfaces a concurrent twin here, before any stock is touched.
    session.flush()
    session_cache.mark_fresh(session, ticket.id)
    return ticket


def _warranty(
    session: Session, catalog: Catalog, device: Device, wanted: list[tuple[str, int]], now: datetime
) -> dict[str, Any]:
    prices = []
    for sku, qty in wanted:
        part = session.get(Part, sku)
        spec = catalog.parts.get(sku)
        price = part.list_price if part else (spec.list_price if spec else 0.0)
        klass = part.warranty_class if part else (spec.warranty_class.value if spec else "wear")
        prices.append(PartPrice(sku=sku, qty=qty, list_price=float(price), warranty_class=klass))
    return decide(
        catalog=catalog,
        model=device.model,
        purchase_date=device.purchase_date,
        on=now.date(),
        parts=prices,
    )


def _start_clocks(session: Session, ticket: Ticket, now: datetime, needs_parts: bool) -> None:
    sla.start(session=session, ticket=ticket, name=sla.DISPATCH, at=now, fresh=True)
    appointment = now + sla.appointment_target(urgent=ticket.urgent)
    sla.start(
        session=session,
        ticket=ticket,
        name=sla.APPOINTMENT,
        at=now,
        deadline=appointment,
        fresh=True,
    )
    sla.start(session=session, ticket=ticket, name=sla.COMPLETION, at=now, fresh=True)
    sla.start(session=session, ticket=ticket, name=sla.COMPLETION_OPERATIONAL, at=now, fresh=True)
    if needs_parts:
        sla.start(session=session, ticket=ticket, name=sla.PARTS, at=now, fresh=True)
    if ticket.predicted_failure_at is not None:
        deadline = max(now, ticket.predicted_failure_at - timedelta(hours=24))
        sla.start(
            session=session, ticket=ticket, name=sla.VISIT_BEFORE_FAILURE, at=now, deadline=deadline
        )


def _dispatch_and_reserve(
    session: Session,
    ticket: Ticket,
    home: Home,
    device: Device,
    wanted: list[tuple[str, int]],
    now: datetime,
) -> None:
    ranked, refused = dispatch.rank_stations(
        session=session, region=home.region, kind=device.kind, parts=wanted
    )
    chosen = ranked[0].station_id if ranked else None
    lines, unmet = parts.reserve(
        session=session, ticket=ticket, station_id=chosen, parts=wanted, now=now
    )
    if unmet:
        record(
            session=session,
            ticket=ticket,
            type="parts_unavailable",
            actor=SYSTEM,
            at=now,
            from_state=ticket.state,
            to_state=ticket.state,
            payload={"unmet": [{"sku": u.sku, "qty": u.qty} for u in unmet]},
        )
    explanation = {
        "candidates": [c.as_dict() for c in ranked],
        "refused": refused,
        "rule": "region and skill; least load/capacity; parts at station; tier; id",
    }
    ticket.dispatch = explanation
    if chosen is None:
        record(
            session=session,
            ticket=ticket,
            type="dispatch_failed",
            actor=SYSTEM,
            at=now,
            from_state=ticket.state,
            to_state=ticket.state,
            payload={
                **explanation,
                "reason": "no station covers the region with the skill and capacity",
            },
        )
        return
    assign_station(
        session=session,
        ticket=ticket,
        station_id=chosen,
        now=now,
        actor=SYSTEM,
        payload=explanation,
        lines=lines,
    )


def assign_station(
    *,
    session: Session,
    ticket: Ticket,
    station_id: str,
    now: datetime,
    actor: Actor,
    payload: dict[str, Any],
    lines: list[Reservation] | None = None,
) -> None:
    """Move the ticket to ``dispatched`` at ``station_id``: lines allocated, clock stopped.

    ``lines`` are all the ticket's reservation lines when the caller holds them.
    """
    before = ticket.state
    ticket.station_id = station_id
    ticket.state = TicketState.DISPATCHED.value
    if ticket.dispatched_at is None:
        ticket.dispatched_at = now
    sla.stop(session=session, ticket=ticket, name=sla.DISPATCH, at=now)
    lines = parts.allocate(
        session=session, ticket=ticket, station_id=station_id, now=now, lines=lines
    )
    if parts.parts_ready(lines):
        sla.stop(session=session, ticket=ticket, name=sla.PARTS, at=now)
    record(
        session=session,
        ticket=ticket,
        type="dispatched",
        actor=actor,
        at=now,
        from_state=before,
        to_state=ticket.state,
        payload={"station_id": station_id, **payload},
    )


def _absorb(
    session: Session, ticket: Ticket, req: IntakeRequest, actor: Actor, now: datetime
) -> Ticket:
    """Level 2/3: one more occurrence; a higher severity or earlier failure pulls deadlines in."""
    ticket.occurrences += 1
    ticket.last_occurred_at = max(ticket.last_occurred_at, req.detected_at)
    repeats = list(ticket.evidence.get("repeats", []))[-(_MAX_EVIDENCE_REPEATS - 1) :]
    repeats.append(
        {"detected_at": req.detected_at.isoformat(), "severity": req.severity.value, **req.evidence}
    )
    ticket.evidence = {**ticket.evidence, "repeats": repeats}
    payload: dict[str, Any] = {"occurrences": ticket.occurrences, "severity": req.severity.value}
    if severity_rank(req.severity.value) > severity_rank(ticket.severity):
        payload["severity_raised_from"] = ticket.severity
        ticket.severity = req.severity.value
        if req.severity.is_urgent and not ticket.urgent:
            ticket.urgent = True
            sla.retarget(
                session=session,
                ticket=ticket,
                name=sla.APPOINTMENT,
                deadline=ticket.accepted_at + sla.appointment_target(urgent=True),
            )
    if req.predicted_failure_at is not None and (
        ticket.predicted_failure_at is None
        or req.predicted_failure_at < ticket.predicted_failure_at
    ):
        ticket.predicted_failure_at = req.predicted_failure_at
        sla.retarget(
            session=session,
            ticket=ticket,
            name=sla.VISIT_BEFORE_FAILURE,
            deadline=max(ticket.accepted_at, req.predicted_failure_at - timedelta(hours=24)),
        )
    record(
        session=session,
        ticket=ticket,
        type="occurrence",
        actor=actor,
        at=now,
        from_state=ticket.state,
        to_state=ticket.state,
        payload=payload,
    )
    session.flush()
    return ticket
