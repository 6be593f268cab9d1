"""The registry: customers, homes, devices, gateways, stations, warehouses, parts, staff.

Ids are strings so the registry can take the ids devices and homes already carry
(``ac-000042``, ``h-000017``) and so imports from CSV/JSON keep them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud_api.models.base import Base

__all__ = [
    "Customer",
    "Device",
    "Gateway",
    "Home",
    "Part",
    "Role",
    "StaffUser",
    "Station",
    "Stock",
    "Warehouse",
    "WarehouseKind",
]


class Role(StrEnum):
    """Staff roles (SERVICE_FLOW section 12)."""

    AGENT = "agent"
    STATION = "station"
    ENGINEER = "engineer"
    MANAGER = "manager"
    ADMIN = "admin"


class WarehouseKind(StrEnum):
    """A company warehouse: the central one or a station's own."""

    CENTRAL = "central"
    STATION = "station"


class Customer(Base):
    """An end user (终端用户) who owns appliances."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    homes: Mapped[list[Home]] = relationship(back_populates="customer")


class Gateway(Base):
    """A home hub (智能家居网关) that raises tickets with a bearer token.

    Only the SHA-256 of the token is stored: tokens are 256-bit random, so a fast hash is
    enough, and a database leak does not leak usable tokens.
    """

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Home(Base):
    """A customer's home: address, region (for dispatch) and the gateway in it."""

    __tablename__ = "homes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    address: Mapped[str] = mapped_column(String(400), default="")
    region: Mapped[str] = mapped_column(String(64), index=True)
    gateway_id: Mapped[str | None] = mapped_column(
        ForeignKey("gateways.id"), index=True, default=None
    )
    customer: Mapped[Customer] = relationship(back_populates="homes")


class Device(Base):
    """An appliance in a home."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(64), index=True)
    serial: Mapped[str] = mapped_column(String(64), default="")
    firmware: Mapped[str] = mapped_column(String(40), default="")
    purchase_date: Mapped[date] = mapped_column(Date)


class Station(Base):
    """A service station (服务网点): regions served, skills per device kind, capacity."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Region tier of the station's network (city, county, township); dispatch prefers city.
    tier: Mapped[str] = mapped_column(String(20), default="city")
    regions: Mapped[list[str]] = mapped_column(default=list)
    skills: Mapped[list[str]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(default=10)
    # "HH:MM-HH:MM" in the station's local time; informational for the operational clock.
    working_hours: Mapped[str] = mapped_column(String(40), default="00:00-24:00")
    active: Mapped[bool] = mapped_column(default=True)


class Warehouse(Base):
    """A company warehouse: the central one, or one per station."""

    __tablename__ = "warehouses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))
    station_id: Mapped[str | None] = mapped_column(
        ForeignKey("stations.id"), unique=True, default=None
    )
    # Days a transfer (调拨) from this warehouse to a station takes.
    transfer_lead_hours: Mapped[int] = mapped_column(default=24)


class Part(Base):
    """A spare part (配件) with its list price and warranty class."""

    __tablename__ = "parts"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    list_price: Mapped[float] = mapped_column(Numeric(12, 2, asdecimal=False))
    warranty_class: Mapped[str] = mapped_column(String(10))


class Stock(Base):
    """Stock of one part in one warehouse.

    ``reserved`` counts the quantity held by open reservation lines; reservation is the
    conditional update ``reserved += q WHERE on_hand - reserved >= q``, so two concurrent
    intakes can never both take the last unit (SERVICE_FLOW section 4).
    """

    __tablename__ = "stock"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "sku"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("parts.sku"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)


class StaffUser(Base):
    """A staff member with a role; station and engineer users belong to one station."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    station_id: Mapped[str | None] = mapped_column(
        ForeignKey("stations.id"), index=True, default=None
    )
    active: Mapped[bool] = mapped_column(default=True)
