"""Station settlement (结算): the fee schedule, per-ticket settlement records, monthly totals.

Fee schedule. A rule names a fault code, a warranty status and a distance band, each of
which may be left open (``None`` = any). The fee of a ticket is the amount of the most
specific rule that matches it, so a schedule can state a general rate and override it for
one fault or one band without listing every combination. The default schedule is derived
from the catalog: in warranty the maker pays the station's labour, more for core repairs
than for a wear-part swap and little for remote diagnosis; out of warranty the customer
pays the station and the maker pays only a handling fee. Far visits carry a surcharge.

Distance band. The registry has no coordinates; a station's network tier stands for the
distance its engineers travel (city ≤ 10 km, county 10-30 km, township > 30 km).

Records. :func:`settle_completed` creates one record per completed ticket (idempotent, the
ticket id is unique) with the fee frozen at that moment, and moves records to
``eligible`` once the ticket is closed with no open escalation (SERVICE_FLOW section 10).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.catalog import Catalog, WarrantyClass
from aftercare.clock import Clock
from cloud_api.models.registry import Station
from cloud_api.models.settlement import FeeRuleRecord, SettlementRecord, SettlementState
from cloud_api.models.tickets import Ticket, TicketState

__all__ = [
    "DISTANCE_SURCHARGE",
    "DistanceBand",
    "FeeRule",
    "FeeSchedule",
    "NoFeeRuleError",
    "SettlementLine",
    "StationTotal",
    "band_for_km",
    "band_for_tier",
    "default_fee_schedule",
    "fee_schedule",
    "settle_completed",
    "settlement_csv",
    "settlement_lines",
    "station_totals",
]

SETTLEMENT_TZ: Final = ZoneInfo("Asia/Shanghai")


class DistanceBand(StrEnum):
    """How far the station travelled: within 10 km, 10-30 km, beyond 30 km."""

    NEAR = "near"
    MID = "mid"
    FAR = "far"


_NEAR_KM: Final = 10.0
_MID_KM: Final = 30.0

DISTANCE_SURCHARGE: Final = {
    DistanceBand.NEAR: Decimal("0"),
    DistanceBand.MID: Decimal("20"),
    DistanceBand.FAR: Decimal("45"),
}
_REMOTE_FEE: Final = Decimal("30")
_WEAR_FEE: Final = Decimal("60")
_CORE_FEE: Final = Decimal("150")
_HANDLING_FEE: Final = Decimal("20")


def band_for_km(km: float) -> DistanceBand:
    """The distance band of a one-way distance in kilometres."""
    if km <= _NEAR_KM:
        return DistanceBand.NEAR
    if km <= _MID_KM:
        return DistanceBand.MID
    return DistanceBand.FAR


_TIER_BAND: Final = {"city": "near", "county": "mid", "township": "far"}


def band_for_tier(tier: str | None) -> DistanceBand:
    """The distance band a station's network tier stands for (unknown tiers: mid)."""
    return DistanceBand(_TIER_BAND.get(tier or "", "mid"))


class NoFeeRuleError(LookupError):
    """No rule of the schedule matches a ticket."""

    def __init__(self, fault_code: str, in_warranty: bool, band: DistanceBand) -> None:
        super().__init__(f"no fee rule for {fault_code}, in_warranty={in_warranty}, {band}")
        self.fault_code = fault_code
        self.in_warranty = in_warranty
        self.band = band


@dataclass(frozen=True, slots=True)
class FeeRule:
    """One line of the schedule; ``None`` fields match anything."""

    amount: Decimal
    fault_code: str | None = None
    in_warranty: bool | None = None
    band: DistanceBand | None = None

    def matches(self, fault_code: str, in_warranty: bool, band: DistanceBand) -> bool:
        """Whether this rule applies to a ticket with these attributes."""
        return (
            (self.fault_code is None or self.fault_code == fault_code)
            and (self.in_warranty is None or self.in_warranty == in_warranty)
            and (self.band is None or self.band == band)
        )

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Fault outranks warranty, which outranks band, when two rules both match."""
        return (
            self.fault_code is not None,
            self.in_warranty is not None,
            self.band is not None,
        )


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """An ordered set of rules; the most specific match wins, the earlier one on a tie."""

    rules: tuple[FeeRule, ...]

    def rule_for(self, fault_code: str, in_warranty: bool, band: DistanceBand) -> FeeRule:
        """The rule that prices a ticket.

        Raises:
            NoFeeRuleError: nothing matches.
        """
        best: FeeRule | None = None
        for rule in self.rules:
            if rule.matches(fault_code, in_warranty, band) and (
                best is None or rule.specificity > best.specificity
            ):
                best = rule
        if best is None:
            raise NoFeeRuleError(fault_code, in_warranty, band)
        return best

    def fee_for(self, fault_code: str, in_warranty: bool, band: DistanceBand) -> Decimal:
        """The station's fee for one completed ticket."""
        return self.rule_for(fault_code, in_warranty, band).amount

    def matrix(
        self, fault_codes: Iterable[str]
    ) -> list[tuple[str, Sequence[Decimal | None], Sequence[Decimal | None]]]:
        """Per fault: fees in warranty and out of warranty by band (near, mid, far)."""
        rows: list[tuple[str, Sequence[Decimal | None], Sequence[Decimal | None]]] = []
        for code in fault_codes:
            cells: list[list[Decimal | None]] = []
            for covered in (True, False):
                line: list[Decimal | None] = []
                for band in DistanceBand:
                    try:
                        line.append(self.fee_for(code, covered, band))
                    except NoFeeRuleError:
                        line.append(None)
                cells.append(line)
            rows.append((code, cells[0], cells[1]))
        return rows


def _base_fee(catalog: Catalog, fault_code: str) -> Decimal:
    spec = catalog.faults[fault_code]
    if not spec.parts:
        return _REMOTE_FEE
    core = any(catalog.parts[p.sku].warranty_class is WarrantyClass.CORE for p in spec.parts)
    return _CORE_FEE if core else _WEAR_FEE


def default_fee_schedule(catalog: Catalog) -> FeeSchedule:
    """The schedule a fresh cloud starts with, derived from the catalog's faults and parts."""
    rules: list[FeeRule] = [
        FeeRule(_HANDLING_FEE + DISTANCE_SURCHARGE[band], in_warranty=False, band=band)
        for band in DistanceBand
    ]
    for code in catalog.faults:
        base = _base_fee(catalog, code)
        rules.extend(
            FeeRule(base + DISTANCE_SURCHARGE[band], fault_code=code, in_warranty=True, band=band)
            for band in DistanceBand
        )
    return FeeSchedule(tuple(rules))


# ------------------------------------------------------------------ persistence


def fee_schedule(*, session: Session, catalog: Catalog) -> FeeSchedule:
    """The schedule in the database, or the catalog default while none was stored."""
    rows = session.scalars(select(FeeRuleRecord).order_by(FeeRuleRecord.id)).all()
    if not rows:
        return default_fee_schedule(catalog)
    return FeeSchedule(
        tuple(
            FeeRule(
                Decimal(r.amount),
                fault_code=r.fault_code,
                in_warranty=r.in_warranty,
                band=DistanceBand(r.band) if r.band else None,
            )
            for r in rows
        )
    )


def _in_warranty(ticket: Ticket) -> bool:
    """Whether the maker pays the labour: the warranty decision stored at intake."""
    decision: dict[str, Any] = ticket.warranty or {}
    covered = decision.get("labour_covered", decision.get("covered", False))
    return bool(covered)


def _month(ts: datetime, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m")


def _is_eligible(ticket: Ticket) -> bool:
    escalation_done = ticket.escalation_level == 0 or ticket.escalation_closed_at is not None
    return ticket.state == TicketState.CLOSED.value and escalation_done


def settle_completed(
    *, session: Session, catalog: Catalog, clock: Clock, tz: tzinfo = SETTLEMENT_TZ
) -> int:
    """Create settlement records for completed tickets that have none; update eligibility.

    Idempotent: a ticket gets one record (unique ticket id) whose fee is frozen at its
    creation. Returns the number of records created. The caller commits.
    """
    schedule = fee_schedule(session=session, catalog=catalog)
    now = clock.now()
    settled = select(SettlementRecord.ticket_id)
    query = (
        select(Ticket, Station.tier)
        .join(Station, Station.id == Ticket.station_id)
        .where(Ticket.completed_at.is_not(None), Ticket.id.not_in(settled))
    )
    created = 0
    for ticket, tier in session.execute(query).all():
        assert ticket.completed_at is not None  # noqa: S101 — filtered in the query
        assert ticket.station_id is not None  # noqa: S101 — joined on it
        covered = _in_warranty(ticket)
        band = band_for_tier(tier)
        try:
            fee = schedule.fee_for(ticket.fault_code, covered, band)
        except NoFeeRuleError:
            fee = Decimal(0)
        session.add(
            SettlementRecord(
                ticket_id=ticket.id,
                station_id=ticket.station_id,
                month=_month(ticket.completed_at, tz),
                fault_code=ticket.fault_code,
                in_warranty=covered,
                band=band.value,
                fee=fee,
                state=SettlementState.PENDING.value,
                completed_at=ticket.completed_at,
                computed_at=now,
            )
        )
        created += 1
    session.flush()
    pending = session.execute(
        select(SettlementRecord, Ticket)
        .join(Ticket, Ticket.id == SettlementRecord.ticket_id)
        .where(SettlementRecord.state == SettlementState.PENDING.value)
    ).all()
    for record, ticket in pending:
        if _is_eligible(ticket):
            record.state = SettlementState.ELIGIBLE.value
            record.eligible_at = now
    session.flush()
    return created


@dataclass(frozen=True, slots=True)
class StationTotal:
    """One station's settlement in one month."""

    station_id: str
    station_name: str
    tickets: int
    total: Decimal
    eligible_total: Decimal


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One ticket's settlement record, with its station's name."""

    ticket_id: str
    station_id: str
    station_name: str
    month: str
    fault_code: str
    in_warranty: bool
    band: str
    fee: Decimal
    state: str
    completed_at: datetime


def station_totals(
    *, session: Session, month: str, station_id: str | None = None
) -> list[StationTotal]:
    """Per-station totals of a month ("YYYY-MM"), optionally for one station only."""
    query = (
        select(SettlementRecord, Station.name)
        .join(Station, Station.id == SettlementRecord.station_id)
        .where(SettlementRecord.month == month)
    )
    if station_id is not None:
        query = query.where(SettlementRecord.station_id == station_id)
    sums: dict[str, list[Any]] = {}
    for record, name in session.execute(query).all():
        entry = sums.setdefault(record.station_id, [name, 0, Decimal(0), Decimal(0)])
        entry[1] += 1
        entry[2] += Decimal(record.fee)
        if record.state != SettlementState.PENDING.value:
            entry[3] += Decimal(record.fee)
    return [
        StationTotal(sid, name, count, total, eligible_total)
        for sid, (name, count, total, eligible_total) in sorted(sums.items())
    ]


def settlement_lines(
    *, session: Session, month: str, station_id: str | None = None
) -> list[SettlementLine]:
    """The month's records, by station then completion time."""
    query = (
        select(SettlementRecord, Station.name)
        .join(Station, Station.id == SettlementRecord.station_id)
        .where(SettlementRecord.month == month)
        .order_by(SettlementRecord.station_id, SettlementRecord.completed_at)
    )
    if station_id is not None:
        query = query.where(SettlementRecord.station_id == station_id)
    return [
        SettlementLine(
            ticket_id=r.ticket_id,
            station_id=r.station_id,
            station_name=name,
            month=r.month,
            fault_code=r.fault_code,
            in_warranty=r.in_warranty,
            band=r.band,
            fee=Decimal(r.fee),
            state=r.state,
            completed_at=r.completed_at,
        )
        for r, name in session.execute(query).all()
    ]


def settlement_csv(
    month: str, lines: Iterable[SettlementLine], totals: Iterable[StationTotal]
) -> str:
    """The month's settlement as CSV: one row per ticket, then one total row per station."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "row",
            "month",
            "station_id",
            "station_name",
            "ticket_id",
            "fault_code",
            "in_warranty",
            "distance_band",
            "state",
            "completed_at",
            "tickets",
            "fee",
        ]
    )
    for line in lines:
        writer.writerow(
            [
                "ticket",
                line.month,
                line.station_id,
                line.station_name,
                line.ticket_id,
                line.fault_code,
                "yes" if line.in_warranty else "no",
                line.band,
                line.state,
                line.completed_at.isoformat().replace("+00:00", "Z"),
                1,
                f"{line.fee:.2f}",
            ]
        )
    for total in totals:
        writer.writerow(
            [
                "station_total",
                month,
                total.station_id,
                total.station_name,
                "",
                "",
                "",
                "",
                "",
                "",
                total.tickets,
                f"{total.total:.2f}",
            ]
        )
    return out.getvalue()
