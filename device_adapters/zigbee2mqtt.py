"""Zigbee2MQTT: device state on ``zigbee2mqtt/<friendly_name>``, identity from the bridge.

Documentation followed: https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html
and https://www.zigbee2mqtt.io/guide/configuration/device-availability.html.

* ``zigbee2mqtt/<friendly_name>``: a flat JSON object. By the convention shared with the
  simulator, keys that are catalog metric names of the device's kind are metrics; other
  numeric keys (``linkquality``, ``battery``, ...) are kept as extra metrics, scalar text
  and booleans become state (``state`` or ``power`` ``ON``/``OFF`` becomes ``power: on``/
  ``off``), nested objects (``update``, ``color``) are ignored. New keys that later
  Zigbee2MQTT versions add are therefore never fatal. ``last_seen`` (ISO 8601 or epoch
  ms) is the timestamp when present.
* ``zigbee2mqtt/bridge/devices`` (retained): the device list; ``definition.model`` that
  is a catalog model gives the kind, the friendly name the device id.
* ``zigbee2mqtt/<friendly_name>/availability``: legacy ``online``/``offline`` or the 2.x
  JSON ``{"state": "online"}``; both are accepted and recorded in :attr:`availability`.
* Commands (``.../set``, ``.../get``) and other bridge topics yield nothing.

Configuration can bind a friendly name or IEEE address to a device explicitly; an
explicit binding wins over what the bridge announces.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Final, Self

from aftercare.catalog import default_catalog
from device_adapters._payload import (
    about,
    check_size,
    finite_number,
    is_state_scalar,
    load_json,
    load_json_object,
    on_off,
)
from device_adapters.base import DEFAULT_MAX_PAYLOAD_BYTES
from device_adapters.bindings import (
    ID_PATTERN,
    DeviceBinding,
    check_keys,
    kind_of_model,
    read_bindings,
    read_int,
    read_max_payload,
    read_str,
    telemetry_of,
)
from device_adapters.exceptions import AdapterConfigError, PayloadRejected, RejectReason
from device_adapters.reading import StateValue, Telemetry
from device_adapters.timestamps import parse_timestamp

__all__ = ["Zigbee2MqttAdapter"]

BASE_TOPIC: Final = "zigbee2mqtt"
_SETTINGS: Final = frozenset(
    {"devices", "home_id", "base_topic", "max_payload_bytes", "max_bridge_bytes"}
)
# bridge/devices carries every device's full definition (exposes, options): hundreds of
# kilobytes on a real network, far above a state message's limit
DEFAULT_MAX_BRIDGE_BYTES: Final = 8 * 1024 * 1024
_COMMANDS: Final = frozenset({"set", "get"})
# Z2M's switch state key, and the simulator's: both become the ``power`` state
_SWITCH_KEYS: Final = frozenset({"state", "power"})


class Zigbee2MqttAdapter:
    """Decodes Zigbee2MQTT device messages.

    Args:
        bindings: explicit bindings by friendly name or IEEE address.
        home_id: the home of devices learned from the bridge (one gateway, one home).
        base_topic: Zigbee2MQTT's ``mqtt.base_topic`` (several coordinators need several).
        max_payload_bytes: larger state payloads are rejected as ``too_large``.
        max_bridge_bytes: the limit for the ``bridge/devices`` list.

    Attributes:
        availability: the last availability of each device id (True when online).
    """

    name: ClassVar[str] = "zigbee2mqtt"
    topic_filters: tuple[str, ...] = (f"{BASE_TOPIC}/#",)  # per instance: see base_topic

    def __init__(
        self,
        *,
        bindings: Mapping[str, DeviceBinding] | None = None,
        home_id: str | None = None,
        base_topic: str = BASE_TOPIC,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_bridge_bytes: int = DEFAULT_MAX_BRIDGE_BYTES,
    ) -> None:
        if not base_topic or any(c in base_topic for c in "+#") or base_topic.endswith("/"):
            raise AdapterConfigError(f"{self.name}.base_topic: {base_topic!r} is not a topic")
        self.bindings = dict(bindings or {})
        self.home_id = home_id
        self.topic_filters = (f"{base_topic}/#",)
        self._base = f"{base_topic}/"
        self._bridge = f"{base_topic}/bridge/"
        self._bridge_devices = f"{base_topic}/bridge/devices"
        self.max_payload_bytes = max_payload_bytes
        self.max_bridge_bytes = max_bridge_bytes
        self.availability: dict[str, bool] = {}
        self._learned: dict[str, DeviceBinding] = {}
        self._ieee_of: dict[str, str] = {}
        self._metrics: dict[str, frozenset[str]] = {
            k.name: frozenset(k.metric_names) for k in default_catalog().kinds.values()
        }

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from a configuration table.

        Keys: ``devices``, ``home_id``, ``base_topic``, ``max_payload_bytes``,
        ``max_bridge_bytes``.

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        where = cls.name
        check_keys(settings, _SETTINGS, where)
        home_id = read_str(settings, "home_id", where) or None
        if home_id is not None and not ID_PATTERN.match(home_id):
            raise AdapterConfigError(f"{where}.home_id: {home_id!r} is not a valid id")
        return cls(
            bindings=read_bindings(settings, where),
            home_id=home_id,
            base_topic=read_str(settings, "base_topic", where, BASE_TOPIC),
            max_payload_bytes=read_max_payload(settings, where),
            max_bridge_bytes=read_int(
                settings,
                "max_bridge_bytes",
                where,
                DEFAULT_MAX_BRIDGE_BYTES,
                1024,
                256 * 1024 * 1024,
            ),
        )

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        """Decode one message; see :class:`~device_adapters.base.DeviceAdapter`."""
        if topic == self._bridge_devices:
            check_size(payload, self.max_bridge_bytes)
            self._learn_devices(load_json(payload))
            return []
        check_size(payload, self.max_payload_bytes)
        if not topic.startswith(self._base):
            raise PayloadRejected(RejectReason.UNKNOWN_TOPIC, f"not a Zigbee2MQTT topic: {topic!r}")
        if topic.startswith(self._bridge):
            return []  # bridge state, info, events, responses: nothing to read
        name = topic[len(self._base) :]
        head, _, last = name.rpartition("/")
        if last in _COMMANDS or head.endswith("/set"):
            return []  # a command to the device, not a report from it
        if last == "availability" and head:
            self._availability(head, payload)
            return []
        binding = self.binding_of(name)
        if binding is None:
            raise PayloadRejected(RejectReason.UNKNOWN_DEVICE, f"no device bound to {name!r}")
        with about(binding.device_id):
            return self._telemetry(binding, load_json_object(payload), received_at)

    def binding_of(self, friendly_name: str) -> DeviceBinding | None:
        """The device a friendly name stands for: configured first, then learned."""
        binding = self.bindings.get(friendly_name)
        if binding is None:
            ieee = self._ieee_of.get(friendly_name)
            binding = self.bindings.get(ieee) if ieee is not None else None
        return binding if binding is not None else self._learned.get(friendly_name)

    def _learn_devices(self, devices: object) -> None:
        if not isinstance(devices, list):
            raise PayloadRejected(RejectReason.SCHEMA, "bridge/devices must be a JSON array")
        learned: dict[str, DeviceBinding] = {}
        ieee_of: dict[str, str] = {}
        for item in devices:
            entry = _device_entry(item)
            if entry is None:
                continue  # the coordinator, or an entry without a usable name
            friendly, ieee, model = entry
            ieee_of[friendly] = ieee
            kind = kind_of_model(model) if model is not None else None
            if kind is None:
                continue  # a lamp or a remote: not an appliance of the catalog
            device_id = friendly if ID_PATTERN.match(friendly) else ieee
            if ID_PATTERN.match(device_id):
                learned[friendly] = DeviceBinding(
                    source=friendly,
                    device_id=device_id,
                    kind=kind,
                    home_id=self.home_id,
                    model=model,
                )
        # the retained list is complete each time: replacing keeps memory bounded by it
        self._learned, self._ieee_of = learned, ieee_of

    def _availability(self, name: str, payload: bytes) -> None:
        text = payload.strip()
        if text.startswith(b"{"):
            state = load_json_object(payload).get("state")
        else:
            state = text.decode("ascii", "replace")
        if state not in ("online", "offline"):
            raise PayloadRejected(RejectReason.SCHEMA, f"availability of {name!r} is {state!r}")
        binding = self.binding_of(name)
        if binding is not None:  # others' availability is not ours to keep (bounded memory)
            self.availability[binding.device_id] = state == "online"

    def _telemetry(
        self, binding: DeviceBinding, body: dict[str, Any], received_at: datetime
    ) -> list[Telemetry]:
        metrics, state, has_known = _split(body, self._metrics[binding.kind], binding.device_id)
        if not has_known:
            return []  # e.g. only linkquality or an action: nothing the detectors use
        ts = received_at
        if body.get("last_seen") is not None:
            try:
                ts = parse_timestamp(body["last_seen"])
            except PayloadRejected as exc:
                exc.device_id = binding.device_id
                raise
        return [telemetry_of(binding, ts, metrics, state, self.name)]


def _split(
    body: dict[str, Any], catalog_metrics: frozenset[str], device_id: str
) -> tuple[dict[str, float], dict[str, StateValue], bool]:
    """Metrics, state, and whether any catalog metric or the switch state was present."""
    metrics: dict[str, float] = {}
    state: dict[str, StateValue] = {}
    has_known = False
    for key, value in body.items():
        if key in catalog_metrics:
            if value is not None:
                metrics[key] = finite_number(value, key, device_id)
                has_known = True
        elif key in _SWITCH_KEYS:
            switched = on_off(value)
            if switched is not None:
                state["power"] = switched
                has_known = True
        elif key == "last_seen" or not ID_PATTERN.match(key):
            continue
        elif type(value) is int or type(value) is float:
            metrics[key] = float(value)  # orjson yields finite floats and 64-bit ints only
        elif is_state_scalar(value):
            state[key] = value
    return metrics, state, has_known


def _device_entry(item: object) -> tuple[str, str, str | None] | None:
    """``(friendly_name, ieee_address, definition.model)`` of one bridge/devices entry."""
    if not isinstance(item, dict) or item.get("type") == "Coordinator":
        return None
    friendly, ieee = item.get("friendly_name"), item.get("ieee_address")
    if not isinstance(friendly, str) or not isinstance(ieee, str) or not friendly:
        return None
    definition = item.get("definition")
    model = definition.get("model") if isinstance(definition, dict) else None
    return friendly, ieee, model if isinstance(model, str) else None
