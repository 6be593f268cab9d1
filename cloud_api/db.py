"""Engines, sessions and migrations for SQLite (WAL) and PostgreSQL (psycopg 3).

SQLite has one writer. Each process talks to a SQLite file through one pooled connection:
requests queue for it on the pool's condition variable, in order, instead of racing for
the file lock through SQLite's busy handler, which sleeps in growing steps (up to 100 ms)
and turned a queue of 32 writers into multi-second tails here. Transactions still start
with ``BEGIN IMMEDIATE`` so that several processes on one file (CLI and server) wait
for each other through ``busy_timeout`` rather than failing at once with "database is
locked" when a deferred transaction tries to upgrade to a write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["MIGRATIONS_DIR", "make_engine", "make_sessionmaker", "normalise_url", "run_migrations"]

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
_BUSY_TIMEOUT_MS: Final = 30_000


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url`` with the per-backend settings described in the module doc."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:  # noqa: ANN401 — DB-API conn
        # The driver's own transaction handling is off so BEGIN IMMEDIATE below is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built after)."""
    return sessionmaker(engine, expire_on_commit=False)


def run_migrations(url: str) -> None:
    """``alembic upgrade head`` on ``url`` (run at ``serve`` and ``seed`` start)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["db_url"] = normalise_url(url)
    command.upgrade(cfg, "head")


def aggregate_time(value: object) -> datetime:
    """An aggregate's timestamp (``min``/``max``) as an aware UTC datetime.

    Aggregates bypass the column type on SQLite, which hands back ISO text or a naive
    datetime; PostgreSQL hands back an aware one.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
