"""Live publishing against a real Mosquitto: retained status, telemetry, last will, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiomqtt
import orjson
import pytest

from aftercare.catalog import default_catalog
from aftercare.clock import SimulatedClock
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.live import parse_broker_url, run_live
from firmware_sim.spec import DeviceSpec, WireFormat, fault_plan
from firmware_sim.wire import Artefacts
from tests.support.mosquitto import Broker

pytestmark = pytest.mark.integration
START = datetime(2026, 7, 1, tzinfo=UTC)


@dataclass
class Seen:
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)

    def on(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in self.messages if t == topic]


@contextlib.asynccontextmanager
async def subscribed(broker: Broker, *filters: str) -> AsyncIterator[Seen]:
    seen = Seen()
    ready = asyncio.Event()

    async def listen() -> None:
        while True:
            try:
                async with aiomqtt.Client(broker.host, broker.port, timeout=5) as client:
                    for f in filters:
                        await client.subscribe(f, qos=1)
                    ready.set()
                    async for message in client.messages:
                        payload = message.payload
                        assert isinstance(payload, bytes)
                        seen.messages.append((str(message.topic), payload, message.retain))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    task = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _fleet(formats: list[WireFormat], days: float = 1.0) -> Fleet:
    catalog = default_catalog()
    kinds = ["air_conditioner", "refrigerator", "water_heater", "water_purifier"]
    devices = []
    for i, (kind, fmt) in enumerate(zip(kinds, formats, strict=False), start=1):
        model = catalog.models_for(kind)[0]
        fault = fault_plan("AC_FILTER_CLOGGED", START, 10) if kind == "air_conditioner" else None
        devices.append(
            DeviceSpec(
                device_id=f"live-{i:06d}",
                kind=kind,
                home_id="h-live01",
                model=model.model,
                fw=model.firmware[0],
                fault=fault,
                wire_format=fmt,
                index=i,
            )
        )
    return Fleet(
        FleetSpec(tuple(devices), start=START, days=days, seed=3, artefacts=Artefacts.none())
    )


def test_parse_broker_url_accepts_mqtt_urls() -> None:
    assert parse_broker_url("mqtt://127.0.0.1:1999") == ("127.0.0.1", 1999)
    assert parse_broker_url("localhost") == ("localhost", 1883)
    with pytest.raises(ValueError, match="unsupported"):
        parse_broker_url("http://x")


async def test_live_run_publishes_status_and_every_due_message_in_time_order(
    fresh_mosquitto: Broker,
) -> None:
    fleet = _fleet([WireFormat.NATIVE] * 3)
    async with subscribed(fresh_mosquitto, "aftercare/#") as seen:
        clock = SimulatedClock(START, speed=40_000)
        stats = await run_live(fleet, fresh_mosquitto.url, clock, client_id_prefix="t-live-")
        await asyncio.sleep(0.5)
    assert stats.published == stats.due == 3 * 288
    assert stats.dropped == 0
    for device in fleet.devices:
        status = seen.on(f"aftercare/h-live01/{device.device_id}/status")
        assert status[0] == b"online"
        assert status[-1] == b"offline"
        telemetry = seen.on(f"aftercare/h-live01/{device.device_id}/telemetry")
        assert len(telemetry) == 288
        stamps = [orjson.loads(p)["ts"] for p in telemetry]
        assert stamps == sorted(stamps)
        seqs = [orjson.loads(p)["seq"] for p in telemetry]
        assert seqs == sorted(seqs)


async def test_foreign_format_devices_publish_their_own_topics(fresh_mosquitto: Broker) -> None:
    fleet = _fleet([WireFormat.ZIGBEE2MQTT, WireFormat.TASMOTA, WireFormat.SHELLY], days=0.1)
    async with subscribed(fresh_mosquitto, "#") as seen:
        await run_live(fleet, fresh_mosquitto.url, SimulatedClock(START, speed=20_000))
        await asyncio.sleep(0.5)
    topics = {t for t, _, _ in seen.messages}
    assert "zigbee2mqtt/live-000001" in topics
    assert "zigbee2mqtt/bridge/devices" in topics
    assert b'{"state":"online"}' in seen.on("zigbee2mqtt/live-000001/availability")
    assert {"tele/live-000002/SENSOR", "tele/live-000002/STATE"} <= topics
    assert seen.on("tele/live-000002/LWT")[0] == b"Online"
    assert "live-000003/events/rpc" in topics
    assert seen.on("live-000003/online")[0] == b"true"


async def test_the_broker_publishes_the_last_will_when_the_simulator_dies(
    fresh_mosquitto: Broker,
) -> None:
    async with subscribed(fresh_mosquitto, "aftercare/+/+/status") as seen:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from aftercare.cli import main; main()",
            *("sim", "run", "--broker", fresh_mosquitto.url, "--devices", "2"),
            *("--speed", "1", "--client-id-prefix", "will-"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                if sum(p == b"online" for _, p, _ in seen.messages) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert sum(p == b"online" for _, p, _ in seen.messages) >= 2
            proc.kill()
            for _ in range(200):
                if sum(p == b"offline" for _, p, _ in seen.messages) >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            if proc.returncode is None:
                proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
    offline_topics = {t for t, p, _ in seen.messages if p == b"offline"}
    assert len(offline_topics) == 2


async def test_live_run_reconnects_after_a_broker_restart_and_loses_nothing(
    fresh_mosquitto: Broker,
) -> None:
    fleet = _fleet([WireFormat.NATIVE] * 2, days=2.0)
    clock = SimulatedClock(START, speed=40_000)  # 2 days in ~4.3 s
    run = asyncio.create_task(run_live(fleet, fresh_mosquitto.url, clock, keepalive=5))
    await asyncio.sleep(1.5)
    await asyncio.to_thread(fresh_mosquitto.restart)
    async with subscribed(fresh_mosquitto, "aftercare/#") as seen:
        stats = await asyncio.wait_for(run, 60)
        await asyncio.sleep(0.5)
    assert stats.reconnects >= 1
    assert stats.published == stats.due == 2 * 576
    late = [orjson.loads(p)["ts"] for t, p, _ in seen.messages if t.endswith("/telemetry")]
    assert late, "nothing arrived after the restart"
    assert max(late) >= (START + timedelta(days=1.9)).isoformat().replace("+00:00", "Z")
    for device in fleet.devices:
        assert seen.on(f"aftercare/h-live01/{device.device_id}/status")[-1] == b"offline"
