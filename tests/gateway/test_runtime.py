"""The gateway runtime in-process against a private Mosquitto and a recording cloud."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.runtime import GatewayRuntime
from gateway.settings import load_settings
from tests.gateway.helpers import RecordingCloud, ThresholdDetector, message
from tests.support.http_server import serve_in_thread
from tests.support.mosquitto import Broker
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def cloud() -> Iterator[tuple[RecordingCloud, str]]:
    recording = RecordingCloud()
    with serve_in_thread(recording.app) as url:
        yield recording, url


def publisher(broker: Broker) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def publish_all(client: paho.Client, messages: list[tuple[str, bytes]]) -> None:
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)


async def metric(port: int, name: str, labels: str = "") -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    prefix = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(prefix + " "):
            return float(line.split()[-1])
    return 0.0


async def total(port: int, name: str) -> float:
    """The sum of every labelled sample of ``name``."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + "{"))


async def metric_is(port: int, name: str, labels: str, value: float) -> bool:
    return await metric(port, name, labels) == value


async def eventually(check: object, limit: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        result = check() if callable(check) else check
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_bad_inputs_are_counted_by_reason_and_the_stream_flows_on(
    fresh_mosquitto: Broker, tmp_path: Path, cloud: tuple[RecordingCloud, str]
) -> None:
    recording, url = cloud
    settings = load_settings(
        None,
        {
            "broker": fresh_mosquitto.url,
            "cloud": url,
            "token": "secret-token",
            "data_dir": tmp_path,
            "http_port": 0,
        },
    )
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
        pub = publisher(fresh_mosquitto)
        try:
            good = [message(1, seq) for seq in range(5)]
            bad = [
                ("aftercare/h-1/ac-000001/telemetry", b"{not json"),
                ("aftercare/h-1/ac-000001/telemetry", b'{"device_id": "ac-000001"}'),
                good[0],  # a duplicate (same device and seq)
                message(1, 99, current=20.0),  # a fault
                message(1, 100),
                # an hour older than the newest: accepted and stored, flagged late
                message(1, 101, at=datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),
            ]
            publish_all(pub, good + bad)
        finally:
            pub.loop_stop()
            pub.disconnect()
        port = gw.http_port
        ok = 'adapter="native",result="ok",source="mqtt"'
        await eventually(lambda: metric_is(port, "aftercare_messages_total", ok, 8))
        await eventually(lambda: len(recording.keys) == 1)
        labels = 'adapter="native",result="{}",source="mqtt"'
        assert await metric(port, "aftercare_messages_total", labels.format("bad_json")) == 1
        assert await metric(port, "aftercare_messages_total", labels.format("schema")) == 1
        assert await metric(port, "aftercare_messages_total", labels.format("duplicate")) == 1
        assert await metric(port, "aftercare_readings_total") == 16
        assert await metric(port, "aftercare_late_readings_total") == 1
        assert (
            await metric(port, "aftercare_detections_total", 'fault_code="AC_COMPRESSOR_CAPACITOR"')
            == 1
        )
        assert await metric(port, "aftercare_tickets_total", 'result="created"') == 1
        await eventually(lambda: metric_is(port, "aftercare_outbox_depth", "", 0))
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"http://127.0.0.1:{port}/healthz")).json()
        assert health["status"] == "ok"
        assert health["components"]["broker"]["ok"] is True
        assert health["components"]["cloud"]["reachable"] is True


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_reconnects_after_broker_restart_and_receives_what_was_published_meanwhile(
    fresh_mosquitto: Broker, tmp_path: Path, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERCARE_MQTT__PROTOCOL", protocol)
    # the first reconnect waits 1-2 s, so the publisher below surely runs while we are away
    monkeypatch.setenv("AFTERCARE_MQTT__RECONNECT_MIN_S", "2")
    settings = load_settings(
        None, {"broker": fresh_mosquitto.url, "data_dir": tmp_path, "http_port": 0}
    )
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        ingest = gw.mqtt
        assert ingest is not None
        await eventually(lambda: ingest.connected)
        await asyncio.to_thread(fresh_mosquitto.restart)
        pub = publisher(fresh_mosquitto)  # publishes while the gateway is still away
        try:
            publish_all(pub, [message(2, seq) for seq in range(20)])
        finally:
            pub.loop_stop()
            pub.disconnect()
        assert ingest.connects == 1  # not back yet: only the broker's session holds them
        await eventually(lambda: ingest.connects >= 2, limit=30)
        ok = 'adapter="native",result="ok",source="mqtt"'
        await eventually(lambda: metric_is(gw.http_port, "aftercare_messages_total", ok, 20))


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_what_was_published_while_the_gateway_was_stopped_arrives_when_it_starts_again(
    fresh_mosquitto: Broker, tmp_path: Path, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERCARE_MQTT__PROTOCOL", protocol)
    settings = load_settings(
        None, {"broker": fresh_mosquitto.url, "data_dir": tmp_path, "http_port": 0}
    )
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
    # the gateway is gone, and the broker restarts meanwhile: the session must survive both
    await asyncio.to_thread(fresh_mosquitto.restart)
    pub = publisher(fresh_mosquitto)
    try:
        publish_all(pub, [message(5, seq) for seq in range(25)])
    finally:
        pub.loop_stop()
        pub.disconnect()
    ok = 'adapter="native",result="ok",source="mqtt"'
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: metric_is(gw.http_port, "aftercare_messages_total", ok, 25))
        await asyncio.sleep(0.5)
        assert await total(gw.http_port, "aftercare_messages_total") == 25  # and nothing else
        started = asyncio.get_running_loop().time()
    # handled means acknowledged: neither the shutdown waits for them, nor does the broker
    # deliver them again to the next start
    assert asyncio.get_running_loop().time() - started < 5
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
        await asyncio.sleep(1.0)
        assert await total(gw.http_port, "aftercare_messages_total") == 0


async def test_without_a_session_expiry_nothing_is_kept_while_the_gateway_is_away(
    fresh_mosquitto: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the control for the test above: it is the MQTT 5 session that keeps the messages
    monkeypatch.setenv("AFTERCARE_MQTT__SESSION_EXPIRY_S", "0")
    settings = load_settings(
        None, {"broker": fresh_mosquitto.url, "data_dir": tmp_path, "http_port": 0}
    )
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
    pub = publisher(fresh_mosquitto)
    try:
        publish_all(pub, [message(6, seq) for seq in range(25)])
    finally:
        pub.loop_stop()
        pub.disconnect()
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
        await asyncio.sleep(1.0)
        assert await total(gw.http_port, "aftercare_messages_total") == 0


async def test_cloud_down_backlog_drains_with_nothing_lost(
    fresh_mosquitto: Broker, tmp_path: Path, cloud: tuple[RecordingCloud, str]
) -> None:
    recording, url = cloud
    recording.down = True
    settings = load_settings(
        None,
        {
            "broker": fresh_mosquitto.url,
            "cloud": url,
            "token": "secret-token",
            "data_dir": tmp_path,
            "http_port": 0,
        },
    )
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
        pub = publisher(fresh_mosquitto)
        try:
            publish_all(pub, [message(d, 1, current=15.0) for d in range(30)])
        finally:
            pub.loop_stop()
            pub.disconnect()
        await eventually(lambda: gw.outbox.depth == 30)
        await eventually(lambda: gw.forwarder.status.reachable is False)
        _, health = gw.health()
        assert health["components"]["cloud"]["ok"] is False
        await asyncio.sleep(1.0)
        assert recording.keys == []
        recording.down = False
        await eventually(lambda: gw.outbox.depth == 0, limit=30)
    assert len(recording.keys) == 30
    assert sorted(recording.keys) == sorted({k for k, _ in recording.posts})


async def test_a_ticket_the_cloud_refuses_is_dead_lettered_not_retried(
    fresh_mosquitto: Broker, tmp_path: Path, cloud: tuple[RecordingCloud, str]
) -> None:
    recording, url = cloud
    recording.reject = True
    settings = load_settings(
        None,
        {
            "broker": fresh_mosquitto.url,
            "cloud": url,
            "token": "secret-token",
            "data_dir": tmp_path,
            "http_port": 0,
        },
    )
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
        pub = publisher(fresh_mosquitto)
        try:
            publish_all(pub, [message(3, 1, current=15.0)])
        finally:
            pub.loop_stop()
            pub.disconnect()
        port = gw.http_port
        await eventually(
            lambda: metric_is(port, "aftercare_tickets_total", 'result="dead_letter"', 1)
        )
        assert gw.outbox.depth == 0
        assert gw.outbox.outbox.dead_letters() == 1


async def test_a_dead_telemetry_store_never_blocks_detection_or_ticketing(
    fresh_mosquitto: Broker,
    tmp_path: Path,
    cloud: tuple[RecordingCloud, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording, url = cloud
    monkeypatch.setenv("AFTERCARE_STORE__ENABLED", "true")
    monkeypatch.setenv("AFTERCARE_STORE__URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AFTERCARE_STORE__MAX_BUFFER", "20")
    monkeypatch.setenv("AFTERCARE_STORE__SHUTDOWN_FLUSH_S", "0.5")
    settings = load_settings(
        None,
        {
            "broker": fresh_mosquitto.url,
            "cloud": url,
            "token": "secret-token",
            "data_dir": tmp_path,
            "http_port": 0,
        },
    )
    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        await eventually(lambda: gw.mqtt is not None and gw.mqtt.connected)
        pub = publisher(fresh_mosquitto)
        try:
            publish_all(
                pub,
                [
                    message(d, s, current=15.0 if s == 9 else 5.0)
                    for d in range(10)
                    for s in range(10)
                ],
            )
        finally:
            pub.loop_stop()
            pub.disconnect()
        await eventually(lambda: len(recording.keys) == 10)
        store = gw.store
        assert store is not None
        await eventually(lambda: store.healthy is False)
        assert store.buffered <= 20
        dropped = gw.metrics.registry.get_sample_value(
            "aftercare_store_points_total", {"result": "dropped"}
        )
        assert dropped == 80
        healthy, document = gw.health()
        assert not healthy
        assert document["components"]["store"]["ok"] is False


async def test_after_a_broker_restart_that_lost_every_session_the_gateway_resubscribes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.mosquitto import running_mosquitto

    monkeypatch.setenv("AFTERCARE_MQTT__RECONNECT_MIN_S", "0.2")
    with running_mosquitto(tmp_path / "broker", persistence=False) as broker:
        settings = load_settings(
            None, {"broker": broker.url, "data_dir": tmp_path / "gw", "http_port": 0}
        )
        async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
            ingest = gw.mqtt
            assert ingest is not None
            await eventually(lambda: ingest.connected)
            await asyncio.to_thread(broker.restart)  # no persistence: the session is gone
            await eventually(lambda: ingest.connects >= 2, limit=30)
            pub = publisher(broker)
            try:
                publish_all(pub, [message(7, seq) for seq in range(10)])
            finally:
                pub.loop_stop()
                pub.disconnect()
            ok = 'adapter="native",result="ok",source="mqtt"'
            await eventually(lambda: metric_is(gw.http_port, "aftercare_messages_total", ok, 10))
