"""Shelly Gen2 (Plus/Pro): JSON-RPC notifications on ``<device id>/events/rpc``.

Documentation followed: https://shelly-api-docs.shelly.cloud/gen2/General/Notifications
(``NotifyStatus``, ``NotifyFullStatus``, ``NotifyEvent``),
https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Mqtt (topics) and
https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Switch (status fields).

* ``<prefix>/events/rpc``: ``NotifyFullStatus`` carries every component's status and
  replaces what is known; ``NotifyStatus`` carries **only the keys that changed**, so it
  is overlaid on the last known status (nested objects merge, a ``null`` deletes the
  key). ``params.ts`` (Unix seconds) is the timestamp. ``NotifyEvent`` yields nothing.
* ``<prefix>/status/<component:id>``: a component's entire status (``status_ntf``);
  replaces that component.
* ``<prefix>/online``: ``true``/``false``, recorded in :attr:`availability`.

Metrics are read through field paths whose first segment is the component key
(``switch:0.current``, ``temperature:100.tC``). Only the components the maps use are kept,
so memory per device is bounded by the map, not by what a device chooses to send. A
notification that changes none of them yields nothing (a ``cloud`` or ``wifi`` change is
no new reading).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final, Self

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
    telemetry_of,
)
from device_adapters.exceptions import PayloadRejected, RejectReason
from device_adapters.profiles import FieldMap, StateMap, profile_for
from device_adapters.reading import Telemetry
from device_adapters.timestamps import parse_timestamp

__all__ = ["ShellyDevice", "ShellyGen2Adapter"]

_SETTINGS: Final = frozenset({"devices", "max_payload_bytes"})
_MAX_DEPTH: Final = 8

Status = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShellyDevice:
    """A bound Shelly device, its maps, and the components those maps read."""

    binding: DeviceBinding
    fields: tuple[FieldMap, ...]
    states: tuple[StateMap, ...]
    components: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        used = {f.path[0] for f in self.fields} | {s.path[0] for s in self.states}
        object.__setattr__(self, "components", frozenset(used))

    @classmethod
    def of(cls, binding: DeviceBinding, fields: tuple[FieldMap, ...] | None = None) -> Self:
        """The device with its own ``fields``, or its kind's default map."""
        profile = profile_for(binding.kind)
        return cls(
            binding=binding,
            fields=fields if fields is not None else profile.shelly,
            states=profile.shelly_state,
        )


class ShellyGen2Adapter:
    """Decodes Shelly Gen2 notifications and status messages.

    Args:
        devices: the bound devices by topic prefix (the device id, e.g.
            ``shellyplus1pm-a8032ab12345``).
        max_payload_bytes: larger payloads are rejected as ``too_large``.

    Attributes:
        availability: the last ``online`` value of each device id.
    """

    name: ClassVar[str] = "shelly_gen2"
    topic_filters: ClassVar[tuple[str, ...]] = ("+/events/rpc", "+/status/+", "+/online")

    def __init__(
        self,
        *,
        devices: Mapping[str, ShellyDevice],
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self.devices = dict(devices)
        self.max_payload_bytes = max_payload_bytes
        self.availability: dict[str, bool] = {}
        self._status: dict[str, Status] = {}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from a configuration table (``devices`` with optional ``fields``).

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        where = cls.name
        check_keys(settings, _SETTINGS, where)
        bindings = read_bindings(settings, where, frozenset({"fields"}))
        overrides = read_list(settings, "devices", where, read_field_maps)
        devices = {
            b.source: ShellyDevice.of(b, fields)
            for b, fields in zip(bindings.values(), overrides, strict=True)
        }
        return cls(devices=devices, max_payload_bytes=read_max_payload(settings, where))

    def status_of(self, device_id: str) -> Mapping[str, Mapping[str, Any]]:
        """The last known status of the mapped components of a device."""
        return self._status.get(device_id, {})

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        """Decode one message; see :class:`~device_adapters.base.DeviceAdapter`."""
        check_size(payload, self.max_payload_bytes)
        prefix, _, rest = topic.partition("/")
        device = self.devices.get(prefix)
        if device is None:
            raise PayloadRejected(RejectReason.UNKNOWN_DEVICE, f"no device bound to {prefix!r}")
        with about(device.binding.device_id):
            if rest == "online":
                self._online(device.binding.device_id, payload)
                return []
            if rest == "events/rpc":
                return self._notification(device, load_json_object(payload), received_at)
            channel, _, component = rest.partition("/")
            if channel != "status" or not component:
                raise PayloadRejected(RejectReason.UNKNOWN_TOPIC, f"not a Shelly topic: {topic!r}")
            change = {component: load_json_object(payload)}
            return self._apply(device, change, received_at, full=False, whole=True)

    def _notification(
        self, device: ShellyDevice, frame: dict[str, Any], received_at: datetime
    ) -> list[Telemetry]:
        device_id = device.binding.device_id
        method, params = frame.get("method"), frame.get("params")
        if not isinstance(method, str) or not isinstance(params, dict):
            raise PayloadRejected(
                RejectReason.SCHEMA,
                "a notification needs 'method' and 'params'",
                device_id=device_id,
            )
        if method not in ("NotifyStatus", "NotifyFullStatus"):
            return []  # NotifyEvent and the like carry no status
        ts = received_at
        if "ts" in params:
            try:
                ts = parse_timestamp(params["ts"])
            except PayloadRejected as exc:
                exc.device_id = device_id
                raise
        changes = {k: v for k, v in params.items() if k != "ts"}
        return self._apply(device, changes, ts, full=method == "NotifyFullStatus")

    def _apply(
        self,
        device: ShellyDevice,
        changes: dict[str, Any],
        ts: datetime,
        *,
        full: bool,
        whole: bool = False,
    ) -> list[Telemetry]:
        """Apply a status change; ``full`` replaces everything, ``whole`` each component."""
        device_id = device.binding.device_id
        touched = device.components.intersection(changes)
        if not touched and not full:
            return []
        status: Status = {} if full else dict(self._status.get(device_id, {}))
        for key in touched:
            change = changes[key]
            if change is None:
                status.pop(key, None)
            elif not isinstance(change, dict):
                raise PayloadRejected(
                    RejectReason.SCHEMA, f"status of {key!r} must be an object", device_id=device_id
                )
            elif full or whole:
                status[key] = change
            else:
                status[key] = _overlay(status.get(key, {}), change, 0)
        metrics = apply_field_maps(status, device.fields, device_id)  # validates before keeping
        self._status[device_id] = status
        if not metrics:
            return []
        state = apply_state_maps(status, device.states)
        return [telemetry_of(device.binding, ts, metrics, state, self.name)]

    def _online(self, device_id: str, payload: bytes) -> None:
        text = payload.strip()
        if text not in (b"true", b"false"):
            raise PayloadRejected(
                RejectReason.SCHEMA, "online must be 'true' or 'false'", device_id=device_id
            )
        self.availability[device_id] = text == b"true"


def _overlay(known: dict[str, Any], change: dict[str, Any], depth: int) -> dict[str, Any]:
    """``known`` with ``change`` merged in: objects merge, ``null`` deletes (a new dict)."""
    if depth > _MAX_DEPTH:
        raise PayloadRejected(RejectReason.SCHEMA, "status nested too deeply")
    merged = dict(known)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _overlay(merged[key], value, depth + 1)
        else:
            merged[key] = value
    return merged
