"""Discovery messages Aftercare publishes are learned back exactly by its own reader.

Follows https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery (topic ids
``[a-zA-Z0-9_-]``, abbreviations, retained configs, empty payload deletes).
"""

from __future__ import annotations

import orjson
import pytest
from syrupy.assertion import SnapshotAssertion

from aftercare.catalog import default_catalog
from device_adapters import HaDiscoveryAdapter, encode_native, native_topic
from device_adapters.ha_announce import discovery_messages, removal_messages
from tests.device_adapters.samples import NATIVE_BODY, NATIVE_TOPIC, RECEIVED

CATALOG = default_catalog()


def test_air_conditioner_configs_are_shaped_for_home_assistant(
    snapshot: SnapshotAssertion,
) -> None:
    messages = discovery_messages(
        device_id="ac-000042",
        kind="air_conditioner",
        model="KFR-35GW",
        fw="2.3.1",
        state_topic=NATIVE_TOPIC,
        availability_topic=native_topic("h-000017", "ac-000042", "status"),
    )
    assert len(messages) == len(CATALOG.kind("air_conditioner").metrics)
    topic, payload = messages[0]
    assert topic == "homeassistant/sensor/ac-000042/ac-000042_indoor_temp_c/config"
    config = orjson.loads(payload)
    assert config["unit_of_meas"] == "°C"
    assert config["dev_cla"] == "temperature"
    assert config == snapshot


@pytest.mark.parametrize("kind", sorted(CATALOG.kinds))
def test_announced_devices_are_learned_and_their_native_state_decoded(kind: str) -> None:
    model = CATALOG.models_for(kind)[0].model
    device_id = f"{kind[:2]}-000001"
    state_topic = native_topic("h-000001", device_id)
    adapter = HaDiscoveryAdapter.from_settings({"home_id": "h-000001"})
    for topic, payload in discovery_messages(
        device_id=device_id, kind=kind, model=model, state_topic=state_topic
    ):
        adapter.decode(topic, payload, RECEIVED)
    assert adapter.state_topics() == {state_topic}
    metrics = {m: 1.5 + i for i, m in enumerate(CATALOG.kind(kind).metric_names)}
    body = orjson.loads(NATIVE_BODY)
    body.update(device_id=device_id, home_id="h-000001", kind=kind, metrics=metrics)
    (telemetry,) = adapter.decode(state_topic, orjson.dumps(body), RECEIVED)
    assert telemetry.metrics == metrics
    assert (telemetry.device_id, telemetry.kind, telemetry.model) == (device_id, kind, model)
    for topic, payload in removal_messages(device_id=device_id, kind=kind):
        adapter.decode(topic, payload, RECEIVED)
    assert adapter.entities() == []


def test_ids_outside_the_topic_alphabet_are_made_safe() -> None:
    (topic, _), *_ = discovery_messages(
        device_id="ac:42.1", kind="air_conditioner", model="KFR-35GW", state_topic="x/y"
    )
    assert topic == "homeassistant/sensor/ac_42_1/ac_42_1_indoor_temp_c/config"


def test_flat_state_objects_use_an_empty_value_path() -> None:
    adapter = HaDiscoveryAdapter.from_settings({})
    for topic, payload in discovery_messages(
        device_id="fr-000007",
        kind="refrigerator",
        model="BCD-470WP",
        state_topic="zigbee2mqtt/fr-000007",
        value_path=(),
    ):
        adapter.decode(topic, payload, RECEIVED)
    (telemetry,) = adapter.decode(
        "zigbee2mqtt/fr-000007", b'{"fridge_temp_c": 3.9, "linkquality": 80}', RECEIVED
    )
    assert telemetry.metrics == {"fridge_temp_c": 3.9}
    assert encode_native(telemetry)  # a complete, encodable telemetry
