"""Device identity for the foreign formats, and the configuration readers the adapters share.

A foreign payload names its sender in the format's own terms (a Zigbee friendly name, a
Tasmota topic, a Shelly device id, a Modbus unit address, a serial port). A
:class:`DeviceBinding` maps that source onto Aftercare's identity (device, home, kind,
model). Adapters are built from a plain mapping (a TOML table) by ``from_settings``; the
readers here validate it and raise :class:`AdapterConfigError` naming the bad key, so a
typo fails at start-up rather than per message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from aftercare.catalog import default_catalog
from device_adapters.base import DEFAULT_MAX_PAYLOAD_BYTES
from device_adapters.exceptions import AdapterConfigError
from device_adapters.profiles import FieldMap
from device_adapters.reading import StateValue, Telemetry

__all__ = [
    "ID_PATTERN",
    "DeviceBinding",
    "check_keys",
    "kind_of_model",
    "read_binding",
    "read_bindings",
    "read_field_maps",
    "read_float",
    "read_int",
    "read_list",
    "read_max_payload",
    "read_str",
    "telemetry_of",
]

ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
"""Device and home ids: the native topic's path segment rules."""

T = TypeVar("T")
_BINDING_KEYS: Final = frozenset({"source", "device_id", "home_id", "kind", "model", "fw"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceBinding:
    """One source (as the wire format names it) mapped to an Aftercare device.

    Attributes:
        source: the format's name for the device (friendly name, Tasmota topic, ...).
        device_id: the Aftercare device id.
        home_id: the home it belongs to, when known.
        kind: the catalog kind; selects the default field maps.
        model: the appliance model, when known.
        fw: the firmware version, when known.
    """

    source: str
    device_id: str
    kind: str
    home_id: str | None = None
    model: str | None = None
    fw: str | None = None

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.device_id):
            raise ValueError(f"device_id {self.device_id!r} is not a valid id")
        if self.home_id is not None and not ID_PATTERN.match(self.home_id):
            raise ValueError(f"home_id {self.home_id!r} is not a valid id")
        if self.kind not in default_catalog().kinds:
            known = ", ".join(sorted(default_catalog().kinds))
            raise ValueError(f"kind {self.kind!r} is not in the catalog ({known})")


def kind_of_model(model: str) -> str | None:
    """The catalog kind of an appliance model, or ``None`` for a model the catalog lacks."""
    spec = default_catalog().models.get(model)
    return spec.kind if spec is not None else None


def check_keys(settings: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    """Refuse keys an adapter does not know (a typo must not be silently ignored)."""
    if not isinstance(settings, Mapping):
        raise AdapterConfigError(f"{where}: expected a table, got {type(settings).__name__}")
    unknown = sorted(str(k) for k in settings if k not in allowed)
    if unknown:
        raise AdapterConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )


def _read(settings: Mapping[str, Any], key: str, typ: type[T], where: str, default: T) -> T:
    value = settings.get(key, default)
    if typ is float and type(value) is int:
        value = float(value)
    if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
        raise AdapterConfigError(f"{where}.{key}: expected {typ.__name__}, got {value!r}")
    return value


def read_str(settings: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    """A string setting."""
    return _read(settings, key, str, where, default)


def read_int(
    settings: Mapping[str, Any], key: str, where: str, default: int, low: int, high: int
) -> int:
    """An integer setting within ``low..high``."""
    value = _read(settings, key, int, where, default)
    if not low <= value <= high:
        raise AdapterConfigError(f"{where}.{key}: {value} is outside {low}..{high}")
    return value


def read_float(settings: Mapping[str, Any], key: str, where: str, default: float) -> float:
    """A float setting (an integer is accepted)."""
    return _read(settings, key, float, where, default)


def read_list(
    settings: Mapping[str, Any],
    key: str,
    where: str,
    item: Callable[[Mapping[str, Any], str], T],
) -> list[T]:
    """A list of tables, each read by ``item(table, where_of_item)``."""
    raw = settings.get(key, [])
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise AdapterConfigError(f"{where}.{key}: expected a list of tables")
    out = []
    for i, entry in enumerate(raw):
        at = f"{where}.{key}[{i}]"
        if not isinstance(entry, Mapping):
            raise AdapterConfigError(f"{at}: expected a table, got {type(entry).__name__}")
        try:
            out.append(item(entry, at))
        except (ValueError, TypeError) as exc:
            raise AdapterConfigError(f"{at}: {exc}") from exc
    return out


def read_max_payload(
    settings: Mapping[str, Any], where: str, default: int = DEFAULT_MAX_PAYLOAD_BYTES
) -> int:
    """The ``max_payload_bytes`` setting every adapter takes."""
    return read_int(settings, "max_payload_bytes", where, default, 64, 16 * 1024 * 1024)


def read_binding(entry: Mapping[str, Any], where: str, extra: frozenset[str]) -> DeviceBinding:
    """One device table as a binding (``extra`` names the other keys it may carry)."""
    check_keys(entry, _BINDING_KEYS | extra, where)
    for key in ("source", "device_id", "kind"):
        if key not in entry:
            raise AdapterConfigError(f"{where}: missing key {key!r}")
    optional = {k: read_str(entry, k, where) or None for k in ("home_id", "model", "fw")}
    return DeviceBinding(
        source=read_str(entry, "source", where),
        device_id=read_str(entry, "device_id", where),
        kind=read_str(entry, "kind", where),
        **optional,
    )


def read_bindings(
    settings: Mapping[str, Any], where: str, extra: frozenset[str] = frozenset()
) -> dict[str, DeviceBinding]:
    """The ``devices`` list of an adapter, keyed by source; duplicates are refused.

    Args:
        settings: the adapter's table.
        where: the table's name, for error messages.
        extra: keys a device table may carry besides the binding's own (an adapter's
            per-device overrides, read by the adapter itself).
    """
    bindings: dict[str, DeviceBinding] = {}
    for binding in read_list(settings, "devices", where, lambda e, at: read_binding(e, at, extra)):
        if binding.source in bindings:
            raise AdapterConfigError(f"{where}.devices: source {binding.source!r} bound twice")
        bindings[binding.source] = binding
    return bindings


def read_field_maps(entry: Mapping[str, Any], where: str) -> tuple[FieldMap, ...] | None:
    """A device's own ``fields`` rows (``{source, metric, scale}``); ``None``: the defaults."""
    if "fields" not in entry:
        return None

    def row(item: Mapping[str, Any], at: str) -> FieldMap:
        check_keys(item, frozenset({"source", "metric", "scale"}), at)
        return FieldMap(
            source=read_str(item, "source", at),
            metric=read_str(item, "metric", at),
            scale=read_float(item, "scale", at, 1.0),
        )

    rows = tuple(read_list(entry, "fields", where, row))
    if not rows:
        raise AdapterConfigError(f"{where}.fields: empty")
    return rows


def telemetry_of(
    binding: DeviceBinding,
    ts: datetime,
    metrics: dict[str, float],
    state: dict[str, StateValue],
    source: str,
) -> Telemetry:
    """A :class:`Telemetry` of a bound device."""
    return Telemetry(
        device_id=binding.device_id,
        ts=ts,
        metrics=metrics,
        state=state,
        home_id=binding.home_id,
        kind=binding.kind,
        model=binding.model,
        fw=binding.fw,
        source=source,
    )
