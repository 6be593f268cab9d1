"""The contract of a simulated device's wire format, and helpers shared by the encoders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, TypeAlias

from device_adapters.profiles import FieldMap, StateMap

__all__ = ["FormatEncoder", "Publication", "put_path", "wire_number"]

Publication: TypeAlias = tuple[str, bytes, bool]
"""(topic, payload, retain)."""


class FormatEncoder(Protocol):
    """Encodes one device's messages in one wire format."""

    def telemetry(
        self,
        device: Any,  # noqa: ANN401 — a DeviceSpec; Any keeps this module import-light
        measured_at: datetime,
        metrics: Mapping[str, float],
        state: Mapping[str, str],
        seq: int,
    ) -> list[Publication]:
        """The messages of one report."""
        ...

    def birth(self, device: Any) -> list[Publication]:  # noqa: ANN401 — a DeviceSpec
        """What the device publishes after every (re)connect: availability, discovery."""
        ...

    def will(self, device: Any) -> Publication:  # noqa: ANN401 — a DeviceSpec
        """The device's last will (retained, published by the broker if it vanishes)."""
        ...


def wire_number(value: float) -> float | int:
    """A wire value without float noise: whole numbers as int, others to 6 decimals."""
    rounded = round(value, 6)
    return int(rounded) if float(rounded).is_integer() else rounded


def put_path(target: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    """Set ``target[path[0]][path[1]]... = value``, creating the nested objects."""
    node = target
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def fill_fields(
    target: dict[str, Any], fields: tuple[FieldMap, ...], metrics: Mapping[str, float]
) -> None:
    """Place each mapped metric at its source path, scaled to the wire."""
    for fm in fields:
        if fm.metric in metrics:
            put_path(target, fm.path, wire_number(fm.encode(metrics[fm.metric])))


def fill_states(
    target: dict[str, Any],
    states: tuple[StateMap, ...],
    state: Mapping[str, str],
    *,
    on_off: tuple[object, object],
) -> None:
    """Place each mapped state key at its source path (``on_off`` = wire off/on values)."""
    for sm in states:
        if sm.key in state:
            raw = state[sm.key]
            value: object = raw
            if sm.on_off:
                value = on_off[1] if raw == "on" else on_off[0]
            put_path(target, sm.path, value)
