"""Home Assistant MQTT discovery: learn devices from their discovery configs, then read them.

Documentation followed: https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
(topic ``<prefix>/<component>/[<node_id>/]<object_id>/config``, abbreviations, the ``~``
base topic, device-based discovery with ``cmps``, deletion by an empty payload) and
https://www.home-assistant.io/docs/configuration/templating/#processing-incoming-data.

A discovery config (``sensor``, ``binary_sensor`` or ``switch``) is learned when its
device is an appliance: bound in configuration by one of its ``identifiers``, or with a
``model`` the catalog knows (the first identifier becomes the device id). The entity's
metric is the configured one for its ``unique_id``, else the catalog metric its object
id ends with (``ac-000042_indoor_temp_c``), else the object id itself (kept like any
unknown metric). Its ``value_template`` is compiled by :mod:`device_adapters.templates`
(never evaluated as Jinja); an unsupported template refuses the config as ``schema``.

Afterwards the adapter decodes the learned **state topics** (wherever they are: a
Tasmota or Zigbee2MQTT topic, say) and availability topics. Those are not in
:attr:`HaDiscoveryAdapter.topic_filters` because they are only known at run time: the
gateway subscribes to :meth:`HaDiscoveryAdapter.state_topics` after each discovery
message and hands their messages to this adapter. After a broker reconnect the gateway
should publish :data:`BIRTH_PAYLOAD` to :data:`BIRTH_TOPIC` so that publishers re-send
their discovery (the Home Assistant convention), since not all of them retain it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Self

from aftercare.catalog import default_catalog
from device_adapters._payload import MISSING, check_size, load_json, load_json_object, on_off
from device_adapters.base import DEFAULT_MAX_PAYLOAD_BYTES
from device_adapters.bindings import (
    ID_PATTERN,
    DeviceBinding,
    check_keys,
    kind_of_model,
    read_bindings,
    read_max_payload,
    read_str,
    telemetry_of,
)
from device_adapters.exceptions import AdapterConfigError, PayloadRejected, RejectReason
from device_adapters.reading import StateValue, Telemetry
from device_adapters.templates import TemplateError, ValueTemplate, compile_template

__all__ = ["BIRTH_PAYLOAD", "BIRTH_TOPIC", "DISCOVERY_PREFIX", "Entity", "HaDiscoveryAdapter"]

DISCOVERY_PREFIX: Final = "homeassistant"
BIRTH_TOPIC: Final = f"{DISCOVERY_PREFIX}/status"
BIRTH_PAYLOAD: Final = b"online"
_COMPONENTS: Final = frozenset({"sensor", "binary_sensor", "switch"})
_SETTINGS: Final = frozenset(
    {"devices", "home_id", "metrics", "discovery_prefix", "max_payload_bytes", "max_entities"}
)
_UNAVAILABLE: Final = frozenset({"", "unknown", "unavailable", "None", "none", "null"})

# The abbreviations of the keys Aftercare reads (HA's ABBREVIATIONS, DEVICE_ABBREVIATIONS).
_ABBREVIATIONS: Final[Mapping[str, str]] = {
    "stat_t": "state_topic",
    "val_tpl": "value_template",
    "uniq_id": "unique_id",
    "obj_id": "object_id",
    "dev": "device",
    "unit_of_meas": "unit_of_measurement",
    "dev_cla": "device_class",
    "avty_t": "availability_topic",
    "avty": "availability",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_on": "payload_on",
    "pl_off": "payload_off",
    "stat_on": "state_on",
    "stat_off": "state_off",
    "cmps": "components",
    "p": "platform",
    "t": "topic",
}
_DEVICE_ABBREVIATIONS: Final[Mapping[str, str]] = {
    "ids": "identifiers",
    "mdl": "model",
    "mf": "manufacturer",
    "sw": "sw_version",
    "hw": "hw_version",
}
_TOPIC_KEYS: Final = ("state_topic", "availability_topic")


@dataclass(frozen=True, slots=True, kw_only=True)
class Entity:
    """One learned entity: where its value arrives and what it becomes.

    Attributes:
        key: ``(discovery topic, component id)``; the component id is empty except in
            device-based discovery.
        binding: the device.
        target: the metric (``is_metric``) or state key it becomes.
        state_topic: where its value arrives.
        template: how the value is read from the payload.
        payload_on: the ``on`` payload of a binary sensor or switch.
        payload_off: the ``off`` payload.
    """

    key: tuple[str, str]
    binding: DeviceBinding
    target: str
    is_metric: bool
    state_topic: str
    template: ValueTemplate
    payload_on: str = "ON"
    payload_off: str = "OFF"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Availability:
    device_id: str
    online: str
    offline: str


def _filters(prefix: str) -> tuple[str, ...]:
    return (f"{prefix}/+/+/config", f"{prefix}/+/+/+/config")


class HaDiscoveryAdapter:
    """Learns appliances from discovery configs and decodes their state topics.

    Args:
        bindings: explicit bindings by device identifier.
        metrics: metric names by entity ``unique_id`` (overrides the object-id rule).
        home_id: the home of devices learned by model.
        discovery_prefix: HA's discovery prefix (one topic level).
        max_entities: learning stops (``schema`` rejections) beyond this many entities.
        max_payload_bytes: larger payloads are rejected as ``too_large``.

    Attributes:
        availability: the last availability of each device id.
    """

    name: ClassVar[str] = "ha_discovery"
    topic_filters: tuple[str, ...] = _filters(DISCOVERY_PREFIX)  # per instance: the prefix

    def __init__(
        self,
        *,
        bindings: Mapping[str, DeviceBinding] | None = None,
        metrics: Mapping[str, str] | None = None,
        home_id: str | None = None,
        discovery_prefix: str = DISCOVERY_PREFIX,
        max_entities: int = 10_000,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        if not discovery_prefix or any(c in discovery_prefix for c in "+#/"):
            raise AdapterConfigError(
                f"{self.name}.discovery_prefix: {discovery_prefix!r} is not one topic level"
            )
        self.discovery_prefix = discovery_prefix
        self.topic_filters = _filters(discovery_prefix)
        self.bindings = dict(bindings or {})
        self.metrics = dict(metrics or {})
        self.home_id = home_id
        self.max_entities = max_entities
        self.max_payload_bytes = max_payload_bytes
        self.availability: dict[str, bool] = {}
        self._entities: dict[tuple[str, str], Entity] = {}
        self._by_topic: dict[str, list[Entity]] = defaultdict(list)
        self._avail: dict[tuple[str, str], tuple[str, _Availability]] = {}
        self._avail_by_topic: dict[str, list[_Availability]] = defaultdict(list)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from a configuration table.

        Keys: ``devices`` (bindings whose ``source`` is a device identifier), ``metrics``
        (a table of ``unique_id = "metric"``), ``home_id``, ``discovery_prefix``,
        ``max_entities``, ``max_payload_bytes``.

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        where = cls.name
        check_keys(settings, _SETTINGS, where)
        metrics = settings.get("metrics", {})
        if not isinstance(metrics, Mapping) or not all(
            isinstance(v, str) and ID_PATTERN.match(v) for v in metrics.values()
        ):
            raise AdapterConfigError(f"{where}.metrics: expected a table of metric names")
        home_id = read_str(settings, "home_id", where) or None
        if home_id is not None and not ID_PATTERN.match(home_id):
            raise AdapterConfigError(f"{where}.home_id: {home_id!r} is not a valid id")
        max_entities = settings.get("max_entities", 10_000)
        if type(max_entities) is not int or max_entities < 1:
            raise AdapterConfigError(f"{where}.max_entities: expected a positive integer")
        return cls(
            bindings=read_bindings(settings, where),
            metrics=dict(metrics),
            home_id=home_id,
            discovery_prefix=read_str(settings, "discovery_prefix", where, DISCOVERY_PREFIX),
            max_entities=max_entities,
            max_payload_bytes=read_max_payload(settings, where),
        )

    def state_topics(self) -> frozenset[str]:
        """Every learned state and availability topic: what the gateway must subscribe to."""
        return frozenset(self._by_topic) | frozenset(self._avail_by_topic)

    def entities(self) -> list[Entity]:
        """The learned entities."""
        return list(self._entities.values())

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        """Decode a discovery config or a learned state message."""
        check_size(payload, self.max_payload_bytes)
        parts = topic.split("/")
        if parts[0] == self.discovery_prefix and parts[-1] == "config" and len(parts) in (4, 5):
            self._discover(topic, parts[1], parts[-2], payload)
            out: list[Telemetry] = []
        elif topic in self._by_topic or topic in self._avail_by_topic:
            self._availability(topic, payload)
            out = self._state(topic, payload, received_at)
        else:
            raise PayloadRejected(RejectReason.UNKNOWN_TOPIC, f"no entity reads {topic!r}")
        return out

    # ------------------------------------------------------------------ learning

    def _discover(self, topic: str, component: str, object_id: str, payload: bytes) -> None:
        self._forget(topic)
        if not payload:
            return  # an empty config deletes the entity
        raw = load_json_object(payload)
        config = _expand(raw)
        device = config.get("device")
        binding = self._binding_of(device if isinstance(device, dict) else {})
        if component == "device":
            components = config.get("components")
            if not isinstance(components, dict):
                raise PayloadRejected(RejectReason.SCHEMA, "device discovery without components")
            shared = {k: v for k, v in raw.items() if k not in ("cmps", "components", "dev")}
            learned = [
                self._entity(
                    (topic, cid),
                    _expand({**shared, **c}),
                    str(c.get("p", c.get("platform", ""))),
                    cid,
                    binding,
                )
                for cid, c in components.items()
                if isinstance(c, dict)
            ]
        else:
            learned = [self._entity((topic, ""), config, component, object_id, binding)]
        entities = [e for e in learned if e is not None]
        if len(self._entities) + len(entities) > self.max_entities:
            raise PayloadRejected(RejectReason.SCHEMA, f"more than {self.max_entities} entities")
        for entity in entities:
            self._entities[entity.key] = entity
            self._by_topic[entity.state_topic].append(entity)
        self._learn_availability(topic, config, binding)

    def _binding_of(self, device: dict[str, Any]) -> DeviceBinding:
        identifiers = device.get("identifiers")
        if isinstance(identifiers, str):
            identifiers = [identifiers]
        if not isinstance(identifiers, list) or not identifiers:
            raise PayloadRejected(RejectReason.UNKNOWN_DEVICE, "discovery config names no device")
        for identifier in identifiers:
            binding = self.bindings.get(str(identifier))
            if binding is not None:
                return binding
        model = device.get("model")
        kind = kind_of_model(model) if isinstance(model, str) else None
        first = str(identifiers[0])
        if kind is None or not ID_PATTERN.match(first):
            raise PayloadRejected(
                RejectReason.UNKNOWN_DEVICE,
                f"device {first[:64]!r} (model {model!r}) is no appliance",
            )
        fw = device.get("sw_version")
        return DeviceBinding(
            source=first,
            device_id=first,
            kind=kind,
            home_id=self.home_id,
            model=str(model),
            fw=fw if isinstance(fw, str) and len(fw) <= 32 else None,
        )

    def _entity(
        self,
        key: tuple[str, str],
        config: dict[str, Any],
        component: str,
        object_id: str,
        binding: DeviceBinding,
    ) -> Entity | None:
        if component not in _COMPONENTS:
            return None  # lights, covers, buttons: nothing to measure
        state_topic = config.get("state_topic")
        if not isinstance(state_topic, str) or not state_topic or len(state_topic) > 256:
            raise PayloadRejected(
                RejectReason.SCHEMA, f"{component} {object_id!r} has no state_topic"
            )
        if any(c in state_topic for c in "+#"):
            raise PayloadRejected(RejectReason.SCHEMA, f"state_topic {state_topic!r} is a filter")
        try:
            template = compile_template(_text_or_none(config.get("value_template")))
        except TemplateError as exc:
            raise PayloadRejected(
                RejectReason.SCHEMA, f"{object_id}: {exc}", device_id=binding.device_id
            ) from exc
        is_metric = component == "sensor"
        unique_id = config.get("unique_id")
        target = self._target(binding, object_id, unique_id, is_metric)
        return Entity(
            key=key,
            binding=binding,
            target=target,
            is_metric=is_metric,
            state_topic=state_topic,
            template=template,
            payload_on=str(config.get("state_on", config.get("payload_on", "ON"))),
            payload_off=str(config.get("state_off", config.get("payload_off", "OFF"))),
        )

    def _target(
        self, binding: DeviceBinding, object_id: str, unique_id: object, is_metric: bool
    ) -> str:
        kind, device_id = binding.kind, binding.device_id
        if isinstance(unique_id, str) and unique_id in self.metrics:
            return self.metrics[unique_id]
        prefix = f"{device_id}_"
        if object_id.startswith(prefix):
            object_id = object_id[len(prefix) :]  # "ac-1_power" names the device twice
        if not is_metric:
            return "power" if object_id in ("power", "switch") else object_id
        for metric in default_catalog().kind(kind).metric_names:
            if object_id == metric or object_id.endswith(f"_{metric}"):
                return metric
        if not ID_PATTERN.match(object_id):
            raise PayloadRejected(RejectReason.SCHEMA, f"object id {object_id[:64]!r} is no name")
        return object_id

    def _learn_availability(
        self, topic: str, config: dict[str, Any], binding: DeviceBinding
    ) -> None:
        avty_topic = config.get("availability_topic")
        if not isinstance(avty_topic, str) or not avty_topic:
            return
        entry = _Availability(
            device_id=binding.device_id,
            online=str(config.get("payload_available", "online")),
            offline=str(config.get("payload_not_available", "offline")),
        )
        self._avail[(topic, avty_topic)] = (avty_topic, entry)
        self._avail_by_topic[avty_topic].append(entry)

    def _forget(self, topic: str) -> None:
        for key in [k for k in self._entities if k[0] == topic]:
            entity = self._entities.pop(key)
            remaining = [e for e in self._by_topic[entity.state_topic] if e.key != key]
            if remaining:
                self._by_topic[entity.state_topic] = remaining
            else:
                del self._by_topic[entity.state_topic]
        for key in [k for k in self._avail if k[0] == topic]:
            avty_topic, entry = self._avail.pop(key)
            left = [e for e in self._avail_by_topic[avty_topic] if e is not entry]
            if left:
                self._avail_by_topic[avty_topic] = left
            else:
                del self._avail_by_topic[avty_topic]

    # ------------------------------------------------------------------ reading

    def _availability(self, topic: str, payload: bytes) -> None:
        for entry in self._avail_by_topic.get(topic, ()):
            text = payload.decode("utf-8", "replace").strip()
            if text in (entry.online, entry.offline):
                self.availability[entry.device_id] = text == entry.online

    def _state(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        entities = self._by_topic.get(topic)
        if not entities:
            return []
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadRejected(RejectReason.BAD_JSON, "state payload is not UTF-8") from exc
        value_json = load_json(payload) if any(e.template.json for e in entities) else MISSING
        by_device: dict[str, tuple[DeviceBinding, dict[str, float], dict[str, StateValue]]] = {}
        for entity in entities:
            binding = entity.binding
            _, metrics, state = by_device.setdefault(binding.device_id, (binding, {}, {}))
            _read_entity(entity, text, value_json, metrics, state)
        return [
            telemetry_of(binding, received_at, metrics, state, self.name)
            for binding, metrics, state in by_device.values()
            if metrics or state
        ]


def _read_entity(
    entity: Entity,
    text: str,
    value_json: object,
    metrics: dict[str, float],
    state: dict[str, StateValue],
) -> None:
    device_id = entity.binding.device_id
    try:
        value = entity.template.render(text, value_json)
    except TemplateError as exc:
        raise PayloadRejected(RejectReason.SCHEMA, str(exc), device_id=device_id) from exc
    if value is MISSING or value is None:
        return  # this payload does not carry the entity (a shared topic), not an error
    if not entity.is_metric:
        as_text = str(value).strip() if not isinstance(value, bool) else value
        if as_text == entity.payload_on or on_off(as_text) == "on":
            state[entity.target] = "on"
        elif as_text == entity.payload_off or on_off(as_text) == "off":
            state[entity.target] = "off"
        return
    if isinstance(value, str) and value.strip() in _UNAVAILABLE:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadRejected(
            RejectReason.SCHEMA, f"{entity.target} is not a number", device_id=device_id
        )
    try:
        number = float(value)
    except (ValueError, OverflowError) as exc:
        raise PayloadRejected(
            RejectReason.SCHEMA, f"{entity.target}: {str(value)[:40]!r} is not a number"
        ) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise PayloadRejected(
            RejectReason.NON_FINITE, f"{entity.target} is not finite", device_id=device_id
        )
    metrics[entity.target] = number


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadRejected(RejectReason.SCHEMA, "value_template must be a string")
    return value


def _expand(config: dict[str, Any]) -> dict[str, Any]:
    """Abbreviations spelled out and ``~`` replaced by the base topic."""
    full = {_ABBREVIATIONS.get(k, k): v for k, v in config.items()}
    base = full.get("~")
    if isinstance(base, str):
        for key in _TOPIC_KEYS:
            value = full.get(key)
            if isinstance(value, str):
                if value.startswith("~"):
                    full[key] = base + value[1:]
                elif value.endswith("~"):
                    full[key] = value[:-1] + base
    device = full.get("device")
    if isinstance(device, dict):
        full["device"] = {_DEVICE_ABBREVIATIONS.get(k, k): v for k, v in device.items()}
    avty = full.get("availability")
    if "availability_topic" not in full and isinstance(avty, list) and avty:
        first = avty[0]
        if isinstance(first, dict):
            full["availability_topic"] = _expand({"~": base, **first}).get("topic")
    return full
