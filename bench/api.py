"""Ticket intake through the full path against a bare insert, on SQLite and PostgreSQL.

Method (per backend, one run): a fresh database is migrated and seeded with N devices;
a real uvicorn (one worker, in a child process) serves the cloud app with one extra route
mounted only here, ``POST /bench/insert``, which inserts the body into a table and
commits, nothing else. A load generator (asyncio + httpx, ``--concurrency`` requests in
flight) first sends N bare inserts, then N intakes, each for a different device so every
intake creates a ticket: gateway token auth and rate limit, ``Idempotency-Key`` claim,
device ownership, dedup look-ups, warranty decision, part reservation, dispatch ranking,
SLA clocks, timeline and the customer notice queued, all in the request.

Prints intakes/s and p99 latency for both routes and the ratio intake/insert (target
>= 0.3 on both backends). The generator runs on the same 2 cores, so absolute numbers
are low; the ratio is the figure. Run: ``python bench/api.py --requests 2000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _bench_app(db_url: str) -> Any:  # noqa: ANN401 — a FastAPI app, imported lazily
    """The cloud app plus the bare insert route."""
    from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert

    from cloud_api.app import create_app
    from cloud_api.settings import CloudSettings

    settings = CloudSettings(
        db_url=db_url,
        mode="test",
        scheduler_enabled=False,
        notify_worker_enabled=False,
        gateway_rate_per_s=1e9,
        gateway_rate_burst=1_000_000_000,
        db_pool_size=16,
    )
    app = create_app(settings)
    meta = MetaData()
    table = Table(
        "bench_inserts", meta, Column("id", Integer, primary_key=True), Column("body", JSON)
    )
    meta.create_all(app.state.engine)

    sessions = app.state.sessions

    @app.post("/bench/insert", status_code=201, include_in_schema=False)
    def bare_insert(body: dict[str, Any]) -> dict[str, int]:
        with sessions() as session:
            new_id = session.execute(
                insert(table).values(body=body).returning(table.c.id)
            ).scalar_one()
            session.commit()
        return {"id": int(new_id)}

    return app


def _serve(db_url: str, port: int) -> None:
    import uvicorn

    uvicorn.run(_bench_app(db_url), host="127.0.0.1", port=port, log_level="warning")


def _prepare(db_url: str, devices: int) -> str:
    """Migrate and seed; returns the gateway token."""
    from aftercare.catalog import default_catalog
    from aftercare.clock import SystemClock
    from cloud_api.db import make_engine, make_sessionmaker, run_migrations
    from cloud_api.services.seed import seed_demo

    run_migrations(db_url)
    engine = make_engine(db_url)
    # Plenty of stock so every intake reserves (the reservation is part of the measure).
    fleet = [
        {
            "id": f"ac-b{n:05d}",
            "kind": "air_conditioner",
            "home_id": f"h-b{n % 500:03d}",
            "age_days": 60,
        }
        for n in range(devices)
    ]
    with make_sessionmaker(engine)() as session:
        out = seed_demo(
            session=session, clock=SystemClock(), catalog=default_catalog(), devices=fleet
        )
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE stock SET on_hand = 1000000"))
        conn.execute(text("UPDATE stations SET capacity = 1000000"))
    engine.dispose()
    return str(out["gateway"]["token"])


async def _load(
    base: str,
    n: int,
    concurrency: int,
    request: Callable[[int], tuple[str, dict[str, Any], dict[str, str]]],
) -> tuple[float, float, int]:
    """Send n requests, ``concurrency`` in flight; returns (req/s, p99 s, errors)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                path, body, headers = request(i)
                start = time.perf_counter()
                r = await client.post(path, json=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if r.status_code not in (200, 201):
                    errors += 1
                    if errors <= 3:
                        print(f"  error {r.status_code}: {r.text[:200]}", file=sys.stderr)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return n / elapsed, latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], errors


def _wait(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("bench server exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("bench server did not start")


def _run_backend(name: str, db_url: str, n: int, concurrency: int) -> dict[str, Any]:
    from tests.support.ports import free_port

    token = _prepare(db_url, n + 50)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", db_url, "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, proc)
        detected = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        auth = {"Authorization": f"Bearer {token}"}

        def bare(i: int) -> tuple[str, dict[str, Any], dict[str, str]]:
            return (
                "/bench/insert",
                {
                    "device_id": f"ac-b{i:05d}",
                    "fault_code": "AC_FILTER_CLOGGED",
                    "detected_at": detected,
                    "severity": "medium",
                },
                auth,
            )

        def intake(i: int) -> tuple[str, dict[str, Any], dict[str, str]]:
            body = {
                "device_id": f"ac-b{i:05d}",
                "fault_code": "AC_FILTER_CLOGGED",
                "detected_at": detected,
                "severity": "medium",
                "evidence": {"drift": 2.5},
            }
            return "/v1/tickets", body, {**auth, "Idempotency-Key": f"bench-{i}"}

        warm = min(50, n)
        asyncio.run(_load(base, warm, concurrency, lambda i: bare(i)))
        asyncio.run(_load(base, warm, concurrency, lambda i: intake(n + i)))
        insert_rate, insert_p99, insert_err = asyncio.run(_load(base, n, concurrency, bare))
        intake_rate, intake_p99, intake_err = asyncio.run(_load(base, n, concurrency, intake))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {
        "backend": name,
        "requests": n,
        "concurrency": concurrency,
        "insert_per_s": round(insert_rate, 1),
        "insert_p99_ms": round(insert_p99 * 1000, 1),
        "intake_per_s": round(intake_rate, 1),
        "intake_p99_ms": round(intake_p99 * 1000, 1),
        "ratio": round(intake_rate / insert_rate, 3),
        "errors": insert_err + intake_err,
    }
    print(
        f"{name:10s} bare insert {result['insert_per_s']:8.1f}/s "
        f"p99 {result['insert_p99_ms']:7.1f} ms | "
        f"full intake {result['intake_per_s']:8.1f}/s p99 {result['intake_p99_ms']:7.1f} ms | "
        f"ratio {result['ratio']:.3f} (target >= 0.3) errors {result['errors']}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print results as JSON lines too")
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port)
        return
    results = []
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            elif backend == "postgres":
                from tests.support.postgres import running_postgres

                cluster = stack.enter_context(running_postgres())
                url = cluster.create_database("bench")
            else:
                parser.error(f"unknown backend {backend}")
            results.append(_run_backend(backend, url, args.requests, args.concurrency))
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
