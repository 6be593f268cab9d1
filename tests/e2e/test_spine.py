"""The whole path on real parts: simulated air conditioners publish over a real Mosquitto,
the gateway detects a clogged filter, and the cloud (uvicorn, SQLite) holds one ticket
with the filter reserved, and none for the healthy twins.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aftercare.clock import SimulatedClock, SystemClock
from aftercare.demo.cloud import CloudHandle, running_cloud
from anomaly import FaultEngine
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.live import run_live
from firmware_sim.spec import DeviceSpec, fault_plan
from gateway.event_time import EventTimeDetector
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from tests.support.mosquitto import Broker

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

START = datetime(2026, 7, 1, tzinfo=UTC)
DAYS = 30
SPEED = 40_000.0  # 30 simulated days in about 65 s of wall time


def _fleet(run: str) -> Fleet:
    # the simulator draws a home's weather from the digits of its id: a fixed home keeps
    # the run reproducible (the run tag only keeps device ids apart on a shared broker)
    home = "h-e2e-spine"
    devices = tuple(
        DeviceSpec(
            device_id=f"ac-{run}-{i}",
            kind="air_conditioner",
            home_id=home,
            model="KFR-35GW",
            fw="2.3.1",
            index=i + 1,
            fault=(
                fault_plan("AC_FILTER_CLOGGED", START + timedelta(days=10), course_days=12)
                if i == 0
                else None
            ),
        )
        for i in range(3)
    )
    return Fleet(FleetSpec(devices=devices, start=START, days=DAYS, seed=11))


def _registry(fleet: Fleet) -> list[dict[str, Any]]:
    return [
        {
            "id": d.device_id,
            "kind": d.kind,
            "model": d.model,
            "home_id": d.home_id,
            "firmware": d.fw,
        }
        for d in fleet.devices
    ]


async def _staff_token(client: httpx.AsyncClient, cloud: CloudHandle) -> str:
    username, password = cloud.staff_login("manager")
    reply = await client.post("/v1/auth/token", data={"username": username, "password": password})
    reply.raise_for_status()
    token: str = reply.json()["access_token"]
    return token


async def _tickets(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    reply = await client.get(
        "/v1/tickets", params={"limit": 100}, headers={"Authorization": f"Bearer {token}"}
    )
    reply.raise_for_status()
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


async def _drained(gateway: GatewayRuntime, published: int, within_s: float) -> None:
    """Wait until the gateway has taken every published message and emptied its outbox."""
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        seen = sum(
            sample.value
            for metric in gateway.metrics.messages.collect()
            for sample in metric.samples
            if sample.name == "aftercare_messages_total"
        )
        if seen >= published and gateway.outbox.depth == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"gateway not drained: outbox depth {gateway.outbox.depth}")


async def test_clogged_filter_becomes_one_ticket_with_the_filter_reserved(
    mosquitto: Broker, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    fleet = _fleet(run)
    faulty, *twins = (d.device_id for d in fleet.devices)
    async with running_cloud(tmp_path, _registry(fleet), clock=SystemClock()) as cloud:
        settings = GatewaySettings(
            data_dir=tmp_path / "gateway",
            http_port=0,
            mqtt={"url": mosquitto.url, "client_id": f"e2e-gateway-{run}"},
            forwarder={"cloud_url": cloud.url, "token": cloud.gateway_token},
        )
        sim_clock = SimulatedClock(START, speed=SPEED)
        detector = EventTimeDetector(FaultEngine())
        async with GatewayRuntime(settings, detector=detector) as gateway:
            stats = await run_live(fleet, mosquitto.url, sim_clock, client_id_prefix=f"e2e-{run}-")
            assert stats.dropped == 0
            await _drained(gateway, stats.published, within_s=60)
        async with httpx.AsyncClient(base_url=cloud.url) as client:
            tickets = await _tickets(client, await _staff_token(client, cloud))

    mine = [t for t in tickets if t["device_id"] == faulty]
    assert [t["fault_code"] for t in mine] == ["AC_FILTER_CLOGGED"]
    ticket = mine[0]
    assert ticket["source"] == "gateway"
    assert ticket["occurrences"] >= 1
    assert [(r["sku"], r["qty"]) for r in ticket["reservations"]] == [("AC-FILTER", 1)]
    assert ticket["reservations"][0]["state"] not in ("released", "expired")
    failure_at = fleet.recording(faulty).failure_at
    assert failure_at is not None
    detected = datetime.fromisoformat(ticket["detected_at"])
    assert detected < datetime.fromtimestamp(failure_at, UTC), "the ticket came after the failure"
    assert not [t for t in tickets if t["device_id"] in twins], "a healthy twin got a ticket"
