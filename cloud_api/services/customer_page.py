"""What a customer may do through the signed link in their notice, and nothing else.

The token names one ticket; every function here takes the ticket that
:func:`open_link` returned for the token, never an id from the request, so a customer can
reach only their own ticket. Changes go through the flow (:func:`apply_event`), so they
obey the state machine, stop or keep the same clocks as staff changes, and appear on the
timeline with ``actor_type = customer``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from aftercare.catalog import default_catalog
from aftercare.clock import Clock
from cloud_api.exceptions import InvalidTransition, TicketNotFound
from cloud_api.models.registry import Customer, Role
from cloud_api.models.tickets import ActorType, Ticket, TicketState
from cloud_api.notify.config import NoticeConfig
from cloud_api.notify.context import gather_facts
from cloud_api.notify.render import normalise_language
from cloud_api.schemas.tickets import EventCreate
from cloud_api.services.actors import Actor
from cloud_api.services.flow import apply_event
from cloud_api.services.notices import notices_of
from cloud_api.services.timeline import record

__all__ = [
    "confirm_appointment",
    "customer_actor",
    "customer_view",
    "move_appointment",
    "open_link",
    "rate_service",
]

MOVABLE: Final = frozenset(
    {TicketState.DISPATCHED.value, TicketState.SCHEDULED.value, TicketState.WAITING_FOR_PARTS.value}
)


def customer_actor(ticket: Ticket) -> Actor:
    """The customer of ``ticket`` as an actor.

    The flow grants events by staff role; the customer gets the rights an agent has when
    booking or recording a follow-up on the phone for them (``role=agent``), while the
    timeline records who really acted (``actor_type=customer``, ``actor_id=ticket id``).
    """
    return Actor(type=ActorType.CUSTOMER, id=ticket.id, role=Role.AGENT)


def open_link(*, session: Session, token: str, config: NoticeConfig, clock: Clock) -> Ticket:
    """The one ticket ``token`` opens.

    Raises:
        LinkForged: not our signature.
        LinkExpired: past its expiry.
        TicketNotFound: the ticket no longer exists.
    """
    link = config.signer.verify(token, clock=clock)
    ticket = session.get(Ticket, link.ticket_id)
    if ticket is None:
        raise TicketNotFound(link.ticket_id)
    return ticket


def customer_view(
    *, session: Session, ticket: Ticket, config: NoticeConfig, language: str | None
) -> dict[str, Any]:
    """What the customer page shows, in ``language`` (default: the customer's)."""
    customer = session.get(Customer, ticket.customer_id)
    lang = normalise_language(language or (customer.language if customer else None))
    facts = gather_facts(
        session=session, ticket=ticket, catalog=default_catalog(), language=lang, tz=config.timezone
    )
    facts.update(
        language=lang,
        state=ticket.state,
        can_move=ticket.state in MOVABLE,
        can_confirm=ticket.state == TicketState.SCHEDULED.value,
        can_rate=ticket.state == TicketState.COMPLETED.value,
        rated=ticket.state in (TicketState.FOLLOWED_UP.value, TicketState.CLOSED.value),
        messages=_messages(session, ticket, config),
    )
    return facts


def _messages(session: Session, ticket: Ticket, config: NoticeConfig) -> list[dict[str, str]]:
    """The notices sent about the ticket, newest first, once per event (not per channel)."""
    seen: dict[str, dict[str, str]] = {}
    for notice in notices_of(session=session, ticket_id=ticket.id):
        local = notice.created_at.astimezone(config.timezone)
        seen.setdefault(
            notice.event_id, {"at": f"{local:%Y-%m-%d %H:%M}", "subject": notice.subject}
        )
    return list(reversed(seen.values()))


def confirm_appointment(*, session: Session, ticket: Ticket, clock: Clock) -> None:
    """Record that the customer confirmed the booked slot (a timeline line, no new state).

    Raises:
        InvalidTransition: there is no booked appointment to confirm.
    """
    if ticket.state != TicketState.SCHEDULED.value or ticket.slot_start is None:
        raise InvalidTransition("appointment_confirmed", ticket.state, "no appointment booked")
    record(
        session=session,
        ticket=ticket,
        type="appointment_confirmed",
        actor=customer_actor(ticket),
        at=clock.now(),
        from_state=ticket.state,
        to_state=ticket.state,
        payload={"slot_start": ticket.slot_start.isoformat()},
    )
    session.flush()


def move_appointment(
    *, session: Session, ticket: Ticket, slot_start: datetime, slot_end: datetime, clock: Clock
) -> Ticket:
    """Book the customer's chosen slot (a reschedule when one was booked).

    Raises:
        InvalidTransition: the ticket is past the visit.
        InvalidRequest: the slot is in the past or empty.
    """
    event = EventCreate(
        type="appointment_booked",
        slot_start=slot_start,
        slot_end=slot_end,
        customer_chosen=True,
    )
    updated, _ = apply_event(
        session=session, ticket=ticket, actor=customer_actor(ticket), event=event, clock=clock
    )
    return updated


def rate_service(
    *, session: Session, ticket: Ticket, score: int, comment: str, clock: Clock
) -> Ticket:
    """Record the customer's rating (1-5) as the follow-up; ≤ 2 starts escalation.

    Raises:
        InvalidTransition: the work is not completed, or was already followed up.
    """
    event = EventCreate(type="follow_up", outcome="rated", satisfaction=score, comment=comment)
    updated, _ = apply_event(
        session=session, ticket=ticket, actor=customer_actor(ticket), event=event, clock=clock
    )
    return updated
