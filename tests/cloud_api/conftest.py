"""Cloud test fixtures: every test runs on SQLite and on PostgreSQL (marker ``postgres``).

A seeded template database is built once per backend and session (argon2 hashing and the
seed are the slow part); each test gets a copy: a file copy on SQLite, ``CREATE DATABASE
... TEMPLATE`` on PostgreSQL. So no state leaks between tests and no test pays the seed.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aftercare.catalog import default_catalog
from aftercare.clock import ManualClock
from cloud_api.app import create_app
from cloud_api.auth import issue_staff_token
from cloud_api.db import make_engine
from cloud_api.models import Base
from cloud_api.services.seed import seed_demo
from cloud_api.settings import CloudSettings
from tests.cloud_api.factories import DEVICES, T0, intake_body
from tests.support.http_server import serve_in_thread
from tests.support.postgres import PostgresCluster, running_postgres

SECRET = "test-secret-for-cloud-tests"


@dataclass(frozen=True, slots=True)
class Template:
    """A seeded database to copy, and what the seed printed."""

    backend: str
    location: str
    seed: dict[str, Any]


def _seed(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        with Session(engine, expire_on_commit=False) as session:
            return seed_demo(
                session=session, clock=ManualClock(T0), catalog=default_catalog(), devices=DEVICES
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster for the session."""
    with running_postgres() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("cloud-template") / "template.db"
    return Template("sqlite", str(path), _seed(f"sqlite:///{path}"))


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PostgresCluster) -> Template:
    url = pg_cluster.create_database("tmpl")
    return Template("postgres", url.rsplit("/", 1)[1], _seed(url))


_COUNTER = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """A fresh seeded database: ``(url, seed output)``."""
    if request.param == "sqlite":
        template: Template = request.getfixturevalue("sqlite_template")
        target = tmp_path / f"cloud-{next(_COUNTER)}.db"
        shutil.copy(template.location, target)
        return f"sqlite:///{target}", template.seed
    template = request.getfixturevalue("pg_template")
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        f"host={cluster.host} port={cluster.port} user={cluster.user} dbname=postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.location}"')
    return cluster.url(name), template.seed


@dataclass
class Cloud:
    """A running cloud API on a fresh seeded database, with helpers."""

    url: str
    http: httpx.Client
    clock: ManualClock
    engine: Engine
    seed: dict[str, Any]
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    _keys: Iterator[int] = field(default_factory=itertools.count)

    @property
    def gateway(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seed['gateway']['token']}"}

    def staff(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def session(self) -> Session:
        session: Session = self.app.state.sessions()
        return session

    def intake(
        self,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        body = body if body is not None else intake_body(**kw)
        h = dict(headers if headers is not None else self.gateway)
        h["Idempotency-Key"] = key or f"key-{next(self._keys)}"
        return self.http.post("/v1/tickets", json=body, headers=h)

    def create(self, **kw: Any) -> dict[str, Any]:
        r = self.intake(**kw)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    def event(
        self, ticket_id: str, type: str, role: str = "admin", **fields: Any
    ) -> httpx.Response:
        return self.http.post(
            f"/v1/tickets/{ticket_id}/events",
            json={"type": type, **fields},
            headers=self.staff(role),
        )

    def ok_event(
        self, ticket_id: str, type: str, role: str = "admin", **fields: Any
    ) -> dict[str, Any]:
        r = self.event(ticket_id, type, role, **fields)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def ticket(self, ticket_id: str, role: str = "admin") -> dict[str, Any]:
        r = self.http.get(f"/v1/tickets/{ticket_id}", headers=self.staff(role))
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def sql(self, statement: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []


def _settings(url: str, **overrides: Any) -> CloudSettings:
    values: dict[str, Any] = {
        "db_url": url,
        "mode": "test",
        "secret_key": SECRET,
        "scheduler_enabled": False,
        "notify_worker_enabled": False,
        "gateway_rate_burst": 10_000,
        "gateway_rate_per_s": 10_000.0,
    }
    values.update(overrides)
    return CloudSettings(**values)


def start_cloud(
    url: str, seed: dict[str, Any], *, clock: ManualClock | None = None, **overrides: Any
) -> Iterator[Cloud]:
    """Serve the app on ``url`` in a real uvicorn and yield the harness."""
    clock = clock or ManualClock(T0)
    settings = _settings(url, **overrides)
    engine = make_engine(url)
    app = create_app(settings, clock=clock, engine=engine)
    tokens = {}
    with app.state.sessions() as session:
        from sqlalchemy import select

        from cloud_api.models.registry import StaffUser

        for user in session.scalars(select(StaffUser)):
            tokens[user.role] = issue_staff_token(
                secret=SECRET,
                user_id=user.id,
                role=user.role,
                station_id=user.station_id,
                now=T0,
                ttl_s=30 * 86400,
            )
    try:
        with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            yield Cloud(
                url=base, http=http, clock=clock, engine=engine, seed=seed, app=app, tokens=tokens
            )
    finally:
        engine.dispose()


@pytest.fixture
def cloud(database: tuple[str, dict[str, Any]]) -> Iterator[Cloud]:
    """The cloud API on a fresh seeded database (SQLite and PostgreSQL)."""
    yield from start_cloud(*database)
