"""A small, real cloud for notice and KPI tests: migrated database, demo registry, services.

Tickets are made and moved through the real intake and flow services (no hand-written
rows), so the timelines the KPIs read are the ones production writes.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from aftercare.catalog import Catalog, Severity, default_catalog
from aftercare.clock import ManualClock
from cloud_api.db import make_engine, make_sessionmaker, run_migrations
from cloud_api.models.registry import Customer, Device, Home, Role, StaffUser
from cloud_api.models.tickets import ActorType, Ticket
from cloud_api.notify.config import NoticeConfig, RetryPolicy, install_notice_config
from cloud_api.notify.links import LinkSigner
from cloud_api.schemas.tickets import EventCreate
from cloud_api.services.actors import Actor
from cloud_api.services.flow import apply_event
from cloud_api.services.intake import IntakeRequest, IntakeResult, create_ticket
from cloud_api.services.seed import DEMO_GATEWAY_ID, seed_demo
from tests.support.postgres import PostgresCluster

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SECRET = "notice-test-secret-0123456789"


@dataclass
class World:
    """A migrated database with a registry, a manual clock and notice config."""

    engine: Engine
    sessions: sessionmaker[Session]
    clock: ManualClock
    catalog: Catalog
    config: NoticeConfig
    seeded: dict[str, Any]
    gateway: Actor = field(
        default_factory=lambda: Actor(type=ActorType.GATEWAY, id=DEMO_GATEWAY_ID)
    )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def staff(self, role: Role) -> Actor:
        with self.session() as s:
            user = s.scalars(select(StaffUser).where(StaffUser.username == role.value)).one()
            return Actor(type=ActorType.STAFF, id=user.id, role=role, station_id=user.station_id)

    def intake(
        self,
        device_id: str,
        fault_code: str,
        *,
        severity: Severity = Severity.MEDIUM,
        predicted_in: timedelta | None = None,
        actor: Actor | None = None,
    ) -> IntakeResult:
        now = self.clock.now()
        req = IntakeRequest(
            device_id=device_id,
            fault_code=fault_code,
            detected_at=now,
            severity=severity,
            predicted_failure_at=now + predicted_in if predicted_in else None,
        )
        with self.session() as s:
            result = create_ticket(
                session=s,
                actor=actor or self.gateway,
                req=req,
                catalog=self.catalog,
                clock=self.clock,
            )
            s.commit()
            return result

    def event(
        self, ticket_id: str, type: str, *, role: Role = Role.MANAGER, **fields: Any
    ) -> Ticket:
        actor = self.staff(role)
        with self.session() as s:
            ticket = s.get(Ticket, ticket_id)
            assert ticket is not None
            updated, _ = apply_event(
                session=s,
                ticket=ticket,
                actor=actor,
                event=EventCreate(type=type, **fields),
                clock=self.clock,
            )
            s.commit()
            return updated

    def set_customer(self, device_id: str, *, language: str, email: str | None) -> None:
        with self.session() as s:
            device = s.get(Device, device_id)
            assert device is not None
            home = s.get(Home, device.home_id)
            assert home is not None
            customer = s.get(Customer, home.customer_id)
            assert customer is not None
            customer.language, customer.email = language, email
            s.commit()

    def advance(self, **delta: float) -> datetime:
        return self.clock.advance(timedelta(**delta).total_seconds())


DEVICES: list[dict[str, Any]] = [
    # Under unit warranty (bought 60 days ago).
    {
        "id": "ac-new",
        "kind": "air_conditioner",
        "model": "KFR-35GW",
        "firmware": "2.3.1",
        "age_days": 60,
        "home_id": "h-a",
        "region": "shanghai-pudong",
    },
    # Out of warranty (900 days): the customer gets a quote.
    {
        "id": "ac-old",
        "kind": "air_conditioner",
        "model": "KFR-35GW",
        "firmware": "2.4.0",
        "age_days": 900,
        "home_id": "h-b",
        "region": "shanghai-pudong",
    },
    {
        "id": "fr-1",
        "kind": "refrigerator",
        "model": "BCD-470WP",
        "firmware": "1.8.2",
        "age_days": 100,
        "home_id": "h-c",
        "region": "shanghai-pudong",
    },
    {
        "id": "wm-1",
        "kind": "washing_machine",
        "age_days": 120,
        "home_id": "h-d",
        "region": "shanghai-pudong",
    },
]


def seed_database(db_url: str, *, devices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Migrate ``db_url`` and seed the demo registry at :data:`START`."""
    run_migrations(db_url)
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            return seed_demo(
                session=s,
                clock=ManualClock(START),
                catalog=default_catalog(),
                devices=devices if devices is not None else DEVICES,
            )
    finally:
        engine.dispose()


@dataclass(frozen=True)
class SqliteTemplate:
    """A migrated, seeded SQLite file that tests copy instead of seeding again.

    Seeding hashes five staff passwords with argon2 (about 3 s); a file copy takes
    milliseconds.
    """

    path: Path
    seeded: dict[str, Any]

    def copy_to(self, directory: Path) -> str:
        target = directory / "cloud.db"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


def make_sqlite_template(directory: Path) -> SqliteTemplate:
    path = directory / "template.db"
    seeded = seed_database(f"sqlite:///{path}")
    return SqliteTemplate(path, seeded)


def build_world(
    db_url: str,
    *,
    seeded: dict[str, Any] | None = None,
    devices: list[dict[str, Any]] | None = None,
    smtp_url: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    retry: RetryPolicy | None = None,
    config: NoticeConfig | None = None,
    start: datetime = START,
) -> World:
    """A world on ``db_url``; seeds it first unless ``seeded`` says it already is."""
    if seeded is None:
        seeded = seed_database(db_url, devices=devices)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    config = config or NoticeConfig(
        signer=LinkSigner(SECRET),
        public_base_url="http://cloud.test",
        smtp_url=smtp_url,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        retry=retry or RetryPolicy(max_attempts=3, base_s=60, cap_s=600, jitter=0.0),
    )
    install_notice_config(sessions, config)
    return World(engine, sessions, ManualClock(start), default_catalog(), config, seeded)


@dataclass(frozen=True)
class PostgresTemplate:
    """A seeded database that each test clones with ``CREATE DATABASE ... TEMPLATE``."""

    cluster: PostgresCluster
    name: str
    seeded: dict[str, Any]

    @classmethod
    def create(cls, cluster: PostgresCluster, prefix: str) -> PostgresTemplate:
        url = cluster.create_database(prefix)
        return cls(cluster, url.rsplit("/", 1)[1], seed_database(url))

    def clone(self) -> str:
        import psycopg

        target = f"{self.name}_{uuid.uuid4().hex[:10]}"
        c = self.cluster
        dsn = f"host={c.host} port={c.port} user={c.user} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{self.name}"')
        return self.cluster.url(target)
