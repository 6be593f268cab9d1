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

The two routes are measured in alternating rounds (``--rounds``, default 5: bare chunk,
intake chunk, bare chunk, ...), and each rate is its requests over the summed time of its
own chunks. On a shared machine the load of other processes changes within a minute;
measuring all bare inserts first and all intakes afterwards let that drift decide the
ratio (one run here: bare 104/s then 193/s with the same code). The server process's CPU
time per request (from ``/proc``, excluding the database server) is printed too: it does
not depend on what else runs on the machine.
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
from dataclasses import dataclass, field
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


@dataclass
class Phase:
    """What one route's chunks added up to."""

    requests: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Requests per second over the route's own chunks."""
        return self.requests / self.elapsed_s

    @property
    def p99_s(self) -> float:
        """99th percentile latency."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _chunk(
    phase: Phase,
    pid: int,
    base: str,
    indices: range,
    concurrency: int,
    request: Callable[[int], tuple[str, dict[str, Any], dict[str, str]]],
) -> None:
    cpu = _cpu_s(pid)
    started = time.perf_counter()
    latencies, errors = asyncio.run(_load(base, indices, concurrency, request))
    phase.elapsed_s += time.perf_counter() - started
    phase.cpu_s += _cpu_s(pid) - cpu
    phase.requests += len(indices)
    phase.errors += errors
    phase.latencies.extend(latencies)


async def _load(
    base: str,
    indices: range,
    concurrency: int,
    request: Callable[[int], tuple[str, dict[str, Any], dict[str, str]]],
) -> tuple[list[float], int]:
    """Send a request per index, ``concurrency`` in flight; returns (latencies s, errors)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(indices)
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

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


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


def _run_backend(name: str, db_url: str, n: int, concurrency: int, rounds: int) -> dict[str, Any]:
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
        asyncio.run(_load(base, range(warm), concurrency, bare))
        asyncio.run(_load(base, range(n, n + warm), concurrency, intake))
        bare_phase, intake_phase = Phase(), Phase()
        step = -(-n // rounds)
        for start in range(0, n, step):
            chunk = range(start, min(n, start + step))
            _chunk(bare_phase, proc.pid, base, chunk, concurrency, bare)
            _chunk(intake_phase, proc.pid, base, chunk, concurrency, intake)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return _report(name, n, concurrency, rounds, bare_phase, intake_phase)


def _report(
    name: str, n: int, concurrency: int, rounds: int, bare: Phase, intake: Phase
) -> dict[str, Any]:
    result = {
        "backend": name,
        "requests": n,
        "concurrency": concurrency,
        "rounds": rounds,
        "insert_per_s": round(bare.rate, 1),
        "insert_p99_ms": round(bare.p99_s * 1000, 1),
        "intake_per_s": round(intake.rate, 1),
        "intake_p99_ms": round(intake.p99_s * 1000, 1),
        "ratio": round(intake.rate / bare.rate, 3),
        "insert_cpu_ms": round(bare.cpu_s / bare.requests * 1000, 2),
        "intake_cpu_ms": round(intake.cpu_s / intake.requests * 1000, 2),
        "errors": bare.errors + intake.errors,
    }
    print(
        f"{name:10s} bare insert {result['insert_per_s']:8.1f}/s "
        f"p99 {result['insert_p99_ms']:7.1f} ms | "
        f"full intake {result['intake_per_s']:8.1f}/s p99 {result['intake_p99_ms']:7.1f} ms | "
        f"ratio {result['ratio']:.3f} (target >= 0.3) errors {result['errors']}\n"
        f"{'':10s} server CPU per request: bare {result['insert_cpu_ms']:.2f} ms, "
        f"intake {result['intake_cpu_ms']:.2f} ms"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating bare/intake chunks per backend"
    )
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
            results.append(_run_backend(backend, url, args.requests, args.concurrency, args.rounds))
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
