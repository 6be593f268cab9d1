"""Tickets: intake, list, detail, events (Contract 4)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from pydantic import AwareDatetime
from sqlalchemy.exc import IntegrityError

from cloud_api.deps import CatalogDep, ClockDep, CurrentActor, CurrentStaff, SessionDep
from cloud_api.models.registry import Role
from cloud_api.models.tickets import ActorType
from cloud_api.schemas.tickets import (
    ClockPublic,
    EventCreate,
    ReservationPublic,
    TicketCreate,
    TicketDetail,
    TicketPublic,
    TicketsPublic,
    TimelineEntry,
)
from cloud_api.services import idempotency
from cloud_api.services.actors import Actor
from cloud_api.services.flow import apply_event
from cloud_api.services.intake import IntakeRequest, IntakeResult, create_ticket
from cloud_api.services.tickets import (
    TicketDetails,
    TicketFilters,
    details,
    details_many,
    get_visible,
    list_tickets,
)

__all__ = ["router", "to_detail", "to_public"]

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

_INTAKE_ROLES = (Role.AGENT, Role.MANAGER, Role.ADMIN)
_INTAKE_ATTEMPTS = 3


def to_public(d: TicketDetails, notice: dict[str, Any] | None = None) -> TicketPublic:
    """The public form of a ticket."""
    t = d.ticket
    return TicketPublic(
        id=t.id,
        state=t.state,
        station_id=t.station_id,
        device_id=t.device_id,
        customer_id=t.customer_id,
        home_id=t.home_id,
        fault_code=t.fault_code,
        severity=t.severity,
        urgent=t.urgent,
        source=t.source,
        detected_at=t.detected_at,
        accepted_at=t.accepted_at,
        predicted_failure_at=t.predicted_failure_at,
        occurrences=t.occurrences,
        first_occurred_at=t.first_occurred_at,
        last_occurred_at=t.last_occurred_at,
        repeat_of=t.repeat_of,
        escalation_level=t.escalation_level,
        escalation_closed_at=t.escalation_closed_at,
        warranty=t.warranty,
        quote=t.quote,
        quote_status=t.quote_status,
        slot_start=t.slot_start,
        slot_end=t.slot_end,
        cancel_reason=t.cancel_reason,
        evidence=t.evidence,
        description=t.description,
        reservations=[ReservationPublic.model_validate(r) for r in d.reservations],
        sla=[ClockPublic.model_validate(c) for c in d.clocks],
        customer_notice=notice,
        version=t.version,
    )


def to_detail(d: TicketDetails) -> TicketDetail:
    """The public form of a ticket with its timeline."""
    return TicketDetail(
        **to_public(d).model_dump(),
        timeline=[TimelineEntry.model_validate(e) for e in d.timeline],
        dispatch=d.ticket.dispatch,
        completion=d.ticket.completion,
    )


def _request(body: TicketCreate) -> IntakeRequest:
    return IntakeRequest(
        device_id=body.device_id,
        fault_code=body.fault_code,
        detected_at=body.detected_at,
        severity=body.severity,
        predicted_failure_at=body.predicted_failure_at,
        parts=[(p.sku, p.qty) for p in body.parts] if body.parts is not None else None,
        evidence=body.evidence,
        description=body.description,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": TicketPublic, "description": "retry or repeat absorbed"}},
)
def create_ticket_route(
    body: TicketCreate,
    actor: CurrentActor,
    session: SessionDep,
    clock: ClockDep,
    catalog: CatalogDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> TicketPublic:
    """Accept a fault (gateway or agent): 201 new, 200 retry/occurrence."""
    if actor.type is ActorType.STAFF and actor.role not in _INTAKE_ROLES:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"role {actor.role} may not create tickets"
        )
    principal = f"{actor.type.value}:{actor.id}"
    if idempotency_key is not None:
        digest = idempotency.body_hash(
            json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
        )
        replay = idempotency.claim(
            session=session,
            principal=principal,
            key=idempotency_key,
            digest=digest,
            now=clock.now(),
        )
        if replay is not None:
            response.status_code = status.HTTP_200_OK
            return TicketPublic.model_validate(replay.response)
    try:
        result = _intake(session, actor, body, catalog, clock)
        public = to_public(
            details(session=session, ticket=result.ticket, timeline=False), result.customer_notice
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        if idempotency_key is not None:
            idempotency.complete(
                session=session,
                principal=principal,
                key=idempotency_key,
                status_code=code,
                ticket_id=public.id,
                response=public.model_dump(mode="json"),
            )
        session.commit()
    except BaseException:
        session.rollback()
        if idempotency_key is not None:
            idempotency.forget(session=session, principal=principal, key=idempotency_key)
        raise
    response.status_code = code
    return public


def _intake(
    session: SessionDep, actor: Actor, body: TicketCreate, catalog: CatalogDep, clock: ClockDep
) -> IntakeResult:
    attempts_left = _INTAKE_ATTEMPTS
    while True:
        try:
            return create_ticket(
                session=session, actor=actor, req=_request(body), catalog=catalog, clock=clock
            )
        except IntegrityError:
            # A concurrent intake created the open ticket first (the partial unique key):
            # run again, and this one becomes its occurrence.
            session.rollback()
            attempts_left -= 1
            if attempts_left == 0:
                raise


@router.get("")
def list_tickets_route(
    actor: CurrentActor,
    session: SessionDep,
    state: str | None = None,
    station: str | None = None,
    fault: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TicketsPublic:
    """Tickets visible to the caller, newest first, with the total count."""
    filters = TicketFilters(
        state=state,
        station=station,
        fault=fault,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
    rows, count = list_tickets(session=session, actor=actor, filters=filters)
    return TicketsPublic(
        data=[to_public(d) for d in details_many(session=session, tickets=rows)], count=count
    )


@router.get("/{ticket_id}")
def get_ticket_route(
    ticket_id: str, actor: CurrentActor, session: SessionDep, response: Response
) -> TicketDetail:
    """One ticket with its reservations, SLA clocks and full timeline."""
    ticket = get_visible(session=session, ticket_id=ticket_id, actor=actor)
    response.headers["ETag"] = f'"{ticket.id}:{ticket.version}"'
    return to_detail(details(session=session, ticket=ticket, timeline=True))


@router.post("/{ticket_id}/events")
def post_event_route(
    ticket_id: str,
    event: EventCreate,
    actor: CurrentStaff,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> TicketDetail:
    """Move a ticket along the flow; 409 when the state does not allow the event."""
    ticket = get_visible(session=session, ticket_id=ticket_id, actor=actor, for_update=True)
    try:
        apply_event(session=session, ticket=ticket, actor=actor, event=event, clock=clock)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    response.headers["ETag"] = f'"{ticket.id}:{ticket.version}"'
    return to_detail(details(session=session, ticket=ticket, timeline=True))
