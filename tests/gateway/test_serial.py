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
