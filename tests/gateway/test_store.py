"""Telemetry reaches a real InfluxDB-API server (VictoriaMetrics, Debian package) and back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from device_adapters import Telemetry
from gateway.metrics import GatewayMetrics
from gateway.settings import StoreSettings
from gateway.store import TelemetryStore
from tests.support.ports import free_port
from tests.support.victoria import running_victoria

pytestmark = pytest.mark.integration


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[str]:
    with running_victoria(tmp_path / "vm", free_port()) as url:
        yield url


async def exported(base: str, device: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        await client.get("/internal/force_flush")
        response = await client.get(
            "/api/v1/export", params={"match[]": f'{{device_id="{device}"}}'}
        )
        return response.text


def report(i: int) -> Telemetry:
    return Telemetry(
        device_id="ac-000001",
        ts=datetime(2026, 11, 23, 8, 0, i, tzinfo=UTC),
        metrics={"compressor_current_a": 4.0 + i},
        home_id="h-1",
        kind="air_conditioner",
    )


async def test_readings_written_through_influxdb_client_are_read_back(victoria: str) -> None:
    metrics = GatewayMetrics()
    store = TelemetryStore(
        StoreSettings(enabled=True, url=victoria, batch_size=5, flush_interval_s=0.1), metrics
    )
    stop = asyncio.Event()
    task = asyncio.create_task(store.run(stop))
    store.offer([report(i) for i in range(12)])
    stop.set()  # shutdown flushes what the store holds
    await task
    assert store.buffered == 0
    export = ""
    async with httpx.AsyncClient(base_url=victoria) as client:
        for _ in range(100):
            await client.get("/internal/force_flush")
            export = (
                await client.get("/api/v1/export", params={"match[]": '{device_id="ac-000001"}'})
            ).text
            if export:
                break
            await asyncio.sleep(0.1)
    assert "telemetry_compressor_current_a" in export
    assert '"values":[4,5,6,7,8,9,10,11,12,13,14,15]' in export.replace(".0", "")


async def test_a_dead_store_never_blocks_and_drops_beyond_its_buffer_counted() -> None:
    metrics = GatewayMetrics()
    store = TelemetryStore(
        StoreSettings(
            enabled=True,
            url=f"http://127.0.0.1:{free_port()}",
            max_buffer=10,
            batch_size=5,
            flush_interval_s=0.05,
            backoff_min_s=0.05,
            backoff_max_s=0.1,
            shutdown_flush_s=0.5,
        ),
        metrics,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(store.run(stop))
    store.offer([report(i) for i in range(25)])
    await asyncio.sleep(0.5)
    assert store.buffered == 10
    assert store.healthy is False
    dropped = metrics.registry.get_sample_value(
        "aftercare_store_points_total", {"result": "dropped"}
    )
    assert dropped == 15
    stop.set()
    await asyncio.wait_for(task, 20)


def healthy(store: TelemetryStore) -> bool | None:
    """Read through a call: the store's state changes behind the test's back."""
    return store.healthy


async def test_points_held_while_the_store_was_down_are_written_when_it_comes_up(
    tmp_path: Path,
) -> None:
    port = free_port()
    metrics = GatewayMetrics()
    settings = StoreSettings(
        enabled=True,
        url=f"http://127.0.0.1:{port}",
        batch_size=4,
        flush_interval_s=0.05,
        backoff_min_s=0.1,
        backoff_max_s=0.3,
    )
    store = TelemetryStore(settings, metrics)
    stop = asyncio.Event()
    task = asyncio.create_task(store.run(stop))
    store.offer([report(i) for i in range(10)])
    await asyncio.sleep(0.5)
    assert healthy(store) is False
    assert store.buffered == 10
    with running_victoria(tmp_path / "vm", port) as url:
        for _ in range(100):
            if store.buffered == 0 and healthy(store):
                break
            await asyncio.sleep(0.1)
        assert store.buffered == 0
        text = ""
        for _ in range(50):
            text = await exported(url, "ac-000001")
            if text:
                break
            await asyncio.sleep(0.1)
        assert '"values":[4,5,6,7,8,9,10,11,12,13]' in text.replace(".0", "")
        stop.set()
        await asyncio.wait_for(task, 20)


def test_the_cached_encoder_writes_exactly_what_line_of_writes() -> None:
    from gateway.store import LineEncoder, line_of

    encoder = LineEncoder(max_identities=2)  # small: the cache is also cleared and refilled
    reports = [
        Telemetry(
            device_id=device,
            ts=datetime(2026, 11, 23, 8, 0, i, 250_000, tzinfo=UTC),
            metrics={"indoor temp,c": 20.5 + i, "compressor_current_a": 4.0, "x=y": -1.0},
            home_id=home,
            kind="air_conditioner",
            model=model,
            source="native",
        )
        for i in range(3)
        for device, home, model in (
            ("ac-000001", "h-1", "KFR-35GW"),
            ("ac 2,=x", None, "model with spaces"),
            ("ac-000003", "h,3", None),
        )
    ]
    lines = [encoder.encode(r) for r in reports]
    assert lines == [line_of(r) for r in reports]
    assert r"device_id=ac\ 2\,\=x" in str(lines[1])
    assert r"indoor\ temp\,c=20.5" in str(lines[0])
    empty = Telemetry(device_id="ac-1", ts=reports[0].ts, metrics={})
    assert encoder.encode(empty) is None
