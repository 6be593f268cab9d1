"""What the staff templates show: small read-only view models built from service results.

Templates read these instead of ORM rows, so a renamed column in the data model breaks
one adapter function in ``cloud_api.pages.backend`` (and its tests), not a dozen
templates at render time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ClockView",
    "JobCard",
    "KpiTile",
    "QueueFilters",
    "ReservationView",
    "StaffUser",
    "TicketDetail",
    "TicketRow",
    "TimelineItem",
]


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A signed-in staff member."""

    id: str
    username: str
    role: str
    display_name: str
    station_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """The queue's filters, as the query string gives them."""

    state: str | None = None
    station: str | None = None
    fault: str | None = None
    at_risk: bool = False


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One line of the queue."""

    id: str
    origin: str  # "gateway" (auto-generated) or "agent"
    device_id: str
    kind: str
    model: str | None
    fault_code: str
    severity: str
    state: str
    station_id: str | None
    station_name: str | None
    accepted_at: datetime | None
    occurrences: int
    sla_status: str  # ok | at_risk | breached
    sla_deadline: datetime | None = None
    sla_clock_label: str = ""


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One entry of a ticket's timeline."""

    at: datetime | None
    who: str
    what: str
    to_state: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReservationView:
    """One reserved part line."""

    sku: str
    qty: int
    state: str
    warehouse: str | None = None


@dataclass(frozen=True, slots=True)
class ClockView:
    """One SLA clock of a ticket."""

    name: str
    status: str
    css: str  # ok | at_risk | breached
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class TicketDetail:
    """Everything the ticket page shows."""

    row: TicketRow
    firmware: str | None
    detected_at: datetime | None
    predicted_failure_at: datetime | None
    evidence: dict[str, Any]
    timeline: tuple[TimelineItem, ...]
    reservations: tuple[ReservationView, ...]
    clocks: tuple[ClockView, ...]
    warranty_covered: bool | None
    quote_lines: tuple[tuple[str, str], ...] = ()
    customer_pays: str | None = None
    customer_name: str | None = None
    address: str | None = None
    slot_start: datetime | None = None
    slot_end: datetime | None = None
    quote_status: str = "none"

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 — delegates to the row's fields
        # Templates read ticket.id, ticket.state... as on a queue row.
        return getattr(self.row, name)

    @property
    def lead_time_days(self) -> float | None:
        """Days between acceptance and the predicted failure (the proactive margin)."""
        start = self.row.accepted_at or self.detected_at
        if self.predicted_failure_at is None or start is None:
            return None
        return (self.predicted_failure_at - start).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class JobCard:
    """One of an engineer's jobs today (the phone view)."""

    id: str
    state: str
    severity: str
    kind: str
    model: str | None
    device_id: str
    fault_code: str
    slot_label: str | None
    address: str | None
    parts: tuple[tuple[str, int], ...]
    actions: tuple[Any, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class KpiTile:
    """One KPI against its target."""

    name: str
    value: float | None
    numerator: float
    denominator: float
    target: float | None
    target_op: str  # ">" (at least), "<" (at most), "=" (exactly 100 %)
    pending: int = 0
    trend_svg: str | None = None

    @property
    def met(self) -> bool | None:
        """Whether the value meets the target; None without a value or target."""
        if self.value is None or self.target is None:
            return None
        if self.target_op == "<":
            return self.value < self.target
        if self.target_op == "=":
            return self.value >= self.target
        return self.value > self.target
