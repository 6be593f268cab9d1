"""The demo registry of ``aftercare cloud seed --demo`` (Contract 4).

:func:`seed_demo` fills a fresh database and returns the JSON object the command prints:
``{"gateway": {"id", "token"}, "staff": [{"username", "password", "role"}],
"devices": [{"id", "kind", "model", "home_id"}]}``. Pass ``devices`` to register given
device ids (e.g. the simulator's fleet) instead of the built-in set; each may name its
``home_id``, ``model``, ``firmware`` and ``purchase_date``, and missing homes are created.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy.orm import Session

from aftercare.catalog import Catalog, WarrantyClass
from aftercare.clock import Clock
from cloud_api.models.registry import Home
from cloud_api.schemas.registry import (
    CustomerIn,
    DeviceIn,
    HomeIn,
    PartIn,
    StaffIn,
    StationIn,
    StockIn,
    WarehouseIn,
)
from cloud_api.services.registry import create, create_gateway

__all__ = ["DEMO_GATEWAY_ID", "DEMO_REGIONS", "seed_demo"]

DEMO_GATEWAY_ID: Final = "gw-demo"
DEMO_REGIONS: Final = ("shanghai-pudong", "shanghai-minhang", "suzhou-wuzhong")
_STATIONS: Final[
    tuple[
        tuple[str, str, Literal["city", "county", "township"], list[str], list[str] | None, int],
        ...,
    ]
] = (
    ("st-pudong", "浦东服务站 Pudong", "city", ["shanghai-pudong", "shanghai-minhang"], None, 40),
    (
        "st-minhang",
        "闵行服务站 Minhang",
        "county",
        ["shanghai-minhang", "suzhou-wuzhong"],
        None,
        30,
    ),
    (
        "st-wuzhong",
        "吴中服务站 Wuzhong",
        "township",
        ["suzhou-wuzhong"],
        ["air_conditioner", "refrigerator", "washing_machine"],
        15,
    ),
)
_ROLES: Final = ("agent", "station", "engineer", "manager", "admin")
# Ages of the built-in devices, in days: new, within unit warranty, and past it.
_AGES_DAYS: Final = (60, 300, 500, 900, 1500)


def seed_demo(
    *, session: Session, clock: Clock, catalog: Catalog, devices: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Fill a fresh database with the demo registry (commits) and return the summary."""
    now = clock.now()
    _seed_parts_and_stations(session, catalog, now)
    gateway = create_gateway(
        session=session, gateway_id=DEMO_GATEWAY_ID, name="Demo home hub", now=now
    )
    for n, region in enumerate(DEMO_REGIONS):
        _customer_home(session, f"c-demo-{n}", f"h-demo-{n}", region, now)
    wanted = devices if devices is not None else _builtin_devices(catalog)
    out_devices = [_device(session, catalog, spec, n, now) for n, spec in enumerate(wanted)]
    staff = _staff(session, now)
    session.commit()
    return {"gateway": gateway, "staff": staff, "devices": out_devices}


def _seed_parts_and_stations(session: Session, catalog: Catalog, now: datetime) -> None:
    for part in catalog.parts.values():
        body = PartIn(
            sku=part.sku,
            name_en=part.name_en,
            name_zh=part.name_zh,
            list_price=part.list_price,
            warranty_class=part.warranty_class.value,
        )
        create(session=session, entity="parts", body=body, now=now)
    create(
        session=session,
        entity="warehouses",
        body=WarehouseIn(
            id="wh-central", name="Central warehouse 中心库", kind="central", transfer_lead_hours=18
        ),
        now=now,
    )
    for sku in catalog.parts:
        create(
            session=session,
            entity="stock",
            body=StockIn(warehouse_id="wh-central", sku=sku, on_hand=50),
            now=now,
        )
    all_kinds = list(catalog.kinds)
    for sid, name, tier, regions, skills, capacity in _STATIONS:
        station = StationIn(
            id=sid,
            name=name,
            tier=tier,
            regions=regions,
            skills=skills or all_kinds,
            capacity=capacity,
            working_hours="08:00-20:00",
        )
        create(session=session, entity="stations", body=station, now=now)
        for i, part in enumerate(catalog.parts.values()):
            # Stations carry wear parts; core parts mostly sit in the central warehouse.
            qty = (
                4 if part.warranty_class is WarrantyClass.WEAR else (1 if (i + len(sid)) % 2 else 0)
            )
            create(
                session=session,
                entity="stock",
                body=StockIn(warehouse_id=f"wh-{sid}", sku=part.sku, on_hand=qty),
                now=now,
            )


def _customer_home(
    session: Session, customer_id: str, home_id: str, region: str, now: datetime
) -> None:
    create(
        session=session,
        entity="customers",
        body=CustomerIn(
            id=customer_id,
            name=f"Demo customer {customer_id[-1]}",
            phone="400-000-0000",
            email=f"{customer_id}@example.com",
        ),
        now=now,
    )
    create(
        session=session,
        entity="homes",
        body=HomeIn(
            id=home_id,
            customer_id=customer_id,
            address=f"{region} demo road 1",
            region=region,
            gateway_id=DEMO_GATEWAY_ID,
        ),
        now=now,
    )


def _builtin_devices(catalog: Catalog) -> list[dict[str, Any]]:
    out = []
    for n, model in enumerate(catalog.models.values()):
        prefix = "".join(w[0] for w in model.kind.split("_"))
        out.append(
            {
                "id": f"{prefix}-demo-{n:03d}",
                "kind": model.kind,
                "model": model.model,
                "age_days": _AGES_DAYS[n % len(_AGES_DAYS)],
            }
        )
    return out


def _device(
    session: Session, catalog: Catalog, spec: dict[str, Any], n: int, now: datetime
) -> dict[str, Any]:
    kind = str(spec["kind"])
    models = catalog.models_for(kind)
    model = str(spec.get("model") or (models[0].model if models else "unknown"))
    firmware = str(
        spec.get("firmware")
        or spec.get("fw")
        or (
            catalog.models[model].firmware[0]
            if model in catalog.models and catalog.models[model].firmware
            else ""
        )
    )
    home_id = str(spec.get("home_id") or f"h-demo-{n % len(DEMO_REGIONS)}")
    if session.get(Home, home_id) is None:
        region = (
            DEMO_REGIONS[len(home_id) % len(DEMO_REGIONS)]
            if "region" not in spec
            else str(spec["region"])
        )
        _customer_home(session, f"c-{home_id}", home_id, region, now)
    purchase = spec.get("purchase_date")
    bought = (
        date.fromisoformat(purchase)
        if isinstance(purchase, str)
        else now.date() - timedelta(days=int(spec.get("age_days", _AGES_DAYS[n % len(_AGES_DAYS)])))
    )
    body = DeviceIn(
        id=str(spec["id"]),
        home_id=home_id,
        kind=kind,
        model=model,
        serial=f"SN{n:08d}",
        firmware=firmware,
        purchase_date=bought,
    )
    create(session=session, entity="devices", body=body, now=now)
    return {"id": body.id, "kind": kind, "model": model, "home_id": home_id}


def _staff(session: Session, now: datetime) -> list[dict[str, str]]:
    out = []
    for role in _ROLES:
        password = secrets.token_urlsafe(12)
        station = "st-pudong" if role in ("station", "engineer") else None
        create(
            session=session,
            entity="staff",
            body=StaffIn(
                username=role,
                password=password,
                role=role,
                display_name=f"Demo {role}",
                station_id=station,
            ),
            now=now,
        )
        out.append({"username": role, "password": password, "role": role})
    return out
