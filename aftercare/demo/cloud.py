"""The cloud API in-process: a migrated, seeded SQLite database behind uvicorn.

Used by the demo and the end-to-end tests: the same ``create_app`` as ``aftercare cloud
serve``, with the simulator's devices registered to one gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from aftercare.catalog import default_catalog
from aftercare.clock import Clock
from aftercare.demo.broker import free_port
from cloud_api.app import create_app
from cloud_api.db import make_engine, make_sessionmaker, run_migrations
from cloud_api.services.seed import seed_demo
from cloud_api.settings import CloudSettings

__all__ = ["CloudHandle", "running_cloud"]


@dataclass(frozen=True, slots=True)
class CloudHandle:
    """A running cloud and the credentials its seed printed."""

    url: str
    db_url: str
    gateway_id: str
    gateway_token: str
    staff: list[dict[str, str]]
    devices: list[dict[str, Any]]

    def staff_login(self, role: str) -> tuple[str, str]:
        """Username and password of the first seeded staff user with ``role``."""
        user = next(s for s in self.staff if s["role"] == role)
        return user["username"], user["password"]


def _prepare(db_url: str, devices: Sequence[dict[str, Any]], clock: Clock) -> dict[str, Any]:
    run_migrations(db_url)
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            return seed_demo(
                session=session, clock=clock, catalog=default_catalog(), devices=list(devices)
            )
    finally:
        engine.dispose()


@asynccontextmanager
async def running_cloud(
    workdir: Path,
    devices: Sequence[dict[str, Any]],
    *,
    clock: Clock,
    port: int | None = None,
) -> AsyncIterator[CloudHandle]:
    """Serve the cloud API on 127.0.0.1 with a fresh SQLite database in ``workdir``.

    Args:
        workdir: where ``cloud.db`` goes.
        devices: devices to register (``id``, ``kind``, ``model``, ``home_id``, ...).
        clock: the cloud's clock (SLA timers, timestamps).
        port: the port (a free one by default).
    """
    port = port or free_port()
    db_url = f"sqlite:///{workdir / 'cloud.db'}"
    summary = await asyncio.to_thread(_prepare, db_url, devices, clock)
    settings = CloudSettings(
        db_url=db_url, mode="demo", public_url=f"http://127.0.0.1:{port}", notify_poll_s=1.0
    )
    app = create_app(settings, clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="demo.cloud")
    while not server.started:
        if task.done():
            task.result()  # re-raises why the server could not start
            raise RuntimeError("the cloud API stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield CloudHandle(
            url=f"http://127.0.0.1:{port}",
            db_url=db_url,
            gateway_id=summary["gateway"]["id"],
            gateway_token=summary["gateway"]["token"],
            staff=summary["staff"],
            devices=summary["devices"],
        )
    finally:
        server.should_exit = True
        await task
        app.state.engine.dispose()
