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
import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.gateway.helpers import RecordingCloud, message
from tests.support.http_server import serve_in_thread
from tests.support.mosquitto import Broker
from tests.support.ports import free_port, wait_for_port
from tests.support.victoria import export, running_victoria

pytestmark = pytest.mark.integration

CHILD = """
import asyncio, signal, sys
from pathlib import Path
from aftercare.logs import configure_logging
from gateway.runtime import GatewayRuntime
from gateway.settings import load_settings
from tests.gateway.helpers import ThresholdDetector

async def main():
    token = sys.argv[5] if len(sys.argv) > 5 else "secret-token"
    flags = dict(broker=sys.argv[1], cloud=sys.argv[2], token=token,
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


def start_gateway(
    broker: Broker,
    cloud_url: str,
    data: Path,
    port: int,
    env: dict[str, str] | None = None,
    token: str | None = None,
) -> subprocess.Popen[bytes]:
    extra = [token] if token is not None else []  # the recording cloud's token otherwise
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, broker.url, cloud_url, str(data), str(port), *extra],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), **(env or {})},
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


def scraped(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith((name + " ", name + "{"))
    )


async def test_sigterm_flushes_the_store_buffer_and_the_held_tickets(
    fresh_mosquitto: Broker, tmp_path: Path, cloud: tuple[RecordingCloud, str]
) -> None:
    # everything the gateway holds is held on purpose: the store writes only when its
    # (huge) batch fills or a minute passes, and the cloud is down with the forwarder in a
    # long backoff; only the shutdown's flush can write the points and post the tickets
    recording, url = cloud
    recording.down = True
    port = free_port()
    with running_victoria(tmp_path / "vm", free_port()) as store_url:
        env = {
            "AFTERCARE_STORE__ENABLED": "true",
            "AFTERCARE_STORE__URL": store_url,
            "AFTERCARE_STORE__BATCH_SIZE": "100000",
            "AFTERCARE_STORE__FLUSH_INTERVAL_S": "60",
            "AFTERCARE_FORWARDER__BACKOFF_MIN_S": "60",
            "AFTERCARE_FORWARDER__BACKOFF_MAX_S": "120",
        }
        proc = start_gateway(fresh_mosquitto, url, tmp_path / "gw", port, env)
        try:
            await asyncio.to_thread(wait_until, lambda: healthy_broker(port))
            pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="held")
            pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
            pub.loop_start()
            burst = [
                message(d, seq, current=30.0 if seq == 4 else 5.0)
                for d in range(10)
                for seq in range(5)
            ]
            for info in [pub.publish(topic, payload, qos=1) for topic, payload in burst]:
                info.wait_for_publish(10)
            pub.loop_stop()
            pub.disconnect()
            # 50 reports of 2 metrics each in the store's buffer, 10 tickets in the outbox
            await asyncio.to_thread(
                wait_until, lambda: scraped(port, "aftercare_readings_total") == 100
            )
            await asyncio.to_thread(
                wait_until, lambda: scraped(port, "aftercare_outbox_depth") == 10
            )
            await asyncio.to_thread(
                wait_until,
                lambda: scraped(port, 'aftercare_tickets_total{result="retry"}') >= 1,
            )
            assert export(store_url, '{device_id=~"ac-.*"}') == ""
            recording.down = False
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(15)
        assert len(recording.keys) == 10
        lines = [
            line
            for line in export(store_url, '{__name__="telemetry_compressor_current_a"}').split("\n")
            if line
        ]
        assert len(lines) == 10  # one series per device
        assert sum(len(orjson.loads(line)["values"]) for line in lines) == 50


async def test_a_kill_9_mid_burst_leaves_each_fault_counted_once_by_the_real_cloud(
    fresh_mosquitto: Broker, tmp_path: Path
) -> None:
    # The real cloud (cloud_api on SQLite, as in the demo) absorbs a second episode of an
    # open (device, fault) as an occurrence, and a re-posted Idempotency-Key as nothing.
    # Each device below has exactly two fault episodes, so exactly-once delivery is: one
    # ticket per device with occurrences == 2. A lost ticket leaves 1 (or no ticket); a
    # re-diagnosed episode with a new key after the restart would make it 3.
    from aftercare.clock import SystemClock
    from aftercare.demo.cloud import running_cloud

    devices = [
        {"id": f"ac-{d:06d}", "kind": "air_conditioner", "model": "KFR-35GW", "home_id": "h-1"}
        for d in range(20)
    ]
    (tmp_path / "cloud").mkdir()
    async with running_cloud(tmp_path / "cloud", devices, clock=SystemClock()) as cloud:
        port = free_port()
        data = tmp_path / "gw"
        proc = start_gateway(fresh_mosquitto, cloud.url, data, port, token=cloud.gateway_token)
        try:
            await asyncio.to_thread(wait_until, lambda: healthy_broker(port))
            pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="burst-real")
            pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
            pub.loop_start()
            burst = [
                message(d, seq, current=20.0 if seq % 5 == 0 else 5.0)
                for seq in range(10)
                for d in range(20)
            ]
            infos = []
            for i, (topic, payload) in enumerate(burst):
                infos.append(pub.publish(topic, payload, qos=1))
                if i == len(burst) // 2:
                    await asyncio.sleep(0.3)
                    proc.send_signal(signal.SIGKILL)
                    await asyncio.to_thread(proc.wait, 10)
            for info in infos:
                await asyncio.to_thread(info.wait_for_publish, 10)
            pub.loop_stop()
            pub.disconnect()
            proc = start_gateway(fresh_mosquitto, cloud.url, data, port, token=cloud.gateway_token)
            async with httpx.AsyncClient(base_url=cloud.url) as client:
                username, password = cloud.staff_login("manager")
                reply = await client.post(
                    "/v1/auth/token", data={"username": username, "password": password}
                )
                staff = {"Authorization": f"Bearer {reply.json()['access_token']}"}

                async def tickets() -> list[dict[str, object]]:
                    reply = await client.get("/v1/tickets", params={"limit": 100}, headers=staff)
                    reply.raise_for_status()
                    found: list[dict[str, object]] = reply.json()["data"]
                    return found

                deadline = asyncio.get_running_loop().time() + 60
                while asyncio.get_running_loop().time() < deadline:
                    found = await tickets()
                    if len(found) == 20 and all(t["occurrences"] == 2 for t in found):
                        break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(1.0)  # anything extra would arrive now
                found = await tickets()
            assert sorted(str(t["device_id"]) for t in found) == [d["id"] for d in devices]
            assert {t["fault_code"] for t in found} == {"AC_COMPRESSOR_CAPACITOR"}
            assert [t["occurrences"] for t in found] == [2] * 20
        finally:
            if proc.poll() is None:
                proc.terminate()
                await asyncio.to_thread(proc.wait, 15)
