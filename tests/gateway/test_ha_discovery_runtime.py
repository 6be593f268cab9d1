"""Home Assistant discovery wired into the running gateway, against a private Mosquitto.

The adapter learns a device from its discovery config; the gateway must then subscribe to
the state topic that config names (no static filter covers it), hand its messages to the
adapter, and forget it when the config is deleted. Message shapes follow
https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery (retained configs, the
``homeassistant/status`` birth message, an empty retained config deletes the entity).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from device_adapters.ha_announce import discovery_messages, removal_messages
from gateway.runtime import GatewayRuntime
from gateway.settings import load_settings
from tests.gateway.helpers import ThresholdDetector
from tests.support.mosquitto import Broker

pytestmark = pytest.mark.integration

DEVICE = "ac-000042"
# a bridge's flat JSON state, on a topic no adapter claims statically
STATE_TOPIC = f"bridge/{DEVICE}/state"


def client(broker: Broker, name: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=name)
    c.connect(broker.host, broker.port)
    c.loop_start()
    return c


def publish(c: paho.Client, messages: list[tuple[str, bytes]], *, retain: bool = False) -> None:
    infos = [c.publish(topic, payload, qos=1, retain=retain) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)


def state(current: float) -> tuple[str, bytes]:
    return STATE_TOPIC, orjson.dumps({"compressor_current_a": current, "indoor_temp_c": 24.5})


def counted(gw: GatewayRuntime, result: str) -> float:
    labels = {"source": "mqtt", "adapter": "ha_discovery", "result": result}
    return gw.metrics.registry.get_sample_value("aftercare_messages_total", labels) or 0.0


async def until(check: object, limit: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_the_gateway_subscribes_to_state_topics_learned_from_discovery(
    fresh_mosquitto: Broker, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[adapters.native]\n[adapters.ha_discovery]\nhome_id = "h-000017"\n', encoding="utf-8"
    )
    settings = load_settings(
        config, {"broker": fresh_mosquitto.url, "data_dir": tmp_path, "http_port": 0}
    )
    pub = client(fresh_mosquitto, "ha-bridge")
    try:
        # published before discovery: nobody subscribes to the state topic yet
        publish(pub, [state(3.0)])
        async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
            ingest = gw.mqtt
            assert ingest is not None
            await until(lambda: ingest.connected)
            assert STATE_TOPIC not in ingest.subscribed_learned
            configs = discovery_messages(
                device_id=DEVICE,
                kind="air_conditioner",
                model="KFR-35GW",
                state_topic=STATE_TOPIC,
                value_path=(),
            )
            publish(pub, configs, retain=True)
            await until(lambda: STATE_TOPIC in ingest.subscribed_learned)
            assert ingest.subscribed_learned == {STATE_TOPIC}
            publish(pub, [state(4.0), state(25.0)])  # the second one is a fault
            await until(lambda: gw.outbox.depth == 1)
            [item] = gw.outbox.outbox.next_batch(10)
            body = orjson.loads(item.body)
            assert (body["device_id"], body["fault_code"]) == (DEVICE, "AC_COMPRESSOR_CAPACITOR")
            # the configs themselves plus the two state messages, all decoded by the adapter
            assert counted(gw, "ok") == len(configs) + 2
            assert gw.metrics.registry.get_sample_value("aftercare_readings_total") == 4

            publish(pub, removal_messages(device_id=DEVICE, kind="air_conditioner"), retain=True)
            await until(lambda: not ingest.subscribed_learned)
            publish(pub, [state(30.0)])
            await asyncio.sleep(0.5)  # it would have arrived by now had we stayed subscribed
            assert gw.outbox.depth == 1
            assert gw.metrics.registry.get_sample_value("aftercare_readings_total") == 4
    finally:
        pub.loop_stop()
        pub.disconnect()


async def learns_and_reads(gw: GatewayRuntime, pub: paho.Client) -> None:
    ingest = gw.mqtt
    assert ingest is not None
    await until(lambda: STATE_TOPIC in ingest.subscribed_learned)
    before = gw.metrics.registry.get_sample_value("aftercare_readings_total") or 0
    publish(pub, [state(5.0)])
    await until(
        lambda: gw.metrics.registry.get_sample_value("aftercare_readings_total") == before + 2
    )


async def test_after_a_restart_retained_configs_are_learned_again_and_birth_is_announced(
    fresh_mosquitto: Broker, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[adapters.ha_discovery]\nhome_id = "h-000017"\n', encoding="utf-8")
    settings = load_settings(
        config, {"broker": fresh_mosquitto.url, "data_dir": tmp_path, "http_port": 0}
    )
    births: list[bytes] = []
    seen = threading.Event()
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="ha-watcher")

    def on_message(_c: object, _u: object, message: paho.MQTTMessage) -> None:
        births.append(bytes(message.payload))
        seen.set()

    watcher.on_message = on_message
    watcher.connect(fresh_mosquitto.host, fresh_mosquitto.port)
    watcher.subscribe("homeassistant/status", qos=1)
    watcher.loop_start()
    pub = client(fresh_mosquitto, "ha-bridge")
    try:
        configs = discovery_messages(
            device_id=DEVICE,
            kind="air_conditioner",
            model="KFR-35GW",
            state_topic=STATE_TOPIC,
            value_path=(),
        )
        publish(pub, configs, retain=True)  # retained: a gateway started later learns them
        for _ in range(2):  # a fresh adapter each time: nothing is remembered but the broker's
            seen.clear()
            async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
                await learns_and_reads(gw, pub)
                assert await asyncio.to_thread(seen.wait, 10)
        assert births == [b"online", b"online"]
    finally:
        for c in (pub, watcher):
            c.loop_stop()
            c.disconnect()
