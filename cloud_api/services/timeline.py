"""The audit timeline: one row per thing that happened to a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloud_api.models.tickets import Ticket, TicketEvent
from cloud_api.services.actors import Actor

__all__ = ["record"]


def record(
    *,
    session: Session,
    ticket: Ticket,
    type: str,
    actor: Actor,
    at: datetime,
    from_state: str | None,
    to_state: str | None,
    payload: dict[str, Any] | None = None,
    event_id: str | None = None,
    client_at: datetime | None = None,
) -> TicketEvent:
    """Append an event to ``ticket``'s timeline and bump its version."""
    # The ticket's version counts its events, so it is the next sequence number; two
    # concurrent writers collide on (ticket_id, seq) instead of interleaving silently.
    ticket.version += 1
    event = TicketEvent(
        ticket_id=ticket.id,
        seq=ticket.version,
        type=type,
        actor_type=actor.type.value,
        actor_id=actor.id,
        at=at,
        client_at=client_at,
        from_state=from_state,
        to_state=to_state,
        event_id=event_id,
        payload=payload or {},
    )
    session.add(event)
    ticket.updated_at = at
    return event
