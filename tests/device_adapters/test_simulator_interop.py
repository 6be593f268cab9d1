"""What the simulator publishes, the gateway decodes: the shared profiles, end to end.

The simulator's encoders (``firmware_sim.formats``, ``firmware_sim.tuya_protocol``) and the
adapters both read ``device_adapters.profiles``; these tests feed one into the other for
every catalog kind, so that a change on either side that breaks the other fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aftercare.catalog import default_catalog
from device_adapters import (
    DeviceAdapter,
    ShellyGen2Adapter,
    TasmotaAdapter,
    Telemetry,
    TuyaMcuAdapter,
    Zigbee2MqttAdapter,
)
from device_adapters.profiles import profile_for
from firmware_sim.formats.base import FormatEncoder
from firmware_sim.formats.shelly import ShellyFormat
from firmware_sim.formats.tasmota import TasmotaFormat
from firmware_sim.formats.zigbee2mqtt import Zigbee2MqttFormat
from firmware_sim.spec import DeviceSpec
from firmware_sim.tuya_protocol import dp_units, encode_frame

CATALOG = default_catalog()
KINDS = sorted(CATALOG.kinds)
MEASURED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _device(kind: str) -> DeviceSpec:
    model = CATALOG.models_for(kind)[0]
    return DeviceSpec(
        device_id=f"{kind[:2]}-000001",
        kind=kind,
        home_id="h-000001",
        model=model.model,
        fw=model.firmware[0],
    )


def _metrics(kind: str) -> dict[str, float]:
    # distinct values inside every wire type's range (uint16 with scale 0.001 tops at 65.5)
    return {m: 10.25 + i for i, m in enumerate(CATALOG.kind(kind).metric_names)}


def _binding(device: DeviceSpec) -> dict[str, object]:
    return {
        "devices": [
            {
                "source": device.device_id,
                "device_id": device.device_id,
                "home_id": device.home_id,
                "kind": device.kind,
                "model": device.model,
            }
        ]
    }


def _roundtrip(encoder: FormatEncoder, adapter: DeviceAdapter, device: DeviceSpec) -> Telemetry:
    metrics = _metrics(device.kind)
    published = encoder.telemetry(device, MEASURED, metrics, {"power": "on"}, 7)
    decoded = [
        t for topic, payload, _ in published for t in adapter.decode(topic, payload, MEASURED)
    ]
    assert len(decoded) == 1
    (telemetry,) = decoded
    catalog_metrics = {k: v for k, v in telemetry.metrics.items() if k in metrics}
    # the simulator writes scaled wire numbers to 6 decimals
    assert catalog_metrics == pytest.approx(metrics, rel=1e-5)
    assert set(telemetry.metrics) - set(metrics) <= {"linkquality"}
    return telemetry


@pytest.mark.parametrize("kind", KINDS)
def test_simulated_zigbee2mqtt_decodes(kind: str) -> None:
    device = _device(kind)
    adapter = Zigbee2MqttAdapter.from_settings(_binding(device))
    telemetry = _roundtrip(Zigbee2MqttFormat(CATALOG), adapter, device)
    assert telemetry.state["power"] == "on"
    assert telemetry.ts == MEASURED


@pytest.mark.parametrize("kind", KINDS)
def test_simulated_tasmota_decodes(kind: str) -> None:
    device = _device(kind)
    adapter = TasmotaAdapter.from_settings(_binding(device))  # the simulator's Time is UTC
    telemetry = _roundtrip(TasmotaFormat(CATALOG), adapter, device)
    assert telemetry.state == {"power": "on"}
    assert telemetry.ts == MEASURED


@pytest.mark.parametrize("kind", KINDS)
def test_simulated_shelly_gen2_decodes(kind: str) -> None:
    device = _device(kind)
    adapter = ShellyGen2Adapter.from_settings(_binding(device))
    telemetry = _roundtrip(ShellyFormat(CATALOG), adapter, device)
    assert telemetry.state == {"power": "on"}
    assert telemetry.ts == MEASURED


@pytest.mark.parametrize("kind", KINDS)
def test_simulated_tuya_report_decodes(kind: str) -> None:
    settings = {"devices": [{"source": "/dev/pts/9", "device_id": "x-1", "kind": kind}]}
    adapter = TuyaMcuAdapter.from_settings(settings)
    metrics = _metrics(kind)
    frame = encode_frame(0x03, 0x07, dp_units(profile_for(kind).tuya, metrics, {"power": "on"}))
    (telemetry,) = adapter.decode("/dev/pts/9", frame, MEASURED)
    for dp in profile_for(kind).tuya:
        if dp.is_metric:
            assert telemetry.metrics[dp.name] == pytest.approx(metrics[dp.name], abs=dp.scale)
    assert telemetry.state["power"] == "on"
