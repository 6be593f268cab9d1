"""The three-level escalation (DOMAIN.md).

The agent apologises within 1 h, a supervisor
follows up within 24 h, a senior role confirms the loop closed within 48 h, each counted
from the escalation's start. A missed level deadline raises the level automatically.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from aftercare.clock import Clock
from cloud_api.exceptions import InvalidTransition
from cloud_api.models.tickets import SlaClock, Ticket
from cloud_api.services import sla
from cloud_api.services.actors import Actor
from cloud_api.services.notify import notify
from cloud_api.services.timeline import record

__all__ = ["is_open", "raise_level", "resolve", "start"]


def is_open(ticket: Ticket) -> bool:
    """An escalation is running (level > 0 and not confirmed closed)."""
    return ticket.escalation_level > 0 and ticket.escalation_closed_at is None


def start(*, session: Session, ticket: Ticket, actor: Actor, clock: Clock, reason: str) -> bool:
    """Start level 1 unless an escalation is already open; returns whether it started."""
    if is_open(ticket):
        return False
    now = clock.now()
    # A new escalation after a closed one gets fresh clocks; the old ones stay in the timeline.
    session.execute(
        delete(SlaClock).where(SlaClock.ticket_id == ticket.id, SlaClock.name.in_(sla.ESCALATION))
    )
    sla.forget(session=session, ticket=ticket, names=sla.ESCALATION)
    ticket.escalation_level = 1
    ticket.escalation_started_at = now
    ticket.escalation_closed_at = None
    sla.start(session=session, ticket=ticket, name=sla.ESCALATION[0], at=now)
    record(
        session=session,
        ticket=ticket,
        type="escalated",
        actor=actor,
        at=now,
        from_state=ticket.state,
        to_state=ticket.state,
        payload={"level": 1, "reason": reason},
    )
    notify(session=session, ticket=ticket, kind="escalation", clock=clock)
    return True


def raise_level(
    *, session: Session, ticket: Ticket, actor: Actor, clock: Clock, auto: bool, note: str = ""
) -> None:
    """Level k → k+1; the level's deadline counts from the escalation's start."""
    if not is_open(ticket) or ticket.escalation_level >= len(sla.ESCALATION):
        raise InvalidTransition("escalated", ticket.state, "no escalation level to raise")
    now = clock.now()
    level = ticket.escalation_level
    sla.stop(session=session, ticket=ticket, name=sla.ESCALATION[level - 1], at=now)
    ticket.escalation_level = level + 1
    started = ticket.escalation_started_at or now
    name = sla.ESCALATION[level]
    sla.start(
        session=session, ticket=ticket, name=name, at=now, deadline=started + sla.TARGETS[name]
    )
    record(
        session=session,
        ticket=ticket,
        type="escalation_auto_raised" if auto else "escalated",
        actor=actor,
        at=now,
        from_state=ticket.state,
        to_state=ticket.state,
        payload={"level": level + 1, "note": note},
    )
    notify(session=session, ticket=ticket, kind="escalation", clock=clock)


def resolve(*, session: Session, ticket: Ticket, actor: Actor, at: datetime, action: str) -> None:
    """Close the escalation: the customer accepts (L1/L2) or a senior confirms (L3)."""
    if not is_open(ticket):
        raise InvalidTransition("escalated", ticket.state, "no open escalation")
    if action == "confirm_closed" and ticket.escalation_level < len(sla.ESCALATION):
        raise InvalidTransition("escalated", ticket.state, "confirm_closed is the level-3 action")
    sla.stop(
        session=session, ticket=ticket, name=sla.ESCALATION[ticket.escalation_level - 1], at=at
    )
    ticket.escalation_closed_at = at
    record(
        session=session,
        ticket=ticket,
        type="escalated",
        actor=actor,
        at=at,
        from_state=ticket.state,
        to_state=ticket.state,
        payload={"level": ticket.escalation_level, "action": action},
    )
