"""A real cloud app (migrated SQLite, demo registry) served by uvicorn for the page tests."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from aftercare.catalog import default_catalog
from aftercare.clock import ManualClock
from cloud_api.app import create_app
from cloud_api.db import make_engine, make_sessionmaker, run_migrations
from cloud_api.pages.templating import DISPLAY_TZ
from cloud_api.services.seed import seed_demo
from cloud_api.settings import CloudSettings
from tests.support.http_server import serve_in_thread

# 10:00 in Shanghai on a Monday: a working morning for the stations.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class SteadyClock(ManualClock):
    """Time moves only when a test moves it.

    ``ManualClock.sleep`` advances time, which suits one sleeper under test but lets the
    app's background workers (the notice outbox loop) race the clock forward on a live
    server; here sleepers really wait, briefly, and the time stays where the test put it.
    """

    async def sleep(self, seconds: float) -> None:
        """Wait a little in real time without moving the clock."""
        await asyncio.sleep(min(max(seconds, 0.0), 0.2))


@dataclass
class Cloud:
    """A running cloud: its URL, app, clock and the demo registry's credentials."""

    base: str
    app: FastAPI
    clock: SteadyClock
    seed: dict[str, Any]
    passwords: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)
    _keys: int = 0

    def client(self, **kwargs: Any) -> httpx.Client:
        """A client on this cloud, closed when the test ends."""
        client = httpx.Client(base_url=self.base, follow_redirects=False, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def staff(self, username: str) -> httpx.Client:
        """A browser-like client signed in as ``username`` (the seed's role names)."""
        client = self.client()
        r = client.post(
            "/staff/login", data={"username": username, "password": self.passwords[username]}
        )
        assert r.status_code == 303, r.text
        return client

    def raise_ticket(
        self,
        *,
        device: int = 0,
        fault: str = "AC_FILTER_CLOGGED",
        severity: str = "medium",
        evidence: dict[str, Any] | None = None,
        predicted_days: float | None = 9,
    ) -> dict[str, Any]:
        """POST /v1/tickets as the demo gateway (Contract 4), as the real gateway does."""
        self._keys += 1
        now = self.clock.now()
        body: dict[str, Any] = {
            "device_id": self.seed["devices"][device]["id"],
            "fault_code": fault,
            "detected_at": (now - timedelta(minutes=5)).isoformat(),
            "severity": severity,
            "evidence": evidence if evidence is not None else drift_evidence(now),
        }
        if predicted_days is not None:
            body["predicted_failure_at"] = (now + timedelta(days=predicted_days)).isoformat()
        r = self.client().post(
            "/v1/tickets",
            json=body,
            headers={
                "Authorization": f"Bearer {self.seed['gateway']['token']}",
                "Idempotency-Key": f"test-{self._keys}",
            },
            timeout=30,
        )
        assert r.status_code == 201, r.text
        ticket: dict[str, Any] = r.json()
        return ticket


def send_event(client: httpx.Client, ticket_id: str, data: dict[str, str]) -> None:
    """Submit an action form on the ticket page, as a signed-in browser does."""
    page = client.get(f"/staff/tickets/{ticket_id}").text
    r = client.post(f"/staff/tickets/{ticket_id}/events", data={"csrf": csrf_of(page), **data})
    assert r.status_code == 303, r.text
    assert "error=" not in r.headers["location"], r.headers["location"]


def local_input(ts: datetime) -> str:
    """A ``datetime-local`` form value in the stations' time zone."""
    return ts.astimezone(DISPLAY_TZ).strftime("%Y-%m-%dT%H:%M")


def serve_ticket(
    cloud: Cloud,
    *,
    device: int,
    fault: str,
    booked_after: timedelta = timedelta(minutes=20),
    satisfaction: int = 5,
) -> str:
    """One ticket all the way to its follow-up through the pages, on the test clock."""
    agent, engineer = cloud.staff("agent"), cloud.staff("engineer")
    ticket = cloud.raise_ticket(device=device, fault=fault)
    tid = str(ticket["id"])
    if ticket.get("quote_status") == "pending":
        send_event(agent, tid, {"type": "quote_accepted"})
    if ticket["station_id"] != "st-pudong":
        # The demo engineer works for Pudong; hand the job over as a manager would.
        with cloud.app.state.sessions() as session:
            from cloud_api.models.tickets import Ticket

            row = session.get(Ticket, tid)
            assert row is not None
            row.station_id = "st-pudong"
            session.commit()
    cloud.clock.advance(booked_after.total_seconds())
    slot = cloud.clock.now() + timedelta(hours=2)
    send_event(
        agent,
        tid,
        {
            "type": "appointment_booked",
            "slot_start": local_input(slot),
            "slot_end": local_input(slot + timedelta(hours=2)),
        },
    )
    cloud.clock.set(slot)
    send_event(engineer, tid, {"type": "engineer_departed"})
    cloud.clock.advance(40 * 60)
    send_event(engineer, tid, {"type": "repair_started"})
    cloud.clock.advance(50 * 60)
    parts = ", ".join(f"{p['sku']}×{p['qty']}" for p in ticket.get("reservations", []))
    send_event(engineer, tid, {"type": "completed", "parts_used": parts, "old_parts_kept": ""})
    cloud.clock.advance(20 * 3600)
    send_event(agent, tid, {"type": "follow_up", "satisfaction": str(satisfaction), "comment": ""})
    return tid


def drift_evidence(now: datetime) -> dict[str, Any]:
    """Evidence in the shape the gateway's context-drift engine writes."""
    days = [now - timedelta(days=13 - d) for d in range(14)]
    return {
        "detector": "context_drift",
        "threshold": 3.0,
        "match_score": 0.91,
        "drift": {"supply_delta_c": -4.2},
        "onset_estimate": days[6].isoformat(),
        "trend": {
            "feature": "supply_delta_c",
            "method": "linear",
            "slope_per_day": 0.4,
            "failure_level": 8.0,
        },
        "series": {
            "feature": "supply_delta_c",
            "points": [[d.isoformat(), round(-10.0 - 0.3 * i, 2)] for i, d in enumerate(days)],
        },
    }


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = _CSRF.search(html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A migrated database with the demo registry, built once and copied per test."""
    path = tmp_path_factory.mktemp("cloud-template") / "cloud.db"
    url = f"sqlite:///{path}"
    run_migrations(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        seed = seed_demo(session=session, clock=ManualClock(START), catalog=default_catalog())
    engine.dispose()
    return path, seed


@pytest.fixture
def clock_start() -> datetime:
    """When the test's clock starts (a module may start it earlier to build a history)."""
    return START


@pytest.fixture
def cloud(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, Any]], clock_start: datetime
) -> Iterator[Cloud]:
    template, seed = seeded_db
    db = tmp_path / "cloud.db"
    shutil.copyfile(template, db)
    clock = SteadyClock(clock_start)
    settings = CloudSettings(db_url=f"sqlite:///{db}", mode="test", scheduler_enabled=False)
    app = create_app(settings, clock=clock)
    passwords = {s["username"]: s["password"] for s in seed["staff"]}
    with serve_in_thread(app) as base:
        running = Cloud(base=base, app=app, clock=clock, seed=seed, passwords=passwords)
        yield running
        for client in running.clients:
            client.close()
    app.state.engine.dispose()
