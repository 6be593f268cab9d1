"""Station settlement (结算): the fee schedule and one settlement record per completed ticket.

The record freezes the fee, the schedule inputs (fault, warranty, distance band) and the
month at the time it was computed, so a later change of the schedule never rewrites a
month that was already reconciled with a station (SERVICE_FLOW section 10).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.models.base import Base

__all__ = ["FeeRuleRecord", "SettlementRecord", "SettlementState"]


class SettlementState(StrEnum):
    """``pending`` until the ticket meets the settlement conditions, then ``eligible``."""

    PENDING = "pending"
    ELIGIBLE = "eligible"
    APPROVED = "approved"
    PAID = "paid"


class FeeRuleRecord(Base):
    """One line of the fee schedule; NULL columns match anything."""

    __tablename__ = "settlement_fee_rules"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    fault_code: Mapped[str | None] = mapped_column(String(64), default=None)
    in_warranty: Mapped[bool | None] = mapped_column(default=None)
    band: Mapped[str | None] = mapped_column(String(8), default=None)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class SettlementRecord(Base):
    """The station fee of one completed ticket."""

    __tablename__ = "settlements"
    __table_args__ = (Index("ix_settlements_month_station", "month", "station_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), unique=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"))
    # "YYYY-MM" of the completion in the stations' local time: the reconciliation month.
    month: Mapped[str] = mapped_column(String(7))
    fault_code: Mapped[str] = mapped_column(String(64))
    in_warranty: Mapped[bool]
    band: Mapped[str] = mapped_column(String(8))
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    state: Mapped[str] = mapped_column(String(10), default=SettlementState.PENDING.value)
    completed_at: Mapped[datetime]
    computed_at: Mapped[datetime]
    eligible_at: Mapped[datetime | None] = mapped_column(default=None)
