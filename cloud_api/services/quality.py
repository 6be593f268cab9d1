"""The monthly quality report to the factory (产品质量推进) and fleet-wide incidents.

Tickets of a month per model × firmware × fault code, per 1000 devices in the field.
"In the field" in a month = devices bought on or before the month's last day; firmware is
the device's firmware as registered (the registry keeps no firmware history).

Incidents: a fault rising across one model (all its firmware) or one model's firmware.
For each group the baseline is the trailing three months' rate per device-month, scaled
to this month's devices; the month is an incident when its count exceeds the Poisson 99 %
upper bound of that expectation (SERVICE_FLOW section 9), and has at least
``MIN_INCIDENT_TICKETS`` tickets, so a single ticket on a new model with no history is
not a "fleet-wide" incident.

Tickets cancelled as ``duplicate``/``test`` or gateway false alarms (``no_fault_found``)
are not quality signals and are left out.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from scipy.stats import poisson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_api.exceptions import InvalidRequest
from cloud_api.models.registry import Device
from cloud_api.models.tickets import Ticket

__all__ = [
    "CSV_COLUMNS",
    "MIN_INCIDENT_TICKETS",
    "BadMonth",
    "Month",
    "QualityReport",
    "QualityRow",
    "build_report",
    "parse_month",
    "poisson_upper",
    "quality_report",
]

MIN_INCIDENT_TICKETS: Final = 3
BASELINE_MONTHS: Final = 3
CONFIDENCE: Final = 0.99
CSV_COLUMNS: Final = (
    "month",
    "model",
    "firmware",
    "fault_code",
    "tickets",
    "devices",
    "per_1000",
    "baseline_per_1000",
    "incident",
)


class BadMonth(InvalidRequest):
    """``month`` is not ``YYYY-MM``."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        """Midnight UTC of the first day."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Midnight UTC of the next month's first day."""
        return self.shift(1).start

    @property
    def last_day(self) -> date:
        """The month's last day."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


def parse_month(text: str) -> Month:
    """``YYYY-MM`` → :class:`Month`."""
    try:
        year, month = (int(p) for p in text.split("-"))
    except ValueError as exc:
        raise BadMonth(f"month must be YYYY-MM, got {text!r}") from exc
    if not (1 <= month <= 12 and 1970 <= year <= 9999):
        raise BadMonth(f"month must be YYYY-MM, got {text!r}")
    return Month(year, month)


def poisson_upper(expected: float, confidence: float = CONFIDENCE) -> int:
    """The smallest k with P(X ≤ k) ≥ ``confidence`` for X ~ Poisson(``expected``)."""
    if expected <= 0:
        return 0
    return int(poisson.ppf(confidence, expected))


@dataclass(frozen=True, slots=True)
class QualityRow:
    """One model × firmware × fault line (``firmware`` is None on a whole-model line)."""

    model: str
    firmware: str | None
    fault_code: str
    tickets: int
    devices: int
    baseline_per_1000: float | None
    expected: float | None
    upper_bound: int | None
    incident: bool

    @property
    def per_1000(self) -> float:
        """Tickets per 1000 devices in the field this month."""
        return round(1000 * self.tickets / self.devices, 3) if self.devices else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "model": self.model,
            "firmware": self.firmware,
            "fault_code": self.fault_code,
            "tickets": self.tickets,
            "devices": self.devices,
            "per_1000": self.per_1000,
            "baseline_per_1000": self.baseline_per_1000,
            "expected": self.expected,
            "upper_bound": self.upper_bound,
            "incident": self.incident,
        }


@dataclass(frozen=True, slots=True)
class QualityReport:
    """The month's rows (model × firmware × fault) and incidents (both scopes)."""

    month: Month
    rows: tuple[QualityRow, ...]
    incidents: tuple[QualityRow, ...]
    devices_in_field: int

    def as_dict(self) -> dict[str, Any]:
        """The ``GET /v1/reports/quality`` body."""
        return {
            "month": str(self.month),
            "devices_in_field": self.devices_in_field,
            "rows": [r.as_dict() for r in self.rows],
            "incidents": [
                {**r.as_dict(), "scope": "model" if r.firmware is None else "firmware"}
                for r in self.incidents
            ],
            "method": {
                "baseline_months": BASELINE_MONTHS,
                "confidence": CONFIDENCE,
                "min_tickets": MIN_INCIDENT_TICKETS,
            },
        }

    def to_csv(self) -> str:
        """The rows as CSV (one line per model × firmware × fault)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        incidents = {(i.model, i.firmware, i.fault_code) for i in self.incidents}
        for r in self.rows:
            flagged = (r.model, r.firmware, r.fault_code) in incidents or (
                r.model,
                None,
                r.fault_code,
            ) in incidents
            writer.writerow(
                [
                    str(self.month),
                    r.model,
                    r.firmware or "",
                    r.fault_code,
                    r.tickets,
                    r.devices,
                    r.per_1000,
                    "" if r.baseline_per_1000 is None else r.baseline_per_1000,
                    "yes" if flagged else "no",
                ]
            )
        return out.getvalue()


# (model, firmware) -> device count, per month; (month, model, firmware, fault) -> tickets.
Fleet = dict[tuple[str, str], int]
Key = tuple[str, str | None, str]
Scope = tuple[str, str | None]


def _group(
    month: Month,
    key: Key,
    counts: dict[Month, Counter[Key]],
    fleets: dict[Month, Counter[Scope]],
) -> QualityRow:
    scope = (key[0], key[1])
    devices = fleets[month][scope]
    history = [month.shift(-i) for i in range(1, BASELINE_MONTHS + 1)]
    past_tickets = sum(counts[m][key] for m in history)
    past_devices = sum(fleets[m][scope] for m in history)
    expected = baseline = upper = None
    if past_devices:
        rate = past_tickets / past_devices
        baseline = round(1000 * rate, 3)
        expected = rate * devices
        upper = poisson_upper(expected)
    tickets = counts[month][key]
    bound = upper if upper is not None else 0
    incident = tickets >= MIN_INCIDENT_TICKETS and tickets > bound
    return QualityRow(
        model=key[0],
        firmware=key[1],
        fault_code=key[2],
        tickets=tickets,
        devices=devices,
        baseline_per_1000=baseline,
        expected=None if expected is None else round(expected, 3),
        upper_bound=upper,
        incident=incident,
    )


def build_report(
    month: Month,
    tickets: Iterable[tuple[Month, str, str, str]],
    fleet_by_month: dict[Month, Fleet],
) -> QualityReport:
    """The report from ticket tuples ``(month, model, firmware, fault)`` and fleet sizes.

    ``fleet_by_month`` must hold the report month and the three before it.
    """
    counts: dict[Month, Counter[Key]] = {}
    for m, model, fw, fault in tickets:
        bucket = counts.setdefault(m, Counter())
        bucket[(model, fw, fault)] += 1
        bucket[(model, None, fault)] += 1
    fleets: dict[Month, Counter[Scope]] = {}
    for m, fleet in fleet_by_month.items():
        sizes: Counter[Scope] = Counter()
        for (model, fw), n in fleet.items():
            sizes[(model, fw)] += n
            sizes[(model, None)] += n
        fleets[m] = sizes
    months = [month.shift(-i) for i in range(BASELINE_MONTHS + 1)]
    for m in months:
        counts.setdefault(m, Counter())
        fleets.setdefault(m, Counter())
    keys = sorted(counts[month], key=lambda k: (k[0], k[1] or "", k[2]))
    groups = [_group(month, k, counts, fleets) for k in keys]
    rows = tuple(g for g in groups if g.firmware is not None)
    incidents = tuple(g for g in groups if g.incident)
    return QualityReport(
        month=month,
        rows=rows,
        incidents=incidents,
        devices_in_field=sum(n for n in fleet_by_month.get(month, {}).values()),
    )


def _fleet(session: Session, month: Month) -> Fleet:
    rows = session.execute(
        select(Device.model, Device.firmware, func.count())
        .where(Device.purchase_date <= month.last_day)
        .group_by(Device.model, Device.firmware)
    )
    return {(model, fw): int(n) for model, fw, n in rows}


def _excluded(ticket_source: str, reason: str | None) -> bool:
    if reason in ("duplicate", "test"):
        return True
    return ticket_source == "gateway" and reason == "no_fault_found"


def _month_of(ts: datetime) -> Month:
    return Month(ts.year, ts.month)


def quality_report(*, session: Session, month: Month) -> QualityReport:
    """The quality report of ``month`` from the tickets and the device registry."""
    months: Sequence[Month] = [month.shift(-i) for i in range(BASELINE_MONTHS + 1)]
    first = months[-1].start
    rows = session.execute(
        select(
            Ticket.accepted_at,
            Ticket.source,
            Ticket.cancel_reason,
            Ticket.fault_code,
            Device.model,
            Device.firmware,
        )
        .join(Device, Device.id == Ticket.device_id)
        .where(Ticket.accepted_at >= first, Ticket.accepted_at < month.end)
    )
    tickets = [
        (_month_of(accepted.astimezone(UTC)), model, fw, fault)
        for accepted, source, reason, fault, model, fw in rows
        if not _excluded(source, reason)
    ]
    fleets = {m: _fleet(session, m) for m in months}
    return build_report(month, tickets, fleets)
