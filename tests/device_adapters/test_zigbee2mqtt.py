"""Zigbee2MQTT adapter.

Payload shapes follow the Zigbee2MQTT documentation:
https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html (device state topic,
``bridge/devices`` list, ``bridge/event``) and
https://www.zigbee2mqtt.io/guide/configuration/device-availability.html (legacy and 2.x
JSON availability payloads). The extra keys ``battery``, ``last_seen``, ``linkquality``
and ``update`` follow a user capture quoted in /work/shared/DEVICE_FORMATS.md.
"""

from __future__ import annotations

import orjson
import pytest
from syrupy.assertion import SnapshotAssertion

from device_adapters import AdapterConfigError, PayloadRejected, RejectReason, Zigbee2MqttAdapter
from tests.device_adapters.samples import RECEIVED, Z2M_BODY, Z2M_SETTINGS, Z2M_TOPIC

# zigbee2mqtt/bridge/devices as documented: the coordinator, a bulb the catalog does not
# know, and two appliances whose definition.model is a catalog model.
BRIDGE_DEVICES = orjson.dumps(
    [
        {
            "ieee_address": "0x00124b00120144ae",
            "type": "Coordinator",
            "network_address": 0,
            "supported": False,
            "friendly_name": "Coordinator",
            "definition": None,
            "interview_completed": True,
        },
        {
            "ieee_address": "0x90fd9ffffe6494fc",
            "type": "Router",
            "network_address": 57440,
            "supported": True,
            "friendly_name": "my_bulb",
            "definition": {
                "model": "LED1545G12",
                "vendor": "IKEA",
                "description": "TRADFRI LED bulb E26/E27 980 lumen",
                "exposes": [],
                "options": [],
            },
            "power_source": "Mains (single phase)",
            "model_id": "TRADFRI bulb E27 WS opal 980lm",
            "interview_completed": True,
        },
        {
            "ieee_address": "0x00158d0001a2b3c4",
            "type": "Router",
            "network_address": 1234,
            "supported": True,
            "friendly_name": "fr-000007",
            "definition": {"model": "BCD-470WP", "vendor": "Aftercare", "exposes": []},
            "power_source": "Mains (single phase)",
            "interview_completed": True,
        },
        {
            "ieee_address": "0x00158d0001a2b3c5",
            "type": "EndDevice",
            "friendly_name": "kitchen/purifier",
            "definition": {"model": "RO-800G", "vendor": "Aftercare"},
        },
    ]
)


def _adapter() -> Zigbee2MqttAdapter:
    return Zigbee2MqttAdapter.from_settings(Z2M_SETTINGS)


def _learned() -> Zigbee2MqttAdapter:
    adapter = _adapter()
    assert adapter.decode("zigbee2mqtt/bridge/devices", BRIDGE_DEVICES, RECEIVED) == []
    return adapter


def test_bound_device_state_decodes_to_telemetry(snapshot: SnapshotAssertion) -> None:
    (telemetry,) = _adapter().decode(Z2M_TOPIC, Z2M_BODY, RECEIVED)
    assert telemetry.device_id == "ac-000042"
    assert telemetry.metrics["indoor_temp_c"] == 25.9
    assert telemetry.metrics["linkquality"] == 76.0  # unknown numeric keys are kept
    assert telemetry.state["power"] == "on"
    assert telemetry == snapshot


def test_last_seen_is_the_timestamp_else_the_time_of_receipt() -> None:
    (with_last_seen,) = _adapter().decode(Z2M_TOPIC, Z2M_BODY, RECEIVED)
    assert with_last_seen.ts.isoformat() == "2026-11-23T08:00:00.399000+00:00"
    (without,) = _adapter().decode(Z2M_TOPIC, b'{"indoor_temp_c": 25.0}', RECEIVED)
    assert without.ts == RECEIVED
    epoch_ms = b'{"indoor_temp_c": 25.0, "last_seen": 1795420800399}'
    (epoch,) = _adapter().decode(Z2M_TOPIC, epoch_ms, RECEIVED)
    assert epoch.ts.isoformat() == "2026-11-23T08:00:00.399000+00:00"


def test_device_identity_is_learned_from_bridge_devices(snapshot: SnapshotAssertion) -> None:
    adapter = _learned()
    body = b'{"fridge_temp_c": 3.9, "freezer_temp_c": -18.2, "linkquality": 120}'
    (telemetry,) = adapter.decode("zigbee2mqtt/fr-000007", body, RECEIVED)
    assert (telemetry.device_id, telemetry.kind, telemetry.model) == (
        "fr-000007",
        "refrigerator",
        "BCD-470WP",
    )
    assert telemetry.home_id == "h-000017"
    assert telemetry == snapshot


def test_friendly_name_with_slash_falls_back_to_the_ieee_address_as_id() -> None:
    adapter = _learned()
    (telemetry,) = adapter.decode("zigbee2mqtt/kitchen/purifier", b'{"tds_out_ppm": 12}', RECEIVED)
    assert telemetry.device_id == "0x00158d0001a2b3c5"
    assert telemetry.kind == "water_purifier"


def test_configured_binding_by_ieee_address_wins_over_the_learned_name() -> None:
    settings = {
        "devices": [
            {"source": "0x00158d0001a2b3c4", "device_id": "fridge-kitchen", "kind": "refrigerator"}
        ]
    }
    adapter = Zigbee2MqttAdapter.from_settings(settings)
    adapter.decode("zigbee2mqtt/bridge/devices", BRIDGE_DEVICES, RECEIVED)
    (telemetry,) = adapter.decode("zigbee2mqtt/fr-000007", b'{"fridge_temp_c": 4}', RECEIVED)
    assert telemetry.device_id == "fridge-kitchen"


def test_devices_outside_the_catalog_are_unknown_devices() -> None:
    adapter = _learned()
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode("zigbee2mqtt/my_bulb", b'{"state": "ON", "brightness": 215}', RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_DEVICE


def test_a_large_real_world_bridge_list_is_accepted_but_bounded() -> None:
    # real lists carry every device's exposes; hundreds of kB is normal
    filler = [
        {
            "type": "EndDevice",
            "friendly_name": f"lamp{i}",
            "ieee_address": f"0x{i:016x}",
            "definition": {"model": "LED1545G12", "exposes": ["x" * 500]},
        }
        for i in range(400)
    ]
    big = orjson.dumps([*orjson.loads(BRIDGE_DEVICES), *filler])
    assert len(big) > 200_000
    adapter = _adapter()
    adapter.decode("zigbee2mqtt/bridge/devices", big, RECEIVED)
    assert adapter.binding_of("fr-000007") is not None
    small = Zigbee2MqttAdapter.from_settings({"max_bridge_bytes": 100_000})
    with pytest.raises(PayloadRejected) as caught:
        small.decode("zigbee2mqtt/bridge/devices", big, RECEIVED)
    assert caught.value.reason is RejectReason.TOO_LARGE


def test_a_newer_bridge_list_replaces_the_learned_devices() -> None:
    adapter = _learned()
    adapter.decode("zigbee2mqtt/bridge/devices", b"[]", RECEIVED)
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode("zigbee2mqtt/fr-000007", b'{"fridge_temp_c": 4}', RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_DEVICE


@pytest.mark.parametrize(
    ("payload", "online"),
    [
        (b"online", True),
        (b"offline", False),
        (b'{"state":"online"}', True),
        (b'{"state":"offline"}', False),
    ],
)
def test_availability_accepts_legacy_and_2x_json_payloads(payload: bytes, online: bool) -> None:
    adapter = _adapter()
    assert adapter.decode("zigbee2mqtt/living_room_ac/availability", payload, RECEIVED) == []
    assert adapter.availability == {"ac-000042": online}


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/bridge/state",
        "zigbee2mqtt/bridge/info",
        "zigbee2mqtt/bridge/event",
        "zigbee2mqtt/bridge/response/permit_join",
        "zigbee2mqtt/living_room_ac/set",
        "zigbee2mqtt/living_room_ac/get",
        "zigbee2mqtt/living_room_ac/set/state",
    ],
)
def test_bridge_and_command_topics_yield_nothing(topic: str) -> None:
    payload = b'{"type":"device_joined","data":{"friendly_name":"0x90fd9ffffe6494fc"}}'
    assert _adapter().decode(topic, payload, RECEIVED) == []


def test_messages_with_no_appliance_value_yield_nothing() -> None:
    # a remote's action with the usual extras: nothing a detector could use
    body = b'{"action":"brightness_down_click","battery":40,"linkquality":76}'
    assert _adapter().decode(Z2M_TOPIC, body, RECEIVED) == []


BAD = [
    ("not json", b"{", RejectReason.BAD_JSON),
    ("array", b"[25.9]", RejectReason.BAD_JSON),
    ("metric as string", b'{"indoor_temp_c": "25.9"}', RejectReason.SCHEMA),
    ("metric as bool", b'{"indoor_temp_c": true}', RejectReason.SCHEMA),
    ("metric NaN", b'{"indoor_temp_c": NaN}', RejectReason.NON_FINITE),
    (
        "bad last_seen",
        b'{"indoor_temp_c": 1, "last_seen": "yesterday"}',
        RejectReason.BAD_TIMESTAMP,
    ),
]


@pytest.mark.parametrize(("payload", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_state_payloads_are_rejected_by_reason(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(Z2M_TOPIC, payload, RECEIVED)
    assert caught.value.reason is reason
    assert caught.value.device_id == "ac-000042"


def test_a_custom_base_topic_moves_every_topic() -> None:
    adapter = Zigbee2MqttAdapter.from_settings({**Z2M_SETTINGS, "base_topic": "z2m/floor1"})
    assert adapter.topic_filters == ("z2m/floor1/#",)
    (telemetry,) = adapter.decode("z2m/floor1/living_room_ac", Z2M_BODY, RECEIVED)
    assert telemetry.device_id == "ac-000042"
    adapter.decode("z2m/floor1/bridge/devices", BRIDGE_DEVICES, RECEIVED)
    assert adapter.binding_of("fr-000007") is not None
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode(Z2M_TOPIC, Z2M_BODY, RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_TOPIC


def test_unbound_friendly_name_is_unknown_device() -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode("zigbee2mqtt/garage_sensor", b'{"temperature": 27.34}', RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_DEVICE


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"devices": []}', RejectReason.SCHEMA),
        (b"[", RejectReason.BAD_JSON),
    ],
)
def test_malformed_bridge_devices_is_rejected(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode("zigbee2mqtt/bridge/devices", payload, RECEIVED)
    assert caught.value.reason is reason


def test_availability_of_devices_that_are_not_ours_is_not_kept() -> None:
    adapter = _adapter()
    assert adapter.decode("zigbee2mqtt/my_bulb/availability", b"online", RECEIVED) == []
    assert adapter.availability == {}


def test_bad_availability_is_schema() -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode("zigbee2mqtt/living_room_ac/availability", b"maybe", RECEIVED)
    assert caught.value.reason is RejectReason.SCHEMA


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"devise": []}, "unknown key 'devise'"),
        ({"home_id": "h 1"}, "home_id"),
        ({"devices": [{"source": "x", "device_id": "a-1"}]}, "missing key 'kind'"),
        ({"devices": [{"source": "x", "device_id": "a-1", "kind": "toaster"}]}, "toaster"),
        ({"devices": [{"source": "x", "device_id": "a 1", "kind": "refrigerator"}]}, "a 1"),
        ({"max_payload_bytes": "big"}, "max_payload_bytes"),
        ({"base_topic": "z2m/#"}, "base_topic"),
    ],
)
def test_bad_configuration_names_the_bad_key(settings: dict[str, object], message: str) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        Zigbee2MqttAdapter.from_settings(settings)
