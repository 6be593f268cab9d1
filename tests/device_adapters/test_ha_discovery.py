"""Home Assistant MQTT discovery adapter and its safe template reader.

Config shapes follow https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
(topic format, abbreviations such as ``stat_t``/``uniq_id``/``dev``/``unit_of_meas``/
``val_tpl``, the ``~`` base topic, device-based discovery with ``cmps``, deletion by an
empty retained payload) and the templates of
https://www.home-assistant.io/docs/configuration/templating/#processing-incoming-data.
"""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from device_adapters import AdapterConfigError, HaDiscoveryAdapter, PayloadRejected, RejectReason
from device_adapters._payload import MISSING
from device_adapters.ha_discovery import BIRTH_PAYLOAD, BIRTH_TOPIC
from device_adapters.templates import TemplateError, compile_template
from tests.device_adapters.samples import (
    HA_CONFIG,
    HA_CONFIG_TOPIC,
    HA_SETTINGS,
    HA_STATE,
    HA_STATE_TOPIC,
    RECEIVED,
    learned_ha,
)

# Device-based discovery, shaped like the documentation's example.
DEVICE_CONFIG_TOPIC = "homeassistant/device/rv-000011/config"
DEVICE_CONFIG = orjson.dumps(
    {
        "dev": {
            "ids": "rv-000011",
            "name": "Vacuum",
            "mf": "Aftercare",
            "mdl": "RV-T8",
            "sw": "4.1",
        },
        "o": {"name": "aftercare-sim", "sw": "0.1"},
        "cmps": {
            "rv-000011_battery_voltage_v": {
                "p": "sensor",
                "unit_of_measurement": "V",
                "value_template": "{{ value_json.voltage }}",
                "unique_id": "rv-000011_battery_voltage_v",
            },
            "rv-000011_runtime_min": {
                "p": "sensor",
                "value_template": "{{ value_json['runtime'] | float }}",
                "unique_id": "rv-000011_runtime_min",
            },
            "rv-000011_docked": {
                "p": "binary_sensor",
                "value_template": "{{ value_json.docked }}",
                "payload_on": "yes",
                "payload_off": "no",
                "unique_id": "rv-000011_docked",
            },
            "rv-000011_locate": {"p": "button", "command_topic": "vac/rv-000011/locate"},
        },
        "state_topic": "vac/rv-000011/state",
        "qos": 1,
    }
)


def test_state_topic_is_learned_from_an_abbreviated_config(snapshot: SnapshotAssertion) -> None:
    adapter = learned_ha()
    assert adapter.state_topics() == {HA_STATE_TOPIC, "appliances/wh-000003/availability"}
    (entity,) = adapter.entities()
    assert (entity.target, entity.binding.kind, entity.binding.fw) == (
        "tank_temp_c",
        "water_heater",
        "1.2.0",
    )
    (telemetry,) = adapter.decode(HA_STATE_TOPIC, HA_STATE, RECEIVED)
    assert telemetry.metrics == {"tank_temp_c": 61.5}
    assert telemetry == snapshot


def test_device_based_discovery_learns_its_components(snapshot: SnapshotAssertion) -> None:
    adapter = HaDiscoveryAdapter.from_settings(HA_SETTINGS)
    assert adapter.decode(DEVICE_CONFIG_TOPIC, DEVICE_CONFIG, RECEIVED) == []
    assert sorted(e.target for e in adapter.entities()) == [
        "battery_voltage_v",
        "docked",
        "runtime_min",
    ]
    state = b'{"voltage": 14.4, "runtime": "52", "docked": "yes"}'
    (telemetry,) = adapter.decode("vac/rv-000011/state", state, RECEIVED)
    assert telemetry.metrics == {"battery_voltage_v": 14.4, "runtime_min": 52.0}
    assert telemetry.state == {"docked": "on"}
    assert telemetry == snapshot


def test_raw_value_template_and_configured_metric_names() -> None:
    adapter = HaDiscoveryAdapter.from_settings(
        {**HA_SETTINGS, "metrics": {"boiler-temp-1": "tank_temp_c"}}
    )
    config = (
        b'{"name": "Boiler", "state_topic": "boiler/temp", "unique_id": "boiler-temp-1",'
        b' "device": {"identifiers": ["wh-000004"], "model": "EC6002-Y5"}}'
    )
    adapter.decode("homeassistant/sensor/boiler/temp/config", config, RECEIVED)
    (telemetry,) = adapter.decode("boiler/temp", b"58.25", RECEIVED)
    assert telemetry.device_id == "wh-000004"
    assert telemetry.metrics == {"tank_temp_c": 58.25}


def test_configured_binding_by_identifier_wins() -> None:
    settings = {
        "devices": [{"source": "wh-000003", "device_id": "heater-a", "kind": "water_heater"}]
    }
    adapter = HaDiscoveryAdapter.from_settings(settings)
    adapter.decode(HA_CONFIG_TOPIC, HA_CONFIG, RECEIVED)
    (telemetry,) = adapter.decode(HA_STATE_TOPIC, HA_STATE, RECEIVED)
    assert telemetry.device_id == "heater-a"


def test_empty_config_deletes_the_entity() -> None:
    adapter = learned_ha()
    assert adapter.decode(HA_CONFIG_TOPIC, b"", RECEIVED) == []
    assert adapter.entities() == []
    assert adapter.state_topics() == frozenset()
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode(HA_STATE_TOPIC, HA_STATE, RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_TOPIC


def test_re_announced_config_replaces_rather_than_duplicates() -> None:
    adapter = learned_ha()
    adapter.decode(HA_CONFIG_TOPIC, HA_CONFIG, RECEIVED)
    assert len(adapter.entities()) == 1
    assert len(adapter.decode(HA_STATE_TOPIC, HA_STATE, RECEIVED)) == 1


def test_availability_topic_is_tracked() -> None:
    adapter = learned_ha()
    assert adapter.decode("appliances/wh-000003/availability", b"offline", RECEIVED) == []
    assert adapter.availability == {"wh-000003": False}


def test_birth_message_constants_match_home_assistant() -> None:
    assert (BIRTH_TOPIC, BIRTH_PAYLOAD) == ("homeassistant/status", b"online")


def test_payload_without_the_entity_key_is_not_an_error() -> None:
    # the "'value_json' is undefined" flood of core#102047: here it yields nothing, quietly
    assert learned_ha().decode(HA_STATE_TOPIC, b'{"inlet_temp_c": 14.0}', RECEIVED) == []


def test_unavailable_sensor_values_are_skipped() -> None:
    adapter = learned_ha()
    assert adapter.decode(HA_STATE_TOPIC, b'{"tank_temp_c": "unavailable"}', RECEIVED) == []


CONFIG_BAD = [
    ("not json", b"{", RejectReason.BAD_JSON),
    ("no device", b'{"stat_t": "a/b"}', RejectReason.UNKNOWN_DEVICE),
    (
        "model outside the catalog",
        b'{"stat_t": "a/b", "dev": {"ids": ["lamp1"], "mdl": "LED1545G12"}}',
        RejectReason.UNKNOWN_DEVICE,
    ),
    (
        "no state topic",
        b'{"dev": {"ids": ["wh-9"], "mdl": "EC6002-Y5"}}',
        RejectReason.SCHEMA,
    ),
    (
        "jinja logic",
        b'{"stat_t": "a/b", "val_tpl": "{% if value %}1{% endif %}",'
        b' "dev": {"ids": ["wh-9"], "mdl": "EC6002-Y5"}}',
        RejectReason.SCHEMA,
    ),
    (
        "python in template",
        b'{"stat_t": "a/b", "val_tpl": "{{ value.__class__ }}",'
        b' "dev": {"ids": ["wh-9"], "mdl": "EC6002-Y5"}}',
        RejectReason.SCHEMA,
    ),
    (
        "wildcard state topic",
        b'{"stat_t": "a/#", "dev": {"ids": ["wh-9"], "mdl": "EC6002-Y5"}}',
        RejectReason.SCHEMA,
    ),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [b[1:] for b in CONFIG_BAD], ids=[b[0] for b in CONFIG_BAD]
)
def test_bad_discovery_configs_are_rejected_by_reason(payload: bytes, reason: RejectReason) -> None:
    adapter = HaDiscoveryAdapter.from_settings(HA_SETTINGS)
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode("homeassistant/sensor/x/config", payload, RECEIVED)
    assert caught.value.reason is reason
    assert adapter.entities() == []


STATE_BAD = [
    ("not json", b"61.5}", RejectReason.BAD_JSON),
    ("a word", b'{"tank_temp_c": "hot"}', RejectReason.SCHEMA),
    ("a bool", b'{"tank_temp_c": true}', RejectReason.SCHEMA),
    ("NaN", b'{"tank_temp_c": NaN}', RejectReason.NON_FINITE),
    ("NaN as text", b'{"tank_temp_c": "nan"}', RejectReason.NON_FINITE),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [b[1:] for b in STATE_BAD], ids=[b[0] for b in STATE_BAD]
)
def test_bad_state_payloads_are_rejected_by_reason(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(PayloadRejected) as caught:
        learned_ha().decode(HA_STATE_TOPIC, payload, RECEIVED)
    assert caught.value.reason is reason


def test_a_custom_discovery_prefix_is_honoured() -> None:
    adapter = HaDiscoveryAdapter.from_settings({**HA_SETTINGS, "discovery_prefix": "ha"})
    assert adapter.topic_filters == ("ha/+/+/config", "ha/+/+/+/config")
    adapter.decode(HA_CONFIG_TOPIC.replace("homeassistant/", "ha/"), HA_CONFIG, RECEIVED)
    assert len(adapter.decode(HA_STATE_TOPIC, HA_STATE, RECEIVED)) == 1


def test_bad_configuration_names_the_bad_key() -> None:
    with pytest.raises(AdapterConfigError, match="discovery_prefix"):
        HaDiscoveryAdapter.from_settings({"discovery_prefix": "a/b"})
    with pytest.raises(AdapterConfigError, match="metrics"):
        HaDiscoveryAdapter.from_settings({"metrics": {"x": "not a name"}})
    with pytest.raises(AdapterConfigError, match="max_entities"):
        HaDiscoveryAdapter.from_settings({"max_entities": 0})


def test_entity_limit_bounds_memory() -> None:
    adapter = HaDiscoveryAdapter.from_settings({**HA_SETTINGS, "max_entities": 2})
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode(DEVICE_CONFIG_TOPIC, DEVICE_CONFIG, RECEIVED)
    assert caught.value.reason is RejectReason.SCHEMA


# ------------------------------------------------------------------ templates

TEMPLATES = [
    ("{{ value }}", "21.5", MISSING, "21.5"),
    ("{{ value | float }}", " 21.5 ", MISSING, 21.5),
    ("{{ value | int }}", "21.7", MISSING, 21.0),
    ("{{ value | float(0) }}", "n/a", MISSING, 0.0),
    ("{{ value_json.a.b }}", "", {"a": {"b": 3}}, 3),
    ("{{value_json['a']}}", "", {"a": 4}, 4),
    ('{{ value_json["a b"][1] }}', "", {"a b": [1, 2]}, 2),
    ("{{ value_json.t | round(1) }}", "", {"t": 21.456}, 21.5),
    ("{{ value_json.t | multiply(0.1) }}", "", {"t": 215}, 21.5),
    ("{{ value_json.s | lower }}", "", {"s": "ON"}, "on"),
    ("{{ value_json.missing }}", "", {"t": 1}, MISSING),
    ("{{ value_json[3] }}", "", [1], MISSING),
]


@pytest.mark.parametrize(("template", "value", "value_json", "expected"), TEMPLATES)
def test_supported_templates_render_like_jinja(
    template: str, value: str, value_json: object, expected: object
) -> None:
    assert compile_template(template).render(value, value_json) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{% if value_json.x %}1{% endif %}",
        "{{ value_json.x }} and {{ value_json.y }}",
        "{{ states('sensor.x') }}",
        "{{ value.__class__.__mro__ }}",
        "{{ value_json.x | map('int') }}",
        "{{ value_json..x }}",
        "plain text",
    ],
)
def test_anything_else_is_refused_at_compile_time(template: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(template)


def test_attribute_like_names_are_only_ever_dictionary_keys() -> None:
    template = compile_template("{{ value_json.x.__globals__ }}")
    assert template.render("", {"x": {"__globals__": 5}}) == 5
    assert template.render("", {"x": "text"}) is MISSING


def test_home_assistant_sentinels_render_as_none_before_filters() -> None:
    assert compile_template("{{ value | float }}").render("unavailable") is None


def test_a_failing_filter_without_default_raises_template_error() -> None:
    with pytest.raises(TemplateError):
        compile_template("{{ value | float }}").render("warm")


# ------------------------------------------------------------------ properties

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=10,
)

TEMPLATE_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda inner: "{{ " + inner + " }}",
        st.text(alphabet="value_json.[]'\"|0123456789abc()-_ ", max_size=30),
    ),
)


@settings(max_examples=300, deadline=None)
@given(text=TEMPLATE_TEXT, value=st.text(max_size=10), value_json=JSON_VALUES)
def test_templates_raise_only_template_error(text: str, value: str, value_json: object) -> None:
    try:
        template = compile_template(text)
        template.render(value, value_json)
    except TemplateError:
        pass


CONFIG_KEYS = st.sampled_from(
    [
        "~",
        "stat_t",
        "val_tpl",
        "uniq_id",
        "obj_id",
        "dev",
        "avty_t",
        "avty",
        "pl_on",
        "state_topic",
        "value_template",
        "device",
        "cmps",
        "p",
        "unit_of_meas",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    config=st.dictionaries(CONFIG_KEYS, JSON_VALUES, max_size=8),
    component=st.sampled_from(["sensor", "binary_sensor", "switch", "device", "light"]),
    state=st.binary(max_size=40),
)
def test_arbitrary_discovery_configs_raise_only_payload_rejected(
    config: dict[str, object], component: str, state: bytes
) -> None:
    adapter = HaDiscoveryAdapter.from_settings(HA_SETTINGS)
    config.setdefault("dev", {"ids": ["wh-000009"], "mdl": "EC6002-Y5"})
    try:
        adapter.decode(f"homeassistant/{component}/x/config", orjson.dumps(config), RECEIVED)
    except PayloadRejected:
        return
    for topic in adapter.state_topics():
        try:
            out = adapter.decode(topic, state, RECEIVED)
        except PayloadRejected:
            continue
        for telemetry in out:
            assert all(math.isfinite(v) for v in telemetry.metrics.values())
