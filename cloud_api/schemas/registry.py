"""Registry bodies: one create model per entity, shared by the admin API and the CLI import."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = [
    "ENTITY_SCHEMAS",
    "CustomerIn",
    "DeviceIn",
    "GatewayCreated",
    "GatewayIn",
    "HomeIn",
    "PartIn",
    "StaffIn",
    "StationIn",
    "StockIn",
    "WarehouseIn",
]

Id = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _split(value: object) -> object:
    """CSV cells carry lists as ``a;b;c``."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return value


class CustomerIn(_In):
    """A customer."""

    id: Id
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    language: Literal["zh-CN", "en"] = "zh-CN"


class HomeIn(_In):
    """A home."""

    id: Id
    customer_id: Id
    address: str = Field(default="", max_length=400)
    region: str = Field(min_length=1, max_length=64)
    gateway_id: Id | None = None


class DeviceIn(_In):
    """An appliance."""

    id: Id
    home_id: Id
    kind: str = Field(min_length=1, max_length=40)
    model: str = Field(min_length=1, max_length=64)
    serial: str = Field(default="", max_length=64)
    firmware: str = Field(default="", max_length=40)
    purchase_date: date


class GatewayIn(_In):
    """A gateway; its token is generated and shown once."""

    id: Id
    name: str = Field(default="", max_length=200)


class GatewayCreated(BaseModel):
    """A new gateway and its token (shown once)."""

    id: str
    token: str


class StationIn(_In):
    """A service station; its own warehouse is created with it."""

    id: Id
    name: str = Field(min_length=1, max_length=200)
    tier: Literal["city", "county", "township"] = "city"
    regions: list[str] = Field(default_factory=list, max_length=200)
    skills: list[str] = Field(default_factory=list, max_length=20)
    capacity: int = Field(default=10, ge=1, le=100_000)
    working_hours: str = Field(default="00:00-24:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")

    _lists = field_validator("regions", "skills", mode="before")(_split)


class WarehouseIn(_In):
    """A warehouse (``central`` or a station's)."""

    id: Id
    name: str = Field(default="", max_length=200)
    kind: Literal["central", "station"]
    station_id: Id | None = None
    transfer_lead_hours: int = Field(default=24, ge=0, le=24 * 60)


class PartIn(_In):
    """A spare part."""

    sku: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    ]
    name_en: str = Field(default="", max_length=200)
    name_zh: str = Field(default="", max_length=200)
    list_price: float = Field(ge=0, le=1_000_000)
    warranty_class: Literal["core", "wear"]


class StockIn(_In):
    """Stock of one part in one warehouse (sets ``on_hand``)."""

    warehouse_id: Id
    sku: str = Field(min_length=1, max_length=64)
    on_hand: int = Field(ge=0, le=10_000_000)


class StaffIn(_In):
    """A staff user."""

    username: Annotated[
        str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    ]
    password: str = Field(min_length=8, max_length=200)
    role: Literal["agent", "station", "engineer", "manager", "admin"]
    display_name: str = Field(default="", max_length=200)
    station_id: Id | None = None
    id: Id | None = None


ENTITY_SCHEMAS: dict[str, type[_In]] = {
    "customers": CustomerIn,
    "homes": HomeIn,
    "devices": DeviceIn,
    "gateways": GatewayIn,
    "stations": StationIn,
    "warehouses": WarehouseIn,
    "parts": PartIn,
    "stock": StockIn,
    "staff": StaffIn,
}
