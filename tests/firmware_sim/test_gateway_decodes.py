"""What the simulator publishes, the gateway's own adapters decode to the same readings.

Every kind, every foreign format: the simulator's encoders and the adapters share the
field maps of ``device_adapters.profiles``, and this checks the two directions agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aftercare.catalog import default_catalog
from device_adapters import (
    ModbusRtuAdapter,
    ShellyGen2Adapter,
    TasmotaAdapter,
    Telemetry,
    TuyaMcuAdapter,
    Zigbee2MqttAdapter,
)
from device_adapters.bindings import DeviceBinding
from device_adapters.modbus_rtu import ModbusDevice
from device_adapters.profiles import profile_for
from device_adapters.shelly_gen2 import ShellyDevice
from device_adapters.tasmota import TasmotaDevice
from device_adapters.tuya_mcu import TuyaDevice
from firmware_sim.formats import ENCODERS
from firmware_sim.serial_modbus import crc16_modbus
from firmware_sim.spec import DeviceSpec, WireFormat
from firmware_sim.tuya_protocol import Command, dp_units, encode_frame
from tests.firmware_sim.conftest import one_device_fleet

KINDS = sorted(default_catalog().kinds)
RECEIVED = datetime(2026, 7, 1, 12, tzinfo=UTC)


def _sample(kind: str) -> tuple[DeviceSpec, datetime, dict[str, float], dict[str, str]]:
    fleet = one_device_fleet(kind, None, days=4)
    rec = fleet.recording("dev-000001")
    row = len(rec.reported.t) // 2
    ts = datetime.fromtimestamp(float(rec.reported.t[row]), UTC)
    return rec.spec, ts, rec.reported.metrics_at(row), rec.reported.states_at(row)


def _binding(spec: DeviceSpec, source: str) -> DeviceBinding:
    return DeviceBinding(
        source=source, device_id=spec.device_id, kind=spec.kind, home_id=spec.home_id
    )


def _decode_all(adapter: object, pubs: list[tuple[str, bytes, bool]]) -> list[Telemetry]:
    out: list[Telemetry] = []
    for topic, payload, _ in pubs:
        out += adapter.decode(topic, payload, RECEIVED)  # type: ignore[attr-defined]
    return out


def _assert_same(decoded: list[Telemetry], metrics: dict[str, float], ts: datetime) -> None:
    merged: dict[str, float] = {}
    for telemetry in decoded:
        assert telemetry.device_id == "dev-000001"
        merged.update(telemetry.metrics)
    assert set(merged) == set(metrics)
    for name, value in metrics.items():
        assert merged[name] == pytest.approx(value, abs=1e-6), name
    assert any(t.ts == ts for t in decoded)


@pytest.mark.parametrize("kind", KINDS)
def test_tasmota_adapter_reads_what_the_simulator_publishes(kind: str) -> None:
    spec, ts, metrics, state = _sample(kind)
    pubs = ENCODERS[WireFormat.TASMOTA](default_catalog()).telemetry(spec, ts, metrics, state, 1)
    adapter = TasmotaAdapter(
        devices={spec.device_id: TasmotaDevice.of(_binding(spec, spec.device_id))}
    )
    _assert_same(_decode_all(adapter, pubs), metrics, ts)


@pytest.mark.parametrize("kind", KINDS)
def test_shelly_adapter_reads_what_the_simulator_publishes(kind: str) -> None:
    spec, ts, metrics, state = _sample(kind)
    pubs = ENCODERS[WireFormat.SHELLY](default_catalog()).telemetry(spec, ts, metrics, state, 1)
    adapter = ShellyGen2Adapter(
        devices={spec.device_id: ShellyDevice.of(_binding(spec, spec.device_id))}
    )
    decoded = _decode_all(adapter, pubs)
    merged = {k: v for t in decoded for k, v in t.metrics.items()}
    for name, value in metrics.items():
        assert merged[name] == pytest.approx(value, abs=1e-3), name


@pytest.mark.parametrize("kind", KINDS)
def test_zigbee2mqtt_adapter_reads_what_the_simulator_publishes(kind: str) -> None:
    spec, ts, metrics, state = _sample(kind)
    pubs = ENCODERS[WireFormat.ZIGBEE2MQTT](default_catalog()).telemetry(
        spec, ts, metrics, state, 1
    )
    adapter = Zigbee2MqttAdapter(bindings={spec.device_id: _binding(spec, spec.device_id)})
    decoded = _decode_all(adapter, pubs)
    merged = {k: v for t in decoded for k, v in t.metrics.items()}
    for name, value in metrics.items():
        assert merged[name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.parametrize("kind", KINDS)
def test_modbus_adapter_reads_the_simulated_slave_reply(kind: str) -> None:
    spec, _, metrics, _ = _sample(kind)
    rmap = profile_for(kind).modbus
    words = rmap.encode(metrics)
    body = bytes((1, rmap.function, 2 * len(words))) + b"".join(w.to_bytes(2, "big") for w in words)
    adapter = ModbusRtuAdapter(
        devices={
            ("/dev/ttyX", 1): ModbusDevice(
                binding=_binding(spec, "/dev/ttyX"), unit=1, register_map=rmap
            )
        }
    )
    (telemetry,) = adapter.decode("/dev/ttyX", body + crc16_modbus(body), RECEIVED)
    for reg in rmap.registers:
        assert telemetry.metrics[reg.metric] == pytest.approx(metrics[reg.metric], abs=reg.scale)


@pytest.mark.parametrize("kind", KINDS)
def test_tuya_adapter_reads_the_simulated_mcu_report(kind: str) -> None:
    spec, _, metrics, state = _sample(kind)
    dps = profile_for(kind).tuya
    frame = encode_frame(0x03, Command.STATUS_REPORT, dp_units(dps, metrics, state))
    adapter = TuyaMcuAdapter(devices={"/dev/ttyT": TuyaDevice.of(_binding(spec, "/dev/ttyT"))})
    (telemetry,) = adapter.decode("/dev/ttyT", frame, RECEIVED)
    for dp in dps:
        if dp.is_metric:
            assert telemetry.metrics[dp.name] == pytest.approx(metrics[dp.name], abs=dp.scale)
