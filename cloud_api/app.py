"""The app factory: ``create_app(settings) -> FastAPI``.

Nothing is built at import time: the engine, the session factory, the rate limiter and
the SLA job come from the settings (and an injected clock) passed in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from aftercare.catalog import Catalog, default_catalog
from aftercare.clock import Clock, SystemClock
from cloud_api.db import make_engine, make_sessionmaker
from cloud_api.limits import BodySizeLimit, RateLimiter
from cloud_api.problems import install_problem_handlers
from cloud_api.routes import auth, registry, tickets
from cloud_api.services.scheduler import run_forever
from cloud_api.settings import CloudSettings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

# Routers of the other cloud areas, included when their module is present.
_OPTIONAL_ROUTERS = (
    "cloud_api.routes.kpis",
    "cloud_api.routes.reports",
    "cloud_api.routes.customer",
)


def _operation_id(route: APIRoute) -> str:
    """Stable OpenAPI ids from tag + route name (the full-stack template's rule)."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(
    settings: CloudSettings,
    *,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    """Build the cloud API.

    Args:
        settings: the validated settings.
        clock: time source (defaults to the system clock).
        catalog: the catalog (defaults to the packaged one).
        engine: an existing engine (tests share one); else built from ``settings.db_url``.
    """
    clock = clock or SystemClock()
    engine = engine or make_engine(settings.db_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if settings.scheduler_enabled:
            tasks.append(
                asyncio.create_task(
                    run_forever(
                        sessions=app.state.sessions,
                        clock=clock,
                        max_sleep_s=settings.scheduler_max_sleep_s,
                    ),
                    name="cloud.sla",
                )
            )
        tasks.extend(
            asyncio.create_task(starter(app), name=getattr(starter, "__name__", "cloud.bg"))
            for starter in app.state.background
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="Aftercare cloud API",
        version="1",
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.catalog = catalog or default_catalog()
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.rate_limiter = RateLimiter(
        clock=clock, rate=settings.gateway_rate_per_s, burst=settings.gateway_rate_burst
    )
    # Other areas may append ``async def (app) -> None`` tasks to run in the lifespan.
    app.state.background = []
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for module in (auth, tickets, registry):
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    _install_optional(app, settings)
    return app


def _install_optional(app: FastAPI, settings: CloudSettings) -> None:
    """Notices, KPIs/reports, the customer page and the staff pages, when present."""
    notify = _module("cloud_api.notify")
    installer: Any = getattr(notify, "install_notices", None) if notify else None
    if callable(installer):
        installer(app)
    for name in _OPTIONAL_ROUTERS:
        module = _module(name)
        if module is not None and hasattr(module, "router"):
            app.include_router(module.router)
    pages = _module("cloud_api.pages.web")
    install_pages: Any = getattr(pages, "install_staff_pages", None) if pages else None
    if callable(install_pages):
        install_pages(
            app, secret=settings.secret_key, secure_cookies=settings.public_url.startswith("https")
        )


def _module(name: str) -> Any:  # noqa: ANN401 — an optional module, read by getattr
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
