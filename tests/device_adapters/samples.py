"""Configured adapters and valid sample messages, shared by the per-adapter and contract tests.

Each sample is shaped like the real project's documentation (see the per-adapter test
files for the citations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from device_adapters import (
    DeviceAdapter,
    HaDiscoveryAdapter,
    ModbusRtuAdapter,
    NativeAdapter,
    ShellyGen2Adapter,
    TasmotaAdapter,
    TuyaMcuAdapter,
    Zigbee2MqttAdapter,
)
from device_adapters.modbus_rtu import encode_response
from device_adapters.profiles import profile_for
from device_adapters.tuya_mcu import encode_dp_report

RECEIVED = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)

NATIVE_TOPIC = "aftercare/h-000017/ac-000042/telemetry"
NATIVE_BODY = (
    b'{"device_id": "ac-000042", "home_id": "h-000017", "kind": "air_conditioner",'
    b' "model": "KFR-35GW", "fw": "2.3.1", "ts": "2026-11-23T08:00:00Z", "seq": 1042,'
    b' "metrics": {"indoor_temp_c": 25.9, "compressor_current_a": 4.8},'
    b' "state": {"power": "on", "mode": "cool"}}'
)

Z2M_SETTINGS = {
    "home_id": "h-000017",
    "devices": [
        {
            "source": "living_room_ac",
            "device_id": "ac-000042",
            "kind": "air_conditioner",
            "model": "KFR-35GW",
        }
    ],
}
Z2M_TOPIC = "zigbee2mqtt/living_room_ac"
Z2M_BODY = (
    b'{"indoor_temp_c": 25.9, "setpoint_c": 26, "compressor_current_a": 4.8, "state": "ON",'
    b' "linkquality": 76, "last_seen": "2026-11-23T08:00:00.399Z",'
    b' "update": {"installed_version": 604241925, "state": "idle"}, "update_available": null}'
)

TASMOTA_SETTINGS = {
    "timezone": "Asia/Shanghai",
    "devices": [
        {
            "source": "tasmota_1A2B3C",
            "device_id": "fr-000007",
            "home_id": "h-000017",
            "kind": "refrigerator",
            "model": "BCD-470WP",
        }
    ],
}
TASMOTA_TOPIC = "tele/tasmota_1A2B3C/SENSOR"
TASMOTA_BODY = (
    b'{"Time":"2026-11-23T16:00:00","DS18B20-1":{"Id":"01144A0CB2AA","Temperature":3.9},'
    b'"DS18B20-2":{"Id":"01144A0CB2AB","Temperature":-18.2},'
    b'"DS18B20-3":{"Id":"01144A0CB2AC","Temperature":24.5},'
    b'"DS18B20-4":{"Id":"01144A0CB2AD","Temperature":-24.0},'
    b'"ENERGY":{"TotalStartTime":"2026-08-27T19:52:36","Total":0.077,"Yesterday":0.024,'
    b'"Today":0.010,"Power":110,"ApparentPower":120,"ReactivePower":40,"Factor":0.92,'
    b'"Voltage":220,"Current":0.55},"COUNTER":{"C1":12},"Appliance":{"Duty":41.5},'
    b'"TempUnit":"C"}'
)

SHELLY_SETTINGS = {
    "devices": [
        {
            "source": "shellyplus1pm-a8032ab12345",
            "device_id": "ac-000042",
            "home_id": "h-000017",
            "kind": "air_conditioner",
        }
    ]
}
SHELLY_TOPIC = "shellyplus1pm-a8032ab12345/events/rpc"
SHELLY_FULL = orjson.dumps(
    {
        "src": "shellyplus1pm-a8032ab12345",
        "dst": "aftercare",
        "method": "NotifyFullStatus",
        "params": {
            "ts": 1795420800.04,
            "switch:0": {
                "id": 0,
                "source": "init",
                "output": True,
                "apower": 1050.0,
                "voltage": 220.1,
                "current": 4.8,
                "pf": 0.99,
                "aenergy": {"total": 1234.5, "by_minute": [0, 0, 0], "minute_ts": 1795420800},
                "temperature": {"tC": 43.5, "tF": 110.3},
            },
            "temperature:100": {"id": 100, "tC": 25.9, "tF": 78.6},
            "temperature:101": {"id": 101, "tC": 33.0, "tF": 91.4},
            "temperature:102": {"id": 102, "tC": 14.2, "tF": 57.6},
            "temperature:103": {"id": 103, "tC": 8.1, "tF": 46.6},
            "input:2": {"id": 2, "counts": {"total": 123456}, "freq": 20.5},
            "number:200": {"value": 26.0},
            "number:201": {"value": 820.0},
            "cloud": {"connected": True},
            "wifi": {"sta_ip": "192.168.1.23", "status": "got ip", "rssi": -58},
        },
    }
)

HA_SETTINGS = {"home_id": "h-000017"}
HA_CONFIG_TOPIC = "homeassistant/sensor/wh-000003/wh-000003_tank_temp_c/config"
HA_CONFIG = (
    b'{"~": "appliances/wh-000003", "name": "Tank temperature", "stat_t": "~/state",'
    b' "uniq_id": "wh-000003_tank_temp_c", "dev_cla": "temperature", "unit_of_meas": "\\u00b0C",'
    b' "val_tpl": "{{ value_json.tank_temp_c | float }}", "avty_t": "~/availability",'
    b' "dev": {"ids": ["wh-000003"], "mf": "Aftercare", "mdl": "EC6002-Y5", "sw": "1.2.0",'
    b' "name": "Water heater"}}'
)
HA_STATE_TOPIC = "appliances/wh-000003/state"
HA_STATE = b'{"tank_temp_c": 61.5, "inlet_temp_c": 14.0}'

MODBUS_PORT = "/dev/ttyUSB0"
MODBUS_SETTINGS = {
    "devices": [
        {
            "source": MODBUS_PORT,
            "unit": 3,
            "device_id": "wh-000003",
            "home_id": "h-000017",
            "kind": "water_heater",
        }
    ]
}
MODBUS_METRICS = {
    "tank_temp_c": 61.5,
    "inlet_temp_c": 14.0,
    "setpoint_c": 65.0,
    "element_current_a": 9.55,
    "heat_rate_c_per_min": 0.42,
    "tank_pressure_kpa": 310.5,
}
MODBUS_FRAME = encode_response(3, profile_for("water_heater").modbus, MODBUS_METRICS)

TUYA_PORT = "/dev/ttyS1"
TUYA_SETTINGS = {
    "devices": [
        {
            "source": TUYA_PORT,
            "device_id": "ac-000042",
            "home_id": "h-000017",
            "kind": "air_conditioner",
        }
    ]
}
TUYA_VALUES: dict[str, object] = {
    "power": "on",
    "mode": "cool",
    "indoor_temp_c": 25.9,
    "setpoint_c": 26.0,
    "outdoor_temp_c": 33.0,
    "supply_air_temp_c": 14.2,
    "evaporator_temp_c": 8.1,
    "compressor_current_a": 4.8,
    "indoor_fan_rpm": 1230,
    "suction_pressure_kpa": 820.0,
}
TUYA_FRAME = encode_dp_report(profile_for("air_conditioner").tuya, TUYA_VALUES)


def learned_ha() -> HaDiscoveryAdapter:
    """An HA discovery adapter that has learned the sample water heater entity."""
    adapter = HaDiscoveryAdapter.from_settings(HA_SETTINGS)
    adapter.decode(HA_CONFIG_TOPIC, HA_CONFIG, RECEIVED)
    return adapter


@dataclass(frozen=True)
class Sample:
    """A configured adapter factory and valid messages for it.

    Attributes:
        make: builds a fresh configured adapter.
        messages: valid ``(topic, payload)`` pairs that decode to telemetry.
        non_finite: a message whose metric is NaN or infinite, or ``None`` when the wire
            format cannot express one (Tuya VALUE datapoints are integers).
    """

    make: Callable[[], DeviceAdapter]
    messages: tuple[tuple[str, bytes], ...]
    non_finite: tuple[str, bytes] | None


def _modbus_nan() -> bytes:
    rmap = profile_for("water_heater").modbus
    frame = bytearray(encode_response(3, rmap, MODBUS_METRICS))
    offset = 3 + 2 * (4 - rmap.start)  # heat_rate_c_per_min is the float32 at register 4
    frame[offset : offset + 4] = b"\x7f\xc0\x00\x00"  # a quiet NaN
    from device_adapters.modbus_rtu import crc16

    return bytes(frame[:-2]) + crc16(frame[:-2]).to_bytes(2, "big")


SAMPLES: dict[str, Sample] = {
    "native": Sample(
        make=NativeAdapter,
        messages=((NATIVE_TOPIC, NATIVE_BODY),),
        non_finite=(NATIVE_TOPIC, NATIVE_BODY.replace(b"25.9", b"NaN")),
    ),
    "zigbee2mqtt": Sample(
        make=lambda: Zigbee2MqttAdapter.from_settings(Z2M_SETTINGS),
        messages=((Z2M_TOPIC, Z2M_BODY),),
        non_finite=(Z2M_TOPIC, Z2M_BODY.replace(b"25.9", b"1e999")),
    ),
    "tasmota": Sample(
        make=lambda: TasmotaAdapter.from_settings(TASMOTA_SETTINGS),
        messages=((TASMOTA_TOPIC, TASMOTA_BODY),),
        non_finite=(TASMOTA_TOPIC, TASMOTA_BODY.replace(b"3.9", b"Infinity")),
    ),
    "shelly_gen2": Sample(
        make=lambda: ShellyGen2Adapter.from_settings(SHELLY_SETTINGS),
        messages=((SHELLY_TOPIC, SHELLY_FULL),),
        non_finite=(SHELLY_TOPIC, SHELLY_FULL.replace(b"25.9", b"NaN")),
    ),
    "ha_discovery": Sample(
        make=learned_ha,
        messages=((HA_STATE_TOPIC, HA_STATE), (HA_CONFIG_TOPIC, HA_CONFIG)),
        non_finite=(HA_STATE_TOPIC, HA_STATE.replace(b"61.5", b"NaN")),
    ),
    "modbus_rtu": Sample(
        make=lambda: ModbusRtuAdapter.from_settings(MODBUS_SETTINGS),
        messages=((MODBUS_PORT, MODBUS_FRAME),),
        non_finite=(MODBUS_PORT, _modbus_nan()),
    ),
    "tuya_mcu": Sample(
        make=lambda: TuyaMcuAdapter.from_settings(TUYA_SETTINGS),
        messages=((TUYA_PORT, TUYA_FRAME),),
        non_finite=None,
    ),
}
