"""Tasmota: periodic telemetry on ``tele/<topic>/SENSOR`` and ``tele/<topic>/STATE``.

Documentation followed: https://tasmota.github.io/docs/MQTT/ (topics, ``FullTopic``
``%prefix%/%topic%/``, ``TelePeriod``) and https://tasmota.github.io/docs/JSON-Status-Responses/
(the ``SENSOR`` and ``STATE`` payloads, the ``ENERGY`` keys).

* ``tele/<topic>/SENSOR``: JSON keyed by sensor name (``{"Time": ..., "DS18B20-1":
  {"Temperature": 23.9}, "ENERGY": {...}}``). Metrics are read through the kind's field
  map (:mod:`device_adapters.profiles`) or the device's own ``fields``; sensors the map
  does not mention are ignored. A message in which no mapped sensor is present is
  rejected as ``schema``: the device is misconfigured or the map is wrong, and the
  counter says so. A multi-channel value (an array) needs an index in the map
  (``ENERGY.Current.0``).
* ``Time`` is the device's **local time without an offset** (unless ``SetOption52`` adds
  one). The adapter's ``timezone`` setting (an IANA name, default ``UTC``) says which zone
  the devices are set to; a ``Time`` with an offset is read as such.
* ``tele/<topic>/STATE``: ``POWER`` (or ``POWER1``) is remembered and attached as the
  ``power`` state of the device's next ``SENSOR`` telemetry; it yields nothing itself.
* ``tele/<topic>/LWT``: ``Online``/``Offline``, recorded in :attr:`availability`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from device_adapters._payload import (
    about,
    apply_field_maps,
    apply_state_maps,
    check_size,
    load_json_object,
)
from device_adapters.base import DEFAULT_MAX_PAYLOAD_BYTES
from device_adapters.bindings import (
    DeviceBinding,
    check_keys,
    read_bindings,
    read_field_maps,
    read_list,
    read_max_payload,
    read_str,
    telemetry_of,
)
from device_adapters.exceptions import AdapterConfigError, PayloadRejected, RejectReason
from device_adapters.profiles import FieldMap, StateMap, profile_for
from device_adapters.reading import StateValue, Telemetry
from device_adapters.timestamps import parse_timestamp

__all__ = ["TasmotaAdapter", "TasmotaDevice"]

_SETTINGS: Final = frozenset({"devices", "timezone", "full_topic", "max_payload_bytes"})
DEFAULT_FULL_TOPIC: Final = "%prefix%/%topic%/"
_MESSAGES: Final = ("SENSOR", "STATE", "LWT")
_DEVICE_TOKENS: Final = frozenset({"%topic%", "%hostname%", "%id%"})


def _compile_full_topic(full_topic: str) -> tuple[tuple[str, ...], int]:
    """The levels of a ``FullTopic`` (``tele`` for ``%prefix%``) and the device's level.

    Raises:
        AdapterConfigError: no device token, or a token sharing a level with text.
    """
    levels = tuple(full_topic.rstrip("/").split("/"))
    device_levels = [i for i, level in enumerate(levels) if level in _DEVICE_TOKENS]
    if (
        len(device_levels) != 1
        or "%prefix%" not in levels
        or any("%" in level and level not in _DEVICE_TOKENS | {"%prefix%"} for level in levels)
    ):
        raise AdapterConfigError(
            f"tasmota.full_topic: {full_topic!r} needs %prefix% and one of %topic%,"
            " %hostname%, %id%, each a whole topic level"
        )
    return tuple("tele" if level == "%prefix%" else level for level in levels), device_levels[0]


_STATE_KEYS: Final = (StateMap(source="POWER1", key="power", on_off=True),)


@dataclass(frozen=True, slots=True, kw_only=True)
class TasmotaDevice:
    """A bound Tasmota device and the maps its messages are read with."""

    binding: DeviceBinding
    fields: tuple[FieldMap, ...]
    states: tuple[StateMap, ...]

    @classmethod
    def of(cls, binding: DeviceBinding, fields: tuple[FieldMap, ...] | None = None) -> Self:
        """The device with its own ``fields``, or its kind's default map."""
        profile = profile_for(binding.kind)
        return cls(
            binding=binding,
            fields=fields if fields is not None else profile.tasmota,
            states=profile.tasmota_state + _STATE_KEYS,
        )


class TasmotaAdapter:
    """Decodes Tasmota ``tele`` messages.

    Args:
        devices: the bound devices by Tasmota topic (``tasmota_ABC123``).
        timezone: the zone the devices' local ``Time`` is in.
        full_topic: the devices' ``FullTopic`` (default ``%prefix%/%topic%/``).
        max_payload_bytes: larger payloads are rejected as ``too_large``.

    Attributes:
        availability: the last ``LWT`` of each device id (True when online).
    """

    name: ClassVar[str] = "tasmota"
    topic_filters: tuple[str, ...] = ("tele/+/SENSOR", "tele/+/STATE", "tele/+/LWT")

    def __init__(
        self,
        *,
        devices: Mapping[str, TasmotaDevice],
        timezone: tzinfo | None = None,
        full_topic: str = DEFAULT_FULL_TOPIC,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self.devices = dict(devices)
        self._levels, self._device_level = _compile_full_topic(full_topic)
        pattern = [
            "+" if i == self._device_level else level for i, level in enumerate(self._levels)
        ]
        self.topic_filters = tuple("/".join((*pattern, m)) for m in _MESSAGES)
        self.timezone = timezone or ZoneInfo("UTC")
        self.max_payload_bytes = max_payload_bytes
        self.availability: dict[str, bool] = {}
        self._state: dict[str, dict[str, StateValue]] = {}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from a configuration table.

        Keys: ``devices`` (bindings by Tasmota topic, each with optional ``fields``),
        ``timezone`` (IANA name), ``full_topic``, ``max_payload_bytes``.

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        where = cls.name
        check_keys(settings, _SETTINGS, where)
        zone_name = read_str(settings, "timezone", where, "UTC")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise AdapterConfigError(f"{where}.timezone: unknown zone {zone_name!r}") from exc
        bindings = read_bindings(settings, where, frozenset({"fields"}))
        overrides = read_list(settings, "devices", where, read_field_maps)
        devices = {
            b.source: TasmotaDevice.of(b, fields)
            for b, fields in zip(bindings.values(), overrides, strict=True)
        }
        return cls(
            devices=devices,
            timezone=zone,
            full_topic=read_str(settings, "full_topic", where, DEFAULT_FULL_TOPIC),
            max_payload_bytes=read_max_payload(settings, where),
        )

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        """Decode one message; see :class:`~device_adapters.base.DeviceAdapter`."""
        check_size(payload, self.max_payload_bytes)
        device_topic, message = self._split(topic)
        device = self.devices.get(device_topic)
        if device is None:
            raise PayloadRejected(
                RejectReason.UNKNOWN_DEVICE, f"no device bound to Tasmota topic {device_topic!r}"
            )
        device_id = device.binding.device_id
        with about(device_id):
            if message == "LWT":
                self._lwt(device_id, payload)
                return []
            if message == "STATE":
                state = apply_state_maps(load_json_object(payload), device.states)
                self._state[device_id] = state
                return []
            if message != "SENSOR":
                raise PayloadRejected(
                    RejectReason.UNKNOWN_TOPIC, f"unknown Tasmota message {message!r}"
                )
            return [self._sensor(device, load_json_object(payload), received_at)]

    def _split(self, topic: str) -> tuple[str, str]:
        """``(device topic, message)`` of a ``tele`` topic under the ``FullTopic``."""
        levels = topic.split("/")
        expected = self._levels
        if len(levels) != len(expected) + 1 or any(
            want != got
            for i, (want, got) in enumerate(zip(expected, levels, strict=False))
            if i != self._device_level
        ):
            raise PayloadRejected(
                RejectReason.UNKNOWN_TOPIC, f"not a Tasmota tele topic: {topic!r}"
            )
        return levels[self._device_level], levels[-1]

    def _sensor(
        self, device: TasmotaDevice, body: dict[str, Any], received_at: datetime
    ) -> Telemetry:
        device_id = device.binding.device_id
        metrics = apply_field_maps(body, device.fields, device_id)
        if not metrics:
            raise PayloadRejected(
                RejectReason.SCHEMA,
                "SENSOR carries none of the mapped sensors "
                f"({', '.join(f.source for f in device.fields[:4])}, ...)",
                device_id=device_id,
            )
        ts = received_at
        if "Time" in body:
            try:
                ts = parse_timestamp(body["Time"], naive_tz=self.timezone)
            except PayloadRejected as exc:
                exc.device_id = device_id
                raise
        state = dict(self._state.get(device_id, {}))
        return telemetry_of(device.binding, ts, metrics, state, self.name)

    def _lwt(self, device_id: str, payload: bytes) -> None:
        text = payload.strip()
        if text not in (b"Online", b"Offline"):
            raise PayloadRejected(
                RejectReason.SCHEMA, "LWT must be 'Online' or 'Offline'", device_id=device_id
            )
        self.availability[device_id] = text == b"Online"
