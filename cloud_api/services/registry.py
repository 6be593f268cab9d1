"""The registry: create and import every registry entity.

Customers, homes, devices, gateways, stations, warehouses, parts, stock and staff, for
the admin API and the ``aftercare cloud`` CLI.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud_api.auth import hash_gateway_token, hash_password, new_gateway_token
from cloud_api.exceptions import DuplicateEntity, ImportFailed, InvalidRequest, RegistryNotFound
from cloud_api.models.registry import (
    Customer,
    Device,
    Gateway,
    Home,
    Part,
    StaffUser,
    Station,
    Stock,
    Warehouse,
    WarehouseKind,
)
from cloud_api.schemas.registry import (
    ENTITY_SCHEMAS,
    CustomerIn,
    DeviceIn,
    GatewayIn,
    HomeIn,
    PartIn,
    StaffIn,
    StationIn,
    StockIn,
    WarehouseIn,
)

__all__ = [
    "ENTITIES",
    "create",
    "create_gateway",
    "import_rows",
    "parse_file",
    "revoke_gateway",
]

ENTITIES: Final = tuple(ENTITY_SCHEMAS)
_SIMPLE: Final[dict[type[BaseModel], type[Any]]] = {
    CustomerIn: Customer,
    HomeIn: Home,
    DeviceIn: Device,
    WarehouseIn: Warehouse,
    PartIn: Part,
}
_PARENTS: Final[dict[str, tuple[tuple[str, type[Any]], ...]]] = {
    "homes": (("customer_id", Customer), ("gateway_id", Gateway)),
    "devices": (("home_id", Home),),
    "warehouses": (("station_id", Station),),
    "stock": (("warehouse_id", Warehouse), ("sku", Part)),
    "staff": (("station_id", Station),),
}


def _check_parents(session: Session, entity: str, body: BaseModel) -> None:
    for field, model in _PARENTS.get(entity, ()):
        value = getattr(body, field)
        if value is not None and session.get(model, value) is None:
            raise RegistryNotFound(model.__tablename__.rstrip("s"), value)


def create(*, session: Session, entity: str, body: BaseModel, now: datetime) -> dict[str, Any]:
    """Create one registry entity (flushes); returns its public fields.

    Raises:
        RegistryNotFound: a referenced row is missing.
        DuplicateEntity: the id (or username) is taken.
    """
    _check_parents(session, entity, body)
    if isinstance(body, GatewayIn):
        return create_gateway(session=session, gateway_id=body.id, name=body.name, now=now)
    if isinstance(body, StationIn):
        return _create_station(session, body)
    if isinstance(body, StockIn):
        return _set_stock(session, body)
    if isinstance(body, StaffIn):
        return _create_staff(session, body)
    model = _SIMPLE[type(body)]
    pk = body.model_dump()
    key = pk.get("id", pk.get("sku"))
    if session.get(model, key) is not None:
        raise DuplicateEntity(f"{entity} {key} already exists")
    session.add(model(**pk))
    _flush(session, entity, str(key))
    return pk


def _flush(session: Session, entity: str, key: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicateEntity(f"{entity} {key} conflicts with an existing row") from exc


def create_gateway(
    *, session: Session, gateway_id: str, name: str, now: datetime
) -> dict[str, Any]:
    """A gateway with a fresh token; only the hash is stored, the token is returned once."""
    if session.get(Gateway, gateway_id) is not None:
        raise DuplicateEntity(f"gateway {gateway_id} already exists")
    token = new_gateway_token()
    session.add(
        Gateway(id=gateway_id, name=name, token_hash=hash_gateway_token(token), created_at=now)
    )
    _flush(session, "gateways", gateway_id)
    return {"id": gateway_id, "token": token}


def revoke_gateway(*, session: Session, gateway_id: str, now: datetime) -> None:
    """Revoke a gateway's token: it gets 401 from now on."""
    gateway = session.get(Gateway, gateway_id)
    if gateway is None:
        raise RegistryNotFound("gateway", gateway_id)
    gateway.revoked_at = now


def _create_station(session: Session, body: StationIn) -> dict[str, Any]:
    if session.get(Station, body.id) is not None:
        raise DuplicateEntity(f"station {body.id} already exists")
    session.add(Station(**body.model_dump()))
    session.flush()
    if session.scalar(select(Warehouse).where(Warehouse.station_id == body.id)) is None:
        session.add(
            Warehouse(
                id=f"wh-{body.id}",
                name=f"{body.name} warehouse",
                kind=WarehouseKind.STATION.value,
                station_id=body.id,
            )
        )
    _flush(session, "stations", body.id)
    return body.model_dump()


def _set_stock(session: Session, body: StockIn) -> dict[str, Any]:
    row = session.scalar(
        select(Stock).where(Stock.warehouse_id == body.warehouse_id, Stock.sku == body.sku)
    )
    if row is None:
        session.add(
            Stock(warehouse_id=body.warehouse_id, sku=body.sku, on_hand=body.on_hand, reserved=0)
        )
    elif body.on_hand < row.reserved:
        raise InvalidRequest(f"on_hand {body.on_hand} is below the {row.reserved} reserved")
    else:
        row.on_hand = body.on_hand
    _flush(session, "stock", f"{body.warehouse_id}/{body.sku}")
    return body.model_dump()


def _create_staff(session: Session, body: StaffIn) -> dict[str, Any]:
    if session.scalar(select(StaffUser).where(StaffUser.username == body.username)) is not None:
        raise DuplicateEntity(f"username {body.username} is taken")
    if body.role in ("station", "engineer") and body.station_id is None:
        raise InvalidRequest(f"a {body.role} user needs station_id")
    user_id = body.id or f"u-{body.username}"
    session.add(
        StaffUser(
            id=user_id,
            username=body.username,
            display_name=body.display_name or body.username,
            password_hash=hash_password(body.password),
            role=body.role,
            station_id=body.station_id,
        )
    )
    _flush(session, "staff", body.username)
    return {
        "id": user_id,
        "username": body.username,
        "role": body.role,
        "station_id": body.station_id,
    }


def parse_file(name: str, text: str) -> list[dict[str, Any]]:
    """Rows of a ``.csv`` (header line) or ``.json`` (array of objects) import file."""
    if name.endswith(".json"):
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportFailed(name, 0, "a JSON import is an array of objects")
        return data
    reader = csv.DictReader(io.StringIO(text))
    return [{k: v for k, v in row.items() if v not in (None, "")} for row in reader]


def import_rows(
    *, session: Session, entity: str, rows: Iterable[dict[str, Any]], now: datetime, source: str
) -> list[dict[str, Any]]:
    """Validate and create every row, all or nothing (the caller commits).

    Raises:
        ImportFailed: naming the first bad row.
    """
    schema = ENTITY_SCHEMAS[entity]
    created = []
    for n, row in enumerate(rows, start=1):
        try:
            body = schema.model_validate(row)
            created.append(create(session=session, entity=entity, body=body, now=now))
        except ValidationError as exc:
            raise ImportFailed(source, n, str(exc.errors(include_url=False)[0])) from exc
        except (DuplicateEntity, RegistryNotFound, InvalidRequest) as exc:
            raise ImportFailed(source, n, exc.detail) from exc
    return created
