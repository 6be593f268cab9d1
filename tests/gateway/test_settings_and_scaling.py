"""Settings precedence and validation; shared subscriptions; bounded ingest memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anomaly.fault_report import FaultReport
from device_adapters import Telemetry
from gateway.exceptions import ConfigError
from gateway.runtime import GatewayRuntime
from gateway.settings import load_settings
from tests.gateway.helpers import ThresholdDetector, message
from tests.support.mosquitto import Broker


def test_flags_override_environment_override_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        'http_port = 9200\n[mqtt]\nurl = "mqtt://file:1"\nclient_id = "from-file"\n'
        'protocol = "5"\n[forwarder]\ncloud_url = "http://file"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("AFTERCARE_MQTT__PROTOCOL", "3.1.1")
    monkeypatch.setenv("AFTERCARE_FORWARDER__CLOUD_URL", "http://env")
    settings = load_settings(config, {"broker": "mqtt://flag:2", "http_port": None})
    assert settings.mqtt.url == "mqtt://flag:2"
    assert settings.mqtt.client_id == "from-file"
    assert settings.mqtt.protocol == "3.1.1"
    assert settings.forwarder.cloud_url == "http://env"
    assert settings.http_port == 9200


def test_an_unknown_adapter_fails_at_start_listing_the_valid_names(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[adapters.zigbee]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"valid: .*native.*zigbee2mqtt"):
        load_settings(config)


@pytest.mark.integration
async def test_two_gateways_on_a_shared_subscription_split_the_stream(
    fresh_mosquitto: Broker, tmp_path: Path
) -> None:
    def settings(name: str) -> object:
        flags = {"broker": fresh_mosquitto.url, "data_dir": tmp_path / name, "http_port": 0}
        import os

        os.environ["AFTERCARE_MQTT__SHARED_GROUP"] = "hub"
        os.environ["AFTERCARE_MQTT__CLIENT_ID"] = name
        try:
            return load_settings(None, flags)
        finally:
            del os.environ["AFTERCARE_MQTT__SHARED_GROUP"], os.environ["AFTERCARE_MQTT__CLIENT_ID"]

    a = GatewayRuntime(settings("gw-a"), detector=ThresholdDetector())  # type: ignore[arg-type]
    b = GatewayRuntime(settings("gw-b"), detector=ThresholdDetector())  # type: ignore[arg-type]
    async with a, b:
        for gw in (a, b):
            while gw.mqtt is None or not gw.mqtt.connected:  # noqa: ASYNC110 — polled state
                await asyncio.sleep(0.05)
        pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="shared-pub")
        pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
        pub.loop_start()
        infos = [pub.publish(*message(d, s), qos=1) for d in range(10) for s in range(20)]
        for info in infos:
            info.wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()

        def ok(gw: GatewayRuntime) -> float:
            labels = {"source": "mqtt", "adapter": "native", "result": "ok"}
            return gw.metrics.registry.get_sample_value("aftercare_messages_total", labels) or 0.0

        for _ in range(200):
            if ok(a) + ok(b) == 200:
                break
            await asyncio.sleep(0.05)
        assert ok(a) + ok(b) == 200  # every message once, none twice
        assert ok(a) > 20  # both took a share
        assert ok(b) > 20


@pytest.mark.integration
async def test_a_slow_pipeline_holds_memory_flat_through_back_pressure(
    fresh_mosquitto: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERCARE_MQTT__QUEUE_SIZE", "50")
    monkeypatch.setenv("AFTERCARE_MQTT__BATCH_SIZE", "10")
    settings = load_settings(
        None, {"broker": fresh_mosquitto.url, "data_dir": tmp_path, "http_port": 0}
    )

    class SlowDetector(ThresholdDetector):
        def observe(self, telemetry: Telemetry) -> list[FaultReport]:
            import time

            time.sleep(0.002)  # a pipeline far slower than the broker
            return super().observe(telemetry)

    async with GatewayRuntime(settings, detector=SlowDetector()) as gw:
        assert gw.mqtt is not None
        while not gw.mqtt.connected:  # noqa: ASYNC110 — polled state
            await asyncio.sleep(0.05)
        pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="flood")
        pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
        pub.loop_start()
        infos = [pub.publish(*message(d, s), qos=1) for d in range(20) for s in range(50)]
        peak = 0
        labels = {"source": "mqtt", "adapter": "native", "result": "ok"}
        for _ in range(600):
            peak = max(peak, gw.mqtt.queued)
            done = gw.metrics.registry.get_sample_value("aftercare_messages_total", labels) or 0
            if done == 1000:
                break
            await asyncio.sleep(0.01)
        for info in infos:
            info.wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()
        assert done == 1000  # nothing lost
        assert peak <= 50  # never more held than the bound: the broker waited
        drops = gw.metrics.registry.get_sample_value(
            "aftercare_messages_total",
            {"source": "mqtt", "adapter": "none", "result": "queue_full"},
        )
        assert drops == 0


def test_the_example_configuration_in_the_operator_doc_loads(tmp_path: Path) -> None:
    from gateway.runtime import build_adapters

    doc = (Path(__file__).parents[2] / "docs" / "gateway.md").read_text(encoding="utf-8")
    example = doc.split("## Configuration file reference")[1].split("```toml")[1].split("```")[0]
    config = tmp_path / "gateway.toml"
    config.write_text(example, encoding="utf-8")
    settings = load_settings(config)
    assert sorted(build_adapters(settings)) == ["modbus_rtu", "native", "tuya_mcu", "zigbee2mqtt"]
    assert [port.protocol for port in settings.serial] == ["modbus_rtu", "tuya_mcu"]


@pytest.mark.integration
async def test_a_backlog_never_starves_the_rest_of_the_event_loop(
    fresh_mosquitto: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /healthz, /metrics, the forwarder and the socket reader share the pipeline's loop:
    # working through a large queue must leave them a turn after every batch
    monkeypatch.setenv("AFTERCARE_MQTT__QUEUE_SIZE", "5000")
    monkeypatch.setenv("AFTERCARE_MQTT__BATCH_SIZE", "50")
    settings = load_settings(
        None, {"broker": fresh_mosquitto.url, "data_dir": tmp_path, "http_port": 0}
    )

    class SlowDetector(ThresholdDetector):
        def observe(self, telemetry: Telemetry) -> list[FaultReport]:
            import time

            time.sleep(0.001)  # a slow pipeline: the backlog lasts ~2 s
            return super().observe(telemetry)

    async with GatewayRuntime(settings, detector=ThresholdDetector()) as gw:
        while gw.mqtt is None or not gw.mqtt.connected:  # noqa: ASYNC110 — polled state
            await asyncio.sleep(0.05)
    # published while the gateway is away: the whole backlog is waiting when it starts
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="backlog")
    pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
    pub.loop_start()
    infos = [pub.publish(*message(d, s), qos=1) for d in range(20) for s in range(100)]
    for info in infos:
        info.wait_for_publish(30)
    pub.loop_stop()
    pub.disconnect()
    labels = {"source": "mqtt", "adapter": "native", "result": "ok"}
    async with GatewayRuntime(settings, detector=SlowDetector()) as gw:
        registry = gw.metrics.registry
        # counted in messages, not seconds, so the OS scheduler on a busy machine cannot
        # decide it: how far the pipeline gets between two turns of another task
        largest = 0.0
        last = registry.get_sample_value("aftercare_messages_total", labels) or 0.0
        deadline = asyncio.get_running_loop().time() + 60
        while last < 2000:
            await asyncio.sleep(0)
            done = registry.get_sample_value("aftercare_messages_total", labels) or 0.0
            largest, last = max(largest, done - last), done
            assert asyncio.get_running_loop().time() < deadline
        # one batch per loop turn (two, by ordering); without the yield, whole socket reads
        assert largest <= 100
