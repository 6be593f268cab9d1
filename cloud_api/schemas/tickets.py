"""Ticket bodies: intake (Contract 4), events, and the public ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from aftercare.catalog import Severity

__all__ = [
    "ClockPublic",
    "EventCreate",
    "EventType",
    "PartQty",
    "ReservationPublic",
    "TicketCreate",
    "TicketDetail",
    "TicketPublic",
    "TicketsPublic",
    "TimelineEntry",
]

Sku = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]

EventType = Literal[
    "dispatched",
    "appointment_booked",
    "engineer_departed",
    "repair_started",
    "waiting_for_parts",
    "completed",
    "follow_up",
    "complaint",
    "escalated",
    "closed",
    "cancelled",
    "quote_accepted",
    "quote_declined",
    "parts_arrived",
]


class PartQty(BaseModel):
    """A quantity of one part."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: int = Field(ge=1, le=100)


class TicketCreate(BaseModel):
    """``POST /v1/tickets`` body (Contract 4; the gateway's FaultReport.to_json())."""

    model_config = ConfigDict(extra="ignore")

    device_id: Id
    fault_code: Code
    detected_at: AwareDatetime
    severity: Severity
    predicted_failure_at: AwareDatetime | None = None
    parts: list[PartQty] | None = Field(default=None, max_length=20)
    evidence: dict[str, Any] = Field(default_factory=dict)
    description: str = Field(default="", max_length=4000)
    home_id: str | None = None


class EventCreate(BaseModel):
    """``POST /v1/tickets/{id}/events`` body: ``type`` plus the fields that apply to it."""

    model_config = ConfigDict(extra="forbid")

    type: EventType
    at: AwareDatetime | None = None
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    station_id: Id | None = None
    engineer_id: Id | None = None
    override: bool = False
    slot_start: AwareDatetime | None = None
    slot_end: AwareDatetime | None = None
    customer_chosen: bool = False
    eta: AwareDatetime | None = None
    parts: list[PartQty] | None = Field(default=None, max_length=20)
    resolution: Literal["on_site", "remote"] = "on_site"
    outcome: Literal["repaired", "not_repaired", "rated", "declined", "unreachable"] | None = None
    work_done: str = Field(default="", max_length=4000)
    fee: float | None = Field(default=None, ge=0, le=1_000_000)
    parts_used: list[PartQty] = Field(default_factory=list, max_length=20)
    old_parts_kept: list[Sku] = Field(default_factory=list, max_length=20)
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    fixed: bool | None = None
    comment: str = Field(default="", max_length=4000)
    reason: str | None = Field(default=None, max_length=400)
    action: Literal["raise", "resolve", "confirm_closed"] = "raise"


class ReservationPublic(BaseModel):
    """A part reservation line."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    qty: int
    warehouse_id: str
    station_id: str | None
    state: str
    expires_at: datetime | None
    transfer_eta: datetime | None


class ClockPublic(BaseModel):
    """An SLA clock."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    started_at: datetime
    deadline: datetime
    stopped_at: datetime | None
    status: str
    paused_total_s: float


class TimelineEntry(BaseModel):
    """One audit line: who, when, what, from which state."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    type: str
    actor_type: str
    actor_id: str
    at: datetime
    client_at: datetime | None
    from_state: str | None
    to_state: str | None
    payload: dict[str, Any]


class TicketPublic(BaseModel):
    """A ticket as the API returns it."""

    id: str
    state: str
    station_id: str | None
    device_id: str
    customer_id: str
    home_id: str
    fault_code: str
    severity: str
    urgent: bool
    source: str
    detected_at: datetime
    accepted_at: datetime
    predicted_failure_at: datetime | None
    occurrences: int
    first_occurred_at: datetime
    last_occurred_at: datetime
    repeat_of: str | None
    escalation_level: int
    escalation_closed_at: datetime | None
    warranty: dict[str, Any]
    quote: dict[str, Any] | None
    quote_status: str
    slot_start: datetime | None
    slot_end: datetime | None
    cancel_reason: str | None
    evidence: dict[str, Any]
    description: str
    reservations: list[ReservationPublic]
    sla: list[ClockPublic]
    customer_notice: dict[str, Any] | None = None
    version: int


class TicketDetail(TicketPublic):
    """A ticket with its full timeline."""

    timeline: list[TimelineEntry]
    dispatch: dict[str, Any]
    completion: dict[str, Any] | None


class TicketsPublic(BaseModel):
    """A page of tickets."""

    data: list[TicketPublic]
    count: int
