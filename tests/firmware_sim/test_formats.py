"""Foreign formats carry the gateway profiles' fields; the native format is Contract 1.

Shapes per the projects' documentation: Zigbee2MQTT (zigbee2mqtt.io, "MQTT topics and
messages"), Tasmota (tasmota.github.io/docs/MQTT), Shelly Gen2 (shelly-api-docs,
"Notifications").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from aftercare.catalog import default_catalog
from device_adapters import NativeAdapter
from device_adapters.profiles import FieldMap, profile_for
from firmware_sim.formats import ENCODERS
from firmware_sim.formats.zigbee2mqtt import bridge_devices
from firmware_sim.spec import DeviceSpec, WireFormat

KINDS = sorted(default_catalog().kinds)
AT = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)


def _device(kind: str) -> DeviceSpec:
    model = default_catalog().models_for(kind)[0]
    return DeviceSpec("dev-000007", kind, "h-000003", model.model, model.firmware[0])


def _metrics(kind: str) -> dict[str, float]:
    return {m: 10.0 + i * 1.5 for i, m in enumerate(default_catalog().kind(kind).metric_names)}


def _lookup(body: dict[str, Any], fm: FieldMap) -> float:
    node: Any = body
    for key in fm.path:
        node = node[key]
    return fm.decode(float(node))


@pytest.mark.parametrize("kind", KINDS)
def test_tasmota_sensor_message_carries_every_metric_at_its_profile_path(kind: str) -> None:
    encoder = ENCODERS[WireFormat.TASMOTA](default_catalog())
    metrics = _metrics(kind)
    pubs = encoder.telemetry(_device(kind), AT, metrics, {"power": "on"}, 5)
    topics = {t: p for t, p, _ in pubs}
    sensor = orjson.loads(topics["tele/dev-000007/SENSOR"])
    assert sensor["Time"] == "2026-07-01T08:30:00"
    for fm in profile_for(kind).tasmota:
        assert _lookup(sensor, fm) == pytest.approx(metrics[fm.metric], abs=1e-3)
    state = orjson.loads(topics["tele/dev-000007/STATE"])
    assert state["POWER"] == "ON"
    assert "UptimeSec" in state
    assert encoder.will(_device(kind)) == ("tele/dev-000007/LWT", b"Offline", True)


@pytest.mark.parametrize("kind", KINDS)
def test_shelly_notify_status_carries_every_metric_in_its_component(kind: str) -> None:
    encoder = ENCODERS[WireFormat.SHELLY](default_catalog())
    metrics = _metrics(kind)
    ((topic, payload, retain),) = encoder.telemetry(_device(kind), AT, metrics, {"power": "on"}, 1)
    assert topic == "dev-000007/events/rpc"
    assert not retain
    frame = orjson.loads(payload)
    assert frame["method"] == "NotifyStatus"
    assert frame["src"] == "dev-000007"
    assert frame["params"]["ts"] == pytest.approx(AT.timestamp())
    for fm in profile_for(kind).shelly:
        assert _lookup(frame["params"], fm) == pytest.approx(metrics[fm.metric], abs=1e-3)
    assert frame["params"]["switch:0"]["output"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_zigbee2mqtt_state_is_flat_with_catalog_names_and_last_seen(kind: str) -> None:
    catalog = default_catalog()
    encoder = ENCODERS[WireFormat.ZIGBEE2MQTT](catalog)
    metrics = _metrics(kind)
    ((topic, payload, _),) = encoder.telemetry(_device(kind), AT, metrics, {"power": "on"}, 1)
    assert topic == "zigbee2mqtt/dev-000007"
    body = orjson.loads(payload)
    assert body["last_seen"] == "2026-07-01T08:30:00.000Z"
    assert isinstance(body["linkquality"], int)
    for name, value in metrics.items():
        assert body[name] == pytest.approx(value)
    assert encoder.birth(_device(kind)) == [
        ("zigbee2mqtt/dev-000007/availability", b'{"state":"online"}', True)
    ]
    bridge_topic, bridge_payload, bridge_retain = bridge_devices([_device(kind)], catalog)
    (entry,) = orjson.loads(bridge_payload)
    assert bridge_topic == "zigbee2mqtt/bridge/devices"
    assert bridge_retain
    assert entry["friendly_name"] == "dev-000007"
    assert entry["definition"]["model"] == _device(kind).model
    assert entry["supported"] is True
    assert entry["interview_completed"] is True


def test_native_format_is_decoded_by_the_native_adapter() -> None:
    encoder = ENCODERS[WireFormat.NATIVE](default_catalog())
    metrics = _metrics("refrigerator")
    ((topic, payload, _),) = encoder.telemetry(
        _device("refrigerator"), AT, metrics, {"power": "on"}, 9
    )
    (telemetry,) = NativeAdapter().decode(topic, payload, AT)
    assert telemetry.metrics == metrics
    assert telemetry.seq == 9
    assert telemetry.ts == AT
    status, online, retained = encoder.birth(_device("refrigerator"))[0]
    assert status == "aftercare/h-000003/dev-000007/status"
    assert online == b"online"
    assert retained
