"""Part reservation lines and old parts kept for warranty claims (SERVICE_FLOW section 4)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.models.base import Base

__all__ = ["HOLDING_STATES", "OldPart", "OldPartState", "Reservation", "ReservationState"]


class ReservationState(StrEnum):
    """A reservation line's state."""

    HELD = "held"
    ALLOCATED = "allocated"
    IN_TRANSIT = "in_transit"
    AT_STATION = "at_station"
    ISSUED = "issued"
    CONSUMED = "consumed"
    RETURNED = "returned"
    EXPIRED = "expired"
    RELEASED = "released"


# Lines in these states count against the warehouse's available stock.
HOLDING_STATES = frozenset(
    {
        ReservationState.HELD,
        ReservationState.ALLOCATED,
        ReservationState.IN_TRANSIT,
        ReservationState.AT_STATION,
        ReservationState.ISSUED,
    }
)


class OldPartState(StrEnum):
    """An old part (旧件) on its way to a warranty claim."""

    KEPT = "kept"
    RETURNED_TO_CENTRAL = "returned_to_central"
    INSPECTED = "inspected"
    CLAIMED = "claimed"
    CLAIM_ACCEPTED = "claim_accepted"
    CLAIM_REJECTED = "claim_rejected"


class Reservation(Base):
    """One part line reserved for a ticket in one warehouse.

    When the part comes from the central warehouse, ``transfer_eta`` is when the transfer
    (调拨) reaches ``station_id``.
    """

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_state_expires", "state", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    sku: Mapped[str] = mapped_column(ForeignKey("parts.sku"))
    qty: Mapped[int]
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id"), default=None)
    state: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    transfer_eta: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OldPart(Base):
    """An old part kept from an in-warranty replacement, for the supplier claim."""

    __tablename__ = "old_parts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    sku: Mapped[str] = mapped_column(ForeignKey("parts.sku"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    in_warranty: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(30), default=OldPartState.KEPT.value)
    kept_at: Mapped[datetime]
    updated_at: Mapped[datetime]
