"""The gateway as a separate process: ``kill -9`` mid-burst, SIGTERM flush.

The child runs the same :class:`GatewayRuntime` that ``aftercare gateway run`` runs, with
the same settings loader and signal handling, but with the trivial threshold detector of
:mod:`tests.gateway.helpers` so the set of expected tickets is exact (these tests are
about durability and delivery, not detection).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.gateway.helpers import RecordingCloud, message
from tests.support.http_server import serve_in_thread
from tests.support.mosquitto import Broker
from tests.support.ports import free_port, wait_for_port

pytestmark = pytest.mark.integration

CHILD = """
import asyncio, signal, sys
from pathlib import Path
from aftercare.logs import configure_logging
from gateway.runtime import GatewayRuntime
from gateway.settings import load_settings
from tests.gateway.helpers import ThresholdDetector

async def main():
    flags = dict(broker=sys.argv[1], cloud=sys.argv[2], token="secret-token",
                 data_dir=Path(sys.argv[3]), http_port=int(sys.argv[4]))
    runtime = GatewayRuntime(load_settings(None, flags), detector=ThresholdDetector())
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, runtime.stop.set)
    await runtime.run()

asyncio.run(main())
"""


@pytest.fixture
def cloud() -> Iterator[tuple[RecordingCloud, str]]:
    recording = RecordingCloud()
    with serve_in_thread(recording.app) as url:
        yield recording, url


def start_gateway(broker: Broker, cloud_url: str, data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, broker.url, cloud_url, str(data), str(port)],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    wait_for_port(port, timeout=20)
    return proc


def wait_until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def healthy_broker(port: int) -> bool:
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    except httpx.HTTPError:
        return False
    return bool(body["components"]["broker"]["ok"])


async def test_every_ticket_reaches_the_cloud_exactly_once_across_a_kill_9_mid_burst(
    fresh_mosquitto: Broker, tmp_path: Path, cloud: tuple[RecordingCloud, str]
) -> None:
    recording, url = cloud
    port = free_port()
    proc = start_gateway(fresh_mosquitto, url, tmp_path, port)
    try:
        await asyncio.to_thread(wait_until, lambda: healthy_broker(port))
        pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="burst")
        pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
        pub.loop_start()
        burst = [
            message(d, seq, current=20.0 if seq % 5 == 0 else 5.0)
            for d in range(20)
            for seq in range(10)
        ]
        expected = {f"ac-{d:06d}:AC_COMPRESSOR_CAPACITOR" for d in range(20)}
        infos = []
        for i, (topic, payload) in enumerate(burst):
            infos.append(pub.publish(topic, payload, qos=1))
            if i == len(burst) // 2:
                await asyncio.sleep(0.2)
                proc.send_signal(signal.SIGKILL)  # mid-burst, no chance to flush
                proc.wait(10)
        for info in infos:
            info.wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()
        proc = start_gateway(fresh_mosquitto, url, tmp_path, port)
        await asyncio.to_thread(wait_until, lambda: len(recording.keys) == 40)
        await asyncio.sleep(1.0)  # anything extra would arrive now
        keys = recording.keys
        assert len(keys) == 40 == len(set(keys))  # two faults per device, each once
        assert {k.rsplit(":", 3)[0] for k in keys} == expected
        # every post carried the key; repeats of a key (a post whose answer was lost) are
        # absorbed by the cloud, never a second ticket
        assert {k for k, _ in recording.posts} == set(keys)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)


async def test_sigterm_flushes_the_outbox_and_exits_cleanly(
    fresh_mosquitto: Broker, tmp_path: Path, cloud: tuple[RecordingCloud, str]
) -> None:
    recording, url = cloud
    port = free_port()
    proc = start_gateway(fresh_mosquitto, url, tmp_path, port)
    try:
        await asyncio.to_thread(wait_until, lambda: healthy_broker(port))
        pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="sigterm")
        pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
        pub.loop_start()
        infos = [pub.publish(*message(d, 1, current=30.0), qos=1) for d in range(10)]
        for info in infos:
            info.wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()
        await asyncio.to_thread(wait_until, lambda: len(recording.keys) >= 1)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
        assert len(recording.keys) == 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(15)
