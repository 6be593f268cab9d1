"""Tickets (工单), their audit timeline, SLA clocks, follow-ups and complaints.

The state machine lives in :mod:`cloud_api.services.flow`; here is only its storage.
Escalation level, SLA status and reservation lines are regions orthogonal to ``state``
(SERVICE_FLOW section 2), so a complaint never hides where the work stands.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.models.base import Base

__all__ = [
    "OPEN_STATES",
    "ActorType",
    "ClockStatus",
    "Complaint",
    "FollowUp",
    "SlaClock",
    "Ticket",
    "TicketEvent",
    "TicketSource",
    "TicketState",
]


class TicketState(StrEnum):
    """Where the work stands (SERVICE_FLOW section 2)."""

    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    REPAIRING = "repairing"
    WAITING_FOR_PARTS = "waiting_for_parts"
    COMPLETED = "completed"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset(
    s for s in TicketState if s not in (TicketState.CLOSED, TicketState.CANCELLED)
)


class TicketSource(StrEnum):
    """Who raised the ticket: a gateway (proactive) or an agent (phone call)."""

    GATEWAY = "gateway"
    AGENT = "agent"


class ActorType(StrEnum):
    """Who did something on a ticket."""

    GATEWAY = "gateway"
    STAFF = "staff"
    CUSTOMER = "customer"
    SYSTEM = "system"


class ClockStatus(StrEnum):
    """An SLA clock's status; ``breached`` is final."""

    RUNNING = "running"
    WARNED = "warned"
    BREACHED = "breached"
    MET = "met"
    CANCELLED = "cancelled"


class Ticket(Base):
    """A service ticket from acceptance to a closed loop.

    ``open_key`` is ``"{device_id}|{fault_code}"`` while the ticket is open and ``NULL``
    after close/cancel; its unique index is the partial unique index on open device+fault
    (NULLs never collide on SQLite or PostgreSQL), so two concurrent intakes cannot both
    create a ticket for the same open fault.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_device_fault", "device_id", "fault_code"),
        Index("ix_tickets_station_state", "station_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.id"))
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id"), default=None)
    state: Mapped[str] = mapped_column(String(20), index=True)
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    severity: Mapped[str] = mapped_column(String(10))
    urgent: Mapped[bool] = mapped_column(default=False)
    fault_code: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[str] = mapped_column(String(64))
    detected_at: Mapped[datetime]
    accepted_at: Mapped[datetime] = mapped_column(index=True)
    predicted_failure_at: Mapped[datetime | None] = mapped_column(default=None)
    occurrences: Mapped[int] = mapped_column(default=1)
    first_occurred_at: Mapped[datetime]
    last_occurred_at: Mapped[datetime]
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    parts_requested: Mapped[list[Any]] = mapped_column(default=list)
    warranty: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quote: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # none (customer pays nothing) | pending | accepted | declined
    quote_status: Mapped[str] = mapped_column(String(10), default="none")
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalation_started_at: Mapped[datetime | None] = mapped_column(default=None)
    escalation_closed_at: Mapped[datetime | None] = mapped_column(default=None)
    repeat_of: Mapped[str | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    dispatch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    engineer_id: Mapped[str | None] = mapped_column(String(64), default=None)
    slot_start: Mapped[datetime | None] = mapped_column(default=None)
    slot_end: Mapped[datetime | None] = mapped_column(default=None)
    customer_deferred: Mapped[bool] = mapped_column(default=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    appointment_booked_at: Mapped[datetime | None] = mapped_column(default=None)
    departed_at: Mapped[datetime | None] = mapped_column(default=None)
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    followed_up_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    resolution: Mapped[str | None] = mapped_column(String(20), default=None)
    completion: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Bumped on every change: the ETag of GET /v1/tickets/{id}.
    version: Mapped[int] = mapped_column(default=1)


class TicketEvent(Base):
    """One line of a ticket's audit timeline: who, when, what, from which state.

    ``event_id`` is the client's id for an event (engineers' phones retry offline), unique
    per ticket, so a replayed event is answered from the timeline instead of applied twice.
    """

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_ticket_id_seq"),
        UniqueConstraint("ticket_id", "event_id", name="uq_ticket_events_ticket_id_event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    client_at: Mapped[datetime | None] = mapped_column(default=None)
    from_state: Mapped[str | None] = mapped_column(String(20), default=None)
    to_state: Mapped[str | None] = mapped_column(String(20), default=None)
    event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SlaClock(Base):
    """One SLA clock of a ticket; the deadline is stored when it starts.

    ``paused_total_s`` is the time the operational clock stood still for customer-caused
    waits; the customer clocks never pause (SERVICE_FLOW section 5).
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("ticket_id", "name"),
        Index("ix_sla_clocks_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))
    name: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    deadline: Mapped[datetime]
    warn_at: Mapped[datetime | None] = mapped_column(default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(10), default=ClockStatus.RUNNING.value)
    paused_total_s: Mapped[float] = mapped_column(default=0.0)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)


class FollowUp(Base):
    """A follow-up call (回访) after completion."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    satisfaction: Mapped[int | None] = mapped_column(default=None)
    fixed: Mapped[bool | None] = mapped_column(default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[str | None] = mapped_column(String(64), default=None)


class Complaint(Base):
    """A customer complaint (投诉) on a ticket."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str] = mapped_column(String(64))
