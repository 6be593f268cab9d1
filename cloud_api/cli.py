"""The `aftercare cloud` commands: serve, seed, create, import, revoke-gateway, migrate.

Heavy imports (FastAPI, SQLAlchemy, uvicorn) stay inside the commands so
``aftercare --help`` stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="cloud commands", no_args_is_help=True)

_DEFAULT_DB = "sqlite:///aftercare-cloud.db"
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="sqlite:///path or postgresql://... (default: AFTERCARE_DB_URL)"),
]


def _db_url(db: str | None) -> str:
    return db or os.environ.get("AFTERCARE_DB_URL") or _DEFAULT_DB


def _session(url: str) -> Session:
    import logging

    from cloud_api.db import make_engine, make_sessionmaker, run_migrations

    # Alembic's per-step INFO lines would bury the command's own output.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    run_migrations(url)
    return make_sessionmaker(make_engine(url))()


def _fail(message: str) -> None:
    typer.echo(f"aftercare cloud: {message}", err=True)
    raise typer.Exit(2)


@app.command("serve")
def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    config: Annotated[Path | None, typer.Option(help="TOML settings file ([cloud] table)")] = None,
    demo: Annotated[bool, typer.Option(help="demo mode: allows the default secret")] = False,
) -> None:
    """Run the cloud API (migrates the database to the latest schema first)."""
    import uvicorn
    from pydantic import ValidationError

    from cloud_api.app import create_app
    from cloud_api.db import run_migrations
    from cloud_api.settings import CloudSettings, InsecureSettings

    overrides: dict[str, Any] = {"db_url": _db_url(db)}
    if config is not None:
        overrides["toml_file"] = config
    if demo:
        overrides["mode"] = "demo"
    try:
        settings = CloudSettings(**overrides)
    except (ValidationError, InsecureSettings) as exc:
        _fail(str(exc))
        return
    run_migrations(settings.db_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command("seed")
def seed_command(
    demo: Annotated[
        bool, typer.Option("--demo", help="fill a fresh database with the demo registry")
    ] = False,
    db: DbOption = None,
    devices_json: Annotated[
        Path | None,
        typer.Option(
            help='JSON array of devices to register: [{"id", "kind", "model"?, "home_id"?, ...}]'
        ),
    ] = None,
) -> None:
    """Seed the demo registry and print {"gateway", "staff", "devices"} as JSON."""
    from aftercare.catalog import default_catalog
    from aftercare.clock import SystemClock
    from cloud_api.exceptions import CloudError
    from cloud_api.services.seed import seed_demo

    if not demo:
        _fail("only --demo seeding exists; use `aftercare cloud import` for real data")
    devices = json.loads(devices_json.read_text(encoding="utf-8")) if devices_json else None
    with _session(_db_url(db)) as session:
        try:
            out = seed_demo(
                session=session, clock=SystemClock(), catalog=default_catalog(), devices=devices
            )
        except CloudError as exc:
            _fail(f"seed failed ({exc.detail}); seed needs a fresh database")
            return
    typer.echo(json.dumps(out, ensure_ascii=False))


def _parse_pairs(pairs: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            _fail(f"expected KEY=VALUE, got {pair!r}")
        data[key] = value
    return data


@app.command("create")
def create_command(
    entity: Annotated[
        str,
        typer.Argument(
            help="customers, homes, devices, gateways, stations, warehouses, parts, stock, staff"
        ),
    ],
    fields: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE ... (lists as a;b;c)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Create one registry entity; prints it as JSON (a gateway's token is shown once)."""
    _import(entity, [_parse_pairs(fields or [])], db, "command line")


@app.command("import")
def import_command(
    entity: Annotated[str, typer.Argument(help="the entity the file holds")],
    file: Annotated[Path, typer.Argument(help=".csv (header line) or .json (array of objects)")],
    db: DbOption = None,
) -> None:
    """Import a CSV or JSON file of one registry entity, all rows or none."""
    from cloud_api.services.registry import parse_file

    _import(entity, parse_file(file.name, file.read_text(encoding="utf-8")), db, str(file))


def _import(entity: str, rows: list[dict[str, Any]], db: str | None, source: str) -> None:
    from aftercare.clock import SystemClock
    from cloud_api.exceptions import CloudError
    from cloud_api.services.registry import ENTITIES, import_rows

    if entity not in ENTITIES:
        _fail(f"unknown entity {entity!r}; one of {', '.join(ENTITIES)}")
    with _session(_db_url(db)) as session:
        try:
            created = import_rows(
                session=session, entity=entity, rows=rows, now=SystemClock().now(), source=source
            )
            session.commit()
        except CloudError as exc:
            session.rollback()
            _fail(exc.detail)
            return
    for row in created:
        row.pop("password", None)
        typer.echo(json.dumps(row, ensure_ascii=False, default=str))


@app.command("revoke-gateway")
def revoke_gateway_command(gateway_id: str, db: DbOption = None) -> None:
    """Revoke a gateway's token."""
    from aftercare.clock import SystemClock
    from cloud_api.exceptions import CloudError
    from cloud_api.services.registry import revoke_gateway

    with _session(_db_url(db)) as session:
        try:
            revoke_gateway(session=session, gateway_id=gateway_id, now=SystemClock().now())
            session.commit()
        except CloudError as exc:
            _fail(exc.detail)
    typer.echo(f"gateway {gateway_id} revoked")


@app.command("migrate")
def migrate_command(db: DbOption = None) -> None:
    """Upgrade the database schema to the latest revision."""
    from cloud_api.db import run_migrations

    run_migrations(_db_url(db))
    typer.echo("database at the latest schema")
