"""Tasmota adapter.

Payload shapes follow the Tasmota documentation: https://tasmota.github.io/docs/MQTT/
(``tele/<topic>/SENSOR``, ``STATE``, ``LWT``; ``FullTopic`` ``%prefix%/%topic%/``) and
https://tasmota.github.io/docs/JSON-Status-Responses/ (sensor objects keyed by sensor
name, the ``ENERGY`` keys, ``Time`` in local time without an offset). The ENERGY object
is the capture quoted in /work/shared/DEVICE_FORMATS.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from syrupy.assertion import SnapshotAssertion

from device_adapters import AdapterConfigError, PayloadRejected, RejectReason, TasmotaAdapter
from tests.device_adapters.samples import (
    RECEIVED,
    TASMOTA_BODY,
    TASMOTA_SETTINGS,
    TASMOTA_TOPIC,
)

# verbatim from the Tasmota docs
DOC_STATE = (
    b'{"Time":"2019-09-04T13:08:48","Epoch":1567595328,"Uptime":"0T00:00:14","UptimeSec":14,'
    b'"Heap":24,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":20,"MqttCount":1,"POWER":"ON",'
    b'"Wifi":{"AP":1,"SSId":"MyWLAN","BSSId":"AA:FF:AA:AA:AA:AA","Channel":11,"RSSI":100,'
    b'"LinkCount":1,"Downtime":"0T00:00:08"}}'
)
DOC_DHT22 = b'{"Time":"2017-02-12T16:11:12", "DHT22":{"Temperature":23.9, "Humidity":34.1}}'


def _adapter() -> TasmotaAdapter:
    return TasmotaAdapter.from_settings(TASMOTA_SETTINGS)


def test_sensor_message_decodes_through_the_kind_map(snapshot: SnapshotAssertion) -> None:
    (telemetry,) = _adapter().decode(TASMOTA_TOPIC, TASMOTA_BODY, RECEIVED)
    assert telemetry.metrics == {
        "fridge_temp_c": 3.9,
        "freezer_temp_c": -18.2,
        "ambient_temp_c": 24.5,
        "evaporator_temp_c": -24.0,
        "compressor_current_a": 0.55,
        "compressor_duty_pct": 41.5,
        "door_open_count": 12.0,
    }
    assert telemetry == snapshot


def test_local_time_is_read_in_the_configured_timezone() -> None:
    (telemetry,) = _adapter().decode(TASMOTA_TOPIC, TASMOTA_BODY, RECEIVED)
    # 16:00 in Asia/Shanghai (UTC+8) is 08:00 UTC
    assert telemetry.ts == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_time_with_an_offset_is_read_as_such() -> None:
    body = TASMOTA_BODY.replace(b'"2026-11-23T16:00:00"', b'"2026-11-23T09:00:00+01:00"')
    (telemetry,) = _adapter().decode(TASMOTA_TOPIC, body, RECEIVED)
    assert telemetry.ts == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_default_timezone_is_utc_and_missing_time_is_the_receipt_time() -> None:
    settings = {"devices": TASMOTA_SETTINGS["devices"]}
    adapter = TasmotaAdapter.from_settings(settings)
    (telemetry,) = adapter.decode(TASMOTA_TOPIC, TASMOTA_BODY, RECEIVED)
    assert telemetry.ts == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    body = b'{"ENERGY":{"Current":0.5}}'
    (untimed,) = adapter.decode(TASMOTA_TOPIC, body, RECEIVED)
    assert untimed.ts == RECEIVED


def test_state_power_is_attached_to_the_next_sensor_telemetry() -> None:
    adapter = _adapter()
    assert adapter.decode("tele/tasmota_1A2B3C/STATE", DOC_STATE, RECEIVED) == []
    (telemetry,) = adapter.decode(TASMOTA_TOPIC, TASMOTA_BODY, RECEIVED)
    assert telemetry.state == {"power": "on"}


def test_lwt_is_recorded_as_availability() -> None:
    adapter = _adapter()
    assert adapter.decode("tele/tasmota_1A2B3C/LWT", b"Offline", RECEIVED) == []
    assert adapter.availability == {"fr-000007": False}
    adapter.decode("tele/tasmota_1A2B3C/LWT", b"Online", RECEIVED)
    assert adapter.availability == {"fr-000007": True}


def test_device_specific_field_map_overrides_the_default() -> None:
    settings = {
        "devices": [
            {
                "source": "tasmota_DHT",
                "device_id": "fr-000008",
                "kind": "refrigerator",
                "fields": [{"source": "DHT22.Temperature", "metric": "ambient_temp_c"}],
            }
        ]
    }
    adapter = TasmotaAdapter.from_settings(settings)
    (telemetry,) = adapter.decode("tele/tasmota_DHT/SENSOR", DOC_DHT22, RECEIVED)
    assert telemetry.metrics == {"ambient_temp_c": 23.9}
    assert telemetry.ts == datetime(2017, 2, 12, 16, 11, 12, tzinfo=UTC)


def test_multi_channel_values_are_read_by_index() -> None:
    settings = {
        "devices": [
            {
                "source": "tasmota_2CH",
                "device_id": "wh-000009",
                "kind": "water_heater",
                "fields": [{"source": "ENERGY.Current.1", "metric": "element_current_a"}],
            }
        ]
    }
    body = (
        b'{"Time":"2026-11-23T08:00:00",'
        b'"ENERGY":{"Power":[52,5],"Voltage":235,"Current":[0.3,9.1]}}'
    )
    (telemetry,) = TasmotaAdapter.from_settings(settings).decode(
        "tele/tasmota_2CH/SENSOR", body, RECEIVED
    )
    assert telemetry.metrics == {"element_current_a": 9.1}


def test_a_custom_full_topic_moves_the_filters_and_the_parsing() -> None:
    settings = {**TASMOTA_SETTINGS, "full_topic": "home/%topic%/%prefix%/"}
    adapter = TasmotaAdapter.from_settings(settings)
    assert adapter.topic_filters == (
        "home/+/tele/SENSOR",
        "home/+/tele/STATE",
        "home/+/tele/LWT",
    )
    (telemetry,) = adapter.decode("home/tasmota_1A2B3C/tele/SENSOR", TASMOTA_BODY, RECEIVED)
    assert telemetry.device_id == "fr-000007"
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode(TASMOTA_TOPIC, TASMOTA_BODY, RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_TOPIC


BAD = [
    ("no mapped sensor", DOC_DHT22, RejectReason.SCHEMA),
    ("value a string", b'{"DS18B20-1":{"Temperature":"3.9"}}', RejectReason.SCHEMA),
    ("array without index", b'{"ENERGY":{"Current":[0.5,0.2]}}', RejectReason.SCHEMA),
    ("infinite", b'{"ENERGY":{"Current":1e999}}', RejectReason.NON_FINITE),
    ("bad time", b'{"Time":"16:00","ENERGY":{"Current":0.5}}', RejectReason.BAD_TIMESTAMP),
    ("not json", b"Online", RejectReason.BAD_JSON),
]


@pytest.mark.parametrize(("payload", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_sensor_payloads_are_rejected_by_reason(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(TASMOTA_TOPIC, payload, RECEIVED)
    assert caught.value.reason is reason
    assert caught.value.device_id == "fr-000007"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tele/tasmota_FFFFFF/SENSOR", TASMOTA_BODY, RejectReason.UNKNOWN_DEVICE),
        ("stat/tasmota_1A2B3C/RESULT", b'{"POWER":"ON"}', RejectReason.UNKNOWN_TOPIC),
        ("tele/tasmota_1A2B3C/INFO1", b"{}", RejectReason.UNKNOWN_TOPIC),
        ("tele/tasmota_1A2B3C/LWT", b"Gone", RejectReason.SCHEMA),
    ],
)
def test_other_topics_and_payloads_are_rejected_by_reason(
    topic: str, payload: bytes, reason: RejectReason
) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(topic, payload, RECEIVED)
    assert caught.value.reason is reason


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": 8}, "timezone"),
        ({"full_topic": "%prefix%/devices/"}, "full_topic"),
        ({"full_topic": "%prefix%/tasmota_%topic%/"}, "full_topic"),
        ({"devices": [{"source": "t", "device_id": "a-1", "kind": "refrigerator", "x": 1}]}, "'x'"),
        (
            {
                "devices": [
                    {"source": "t", "device_id": "a-1", "kind": "refrigerator", "fields": []}
                ]
            },
            "fields: empty",
        ),
        (
            {
                "devices": [
                    {
                        "source": "t",
                        "device_id": "a-1",
                        "kind": "refrigerator",
                        "fields": [{"source": "A..B", "metric": "m"}],
                    }
                ]
            },
            "empty segment",
        ),
    ],
)
def test_bad_configuration_names_the_bad_key(settings: dict[str, object], message: str) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        TasmotaAdapter.from_settings(settings)
