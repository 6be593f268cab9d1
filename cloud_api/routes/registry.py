"""Registry administration (admin role): create entities, list them, revoke gateways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlalchemy import select

from cloud_api.deps import ClockDep, SessionDep, require_roles
from cloud_api.models.registry import Device, Part, Role, Station
from cloud_api.schemas.registry import ENTITY_SCHEMAS
from cloud_api.services import registry

__all__ = ["router"]

_ADMIN = require_roles(Role.ADMIN)
router = APIRouter(prefix="/v1", tags=["registry"], dependencies=[_ADMIN])  # type: ignore[list-item]


def _creator(entity: str, schema: type[BaseModel]) -> Callable[..., dict[str, Any]]:
    def create(body: BaseModel, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
        result = registry.create(session=session, entity=entity, body=body, now=clock.now())
        session.commit()
        return result

    create.__annotations__["body"] = schema
    create.__name__ = f"create_{entity}"
    create.__doc__ = f"Create one of {entity} (admin)."
    return create


for _entity, _schema in ENTITY_SCHEMAS.items():
    router.add_api_route(
        f"/{_entity}",
        _creator(_entity, _schema),
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        name=f"create_{_entity}",
    )


@router.post("/gateways/{gateway_id}/revoke", status_code=status.HTTP_204_NO_CONTENT)
def revoke_gateway(gateway_id: str, session: SessionDep, clock: ClockDep) -> None:
    """Revoke a gateway's token."""
    registry.revoke_gateway(session=session, gateway_id=gateway_id, now=clock.now())
    session.commit()


@router.get("/devices")
def list_devices(session: SessionDep) -> list[dict[str, Any]]:
    """Every device."""
    rows = session.scalars(select(Device).order_by(Device.id))
    return [
        {
            "id": d.id,
            "home_id": d.home_id,
            "kind": d.kind,
            "model": d.model,
            "firmware": d.firmware,
            "purchase_date": d.purchase_date.isoformat(),
        }
        for d in rows
    ]


@router.get("/stations")
def list_stations(session: SessionDep) -> list[dict[str, Any]]:
    """Every station."""
    return [
        {
            "id": s.id,
            "name": s.name,
            "tier": s.tier,
            "regions": s.regions,
            "skills": s.skills,
            "capacity": s.capacity,
        }
        for s in session.scalars(select(Station).order_by(Station.id))
    ]


@router.get("/parts")
def list_parts(session: SessionDep) -> list[dict[str, Any]]:
    """Every part."""
    return [
        {
            "sku": p.sku,
            "name_en": p.name_en,
            "list_price": p.list_price,
            "warranty_class": p.warranty_class,
        }
        for p in session.scalars(select(Part).order_by(Part.sku))
    ]
