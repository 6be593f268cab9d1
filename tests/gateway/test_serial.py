"""Serial ingest over real pseudo-terminals against ``aftercare sim serial``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from aftercare.clock import SystemClock
from device_adapters import build_adapter
from gateway.metrics import GatewayMetrics
from gateway.outbox import AsyncOutbox, Outbox
from gateway.pipeline import Pipeline
from gateway.processing import Processor
from gateway.serial_ingest import SerialPortIngest
from gateway.settings import SerialPortSettings
from tests.gateway.helpers import ThresholdDetector

pytestmark = pytest.mark.integration


async def start_sim(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from aftercare.cli import main; main()",
        "sim",
        "serial",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    path = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
    assert path.startswith("/dev/pts/")
    return proc, path


async def stop_sim(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
    await asyncio.wait_for(proc.wait(), 20)


def ingest_for(path: str, protocol: str, tmp_path: Path) -> tuple[SerialPortIngest, GatewayMetrics]:
    table: dict[str, Any] = {
        "devices": [{"source": path, "device_id": "ac-000009", "kind": "air_conditioner"}]
    }
    if protocol == "modbus_rtu":
        table["devices"][0]["unit"] = 1
    adapter = build_adapter(protocol, table)
    metrics = GatewayMetrics()
    pipeline = Pipeline([adapter], ThresholdDetector())
    outbox = AsyncOutbox(Outbox(tmp_path / "outbox.sqlite3"))
    processor = Processor(pipeline, metrics, outbox, None)
    settings = SerialPortSettings(
        path=path,
        protocol=protocol,
        poll_interval_s=0.1,
        heartbeat_s=0.2,
        reopen_min_s=0.05,
        reopen_max_s=0.2,
        response_timeout_s=0.3,
    )
    return SerialPortIngest(settings, adapter, processor, SystemClock()), metrics  # type: ignore[arg-type]


def count(metrics: GatewayMetrics, adapter: str, result: str) -> float:
    value = metrics.registry.get_sample_value(
        "aftercare_messages_total", {"source": "serial", "adapter": adapter, "result": result}
    )
    return value or 0.0


async def until(check: object, limit: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_modbus_polling_counts_crc_errors_and_keeps_reading(tmp_path: Path) -> None:
    proc, path = await start_sim(
        "--kind", "air_conditioner", "--protocol", "modbus", "--corrupt", "0.3", "--speed", "600"
    )
    ingest, metrics = ingest_for(path, "modbus_rtu", tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(ingest.run(stop))
    try:
        await until(lambda: count(metrics, "modbus_rtu", "ok") >= 10)
        await until(
            lambda: (
                count(metrics, "modbus_rtu", "crc") + count(metrics, "modbus_rtu", "framing") >= 1
            )
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await stop_sim(proc)


async def test_tuya_stream_survives_the_port_vanishing_and_coming_back(tmp_path: Path) -> None:
    # the gateway opens a stable name, as it would /dev/serial/by-id/...: the device comes
    # back on a new pty, as a re-plugged USB adapter comes back as a new ttyUSBn
    stable = tmp_path / "ttyAC"
    proc, path = await start_sim(
        "--kind", "air_conditioner", "--protocol", "tuya", "--corrupt", "0.2", "--speed", "600"
    )
    stable.symlink_to(path)
    ingest, metrics = ingest_for(str(stable), "tuya_mcu", tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(ingest.run(stop))
    try:
        await until(lambda: count(metrics, "tuya_mcu", "ok") >= 3)
        await until(
            lambda: count(metrics, "tuya_mcu", "crc") + count(metrics, "tuya_mcu", "framing") >= 1
        )
        await stop_sim(proc)  # the port vanishes
        stable.unlink()
        await until(lambda: not ingest.open)
        await asyncio.sleep(0.5)  # reopening fails meanwhile, and is retried
        assert not task.done()
        assert ingest.last_error is not None
        before = count(metrics, "tuya_mcu", "ok")
        proc, new_path = await start_sim(
            "--kind", "air_conditioner", "--protocol", "tuya", "--speed", "600"
        )
        stable.symlink_to(new_path)
        await until(lambda: ingest.opens >= 2 and count(metrics, "tuya_mcu", "ok") > before)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await stop_sim(proc)


async def scrape(port: int) -> tuple[dict[str, object], str]:
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        health = (await client.get("/healthz")).json()
        metrics = (await client.get("/metrics")).text
    return health, metrics


def sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


async def test_the_runtime_polls_modbus_from_its_configuration_through_a_lost_port(
    tmp_path: Path,
) -> None:
    from gateway.runtime import GatewayRuntime
    from gateway.settings import load_settings

    stable = tmp_path / "ttyRS485"
    proc, path = await start_sim(
        "--kind", "water_heater", "--protocol", "modbus", "--corrupt", "0.3", "--speed", "600"
    )
    stable.symlink_to(path)
    config = tmp_path / "gateway.toml"
    config.write_text(
        f"""
http_port = 0
data_dir = "{tmp_path / "data"}"
[mqtt]
enabled = false                # a serial-only hub
[adapters.modbus_rtu]
devices = [{{ source = "{stable}", device_id = "wh-000001", kind = "water_heater", unit = 1 }}]
[[serial]]
path = "{stable}"
protocol = "modbus_rtu"
poll_interval_s = 0.1
response_timeout_s = 0.3
reopen_min_s = 0.05
reopen_max_s = 0.2
""",
        encoding="utf-8",
    )
    ok = 'aftercare_messages_total{adapter="modbus_rtu",result="ok",source="serial"}'
    crc = 'aftercare_messages_total{adapter="modbus_rtu",result="crc",source="serial"}'
    framing = 'aftercare_messages_total{adapter="modbus_rtu",result="framing",source="serial"}'
    try:
        async with GatewayRuntime(load_settings(config), detector=ThresholdDetector()) as gw:
            [port] = gw.serial
            assert gw.mqtt is None
            await until(lambda: port.frames >= 10, limit=30)
            health, metrics = await scrape(gw.http_port)
            assert sample(metrics, ok) >= 10
            assert sample(metrics, crc) + sample(metrics, framing) >= 1  # --corrupt 0.3
            assert sample(metrics, "aftercare_readings_total") > 0
            assert health["status"] == "ok"
            [serial_health] = health["components"]["serial"]  # type: ignore[index]
            assert serial_health["ok"] is True
            assert serial_health["protocol"] == "modbus_rtu"

            await stop_sim(proc)  # the port vanishes
            stable.unlink()
            await until(lambda: not port.open)
            health, _ = await scrape(gw.http_port)
            assert health["status"] == "degraded"
            [serial_health] = health["components"]["serial"]  # type: ignore[index]
            assert serial_health["ok"] is False
            assert serial_health["last_error"]
            frames = port.frames

            proc, new_path = await start_sim(
                "--kind", "water_heater", "--protocol", "modbus", "--speed", "600"
            )
            stable.symlink_to(new_path)
            await until(lambda: port.opens >= 2 and port.frames >= frames + 5, limit=30)
            health, _ = await scrape(gw.http_port)
            assert health["status"] == "ok"
    finally:
        await stop_sim(proc)
