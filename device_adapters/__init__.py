"""Device adapters: one module per wire format, each turning bytes into validated telemetry.

Sans-IO: no sockets, no asyncio, no clock reads. Every adapter satisfies
:class:`~device_adapters.base.DeviceAdapter` and is registered in :data:`ADAPTERS`, the
one place configuration looks names up. The serial formats also have a framer
(:class:`ModbusRtuFramer`, :class:`TuyaFramer`) that splits a byte stream into frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from device_adapters.base import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    AdapterClass,
    DeviceAdapter,
    topic_matches,
)
from device_adapters.bindings import DeviceBinding
from device_adapters.exceptions import (
    AdapterConfigError,
    AdapterError,
    PayloadRejected,
    RejectReason,
)
from device_adapters.framing import HuntingFramer
from device_adapters.ha_discovery import HaDiscoveryAdapter
from device_adapters.modbus_rtu import ModbusRtuAdapter, ModbusRtuFramer
from device_adapters.native import NativeAdapter, encode_native, native_topic
from device_adapters.reading import Reading, StateValue, Telemetry
from device_adapters.shelly_gen2 import ShellyGen2Adapter
from device_adapters.tasmota import TasmotaAdapter
from device_adapters.timestamps import parse_timestamp
from device_adapters.tuya_mcu import TuyaFramer, TuyaMcuAdapter
from device_adapters.zigbee2mqtt import Zigbee2MqttAdapter

__all__ = [
    "ADAPTERS",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "AdapterClass",
    "AdapterConfigError",
    "AdapterError",
    "DeviceAdapter",
    "DeviceBinding",
    "HaDiscoveryAdapter",
    "HuntingFramer",
    "ModbusRtuAdapter",
    "ModbusRtuFramer",
    "NativeAdapter",
    "PayloadRejected",
    "Reading",
    "RejectReason",
    "ShellyGen2Adapter",
    "StateValue",
    "TasmotaAdapter",
    "Telemetry",
    "TuyaFramer",
    "TuyaMcuAdapter",
    "Zigbee2MqttAdapter",
    "adapter_class",
    "build_adapter",
    "encode_native",
    "native_topic",
    "parse_timestamp",
    "topic_matches",
]

ADAPTERS: Final[Mapping[str, AdapterClass]] = MappingProxyType(
    {
        NativeAdapter.name: NativeAdapter,
        Zigbee2MqttAdapter.name: Zigbee2MqttAdapter,
        TasmotaAdapter.name: TasmotaAdapter,
        ShellyGen2Adapter.name: ShellyGen2Adapter,
        HaDiscoveryAdapter.name: HaDiscoveryAdapter,
        ModbusRtuAdapter.name: ModbusRtuAdapter,
        TuyaMcuAdapter.name: TuyaMcuAdapter,
    }
)
"""Every wire format by its configuration name (the ``adapter`` metric label)."""


def adapter_class(name: str) -> AdapterClass:
    """The adapter class configured as ``name``.

    Raises:
        AdapterConfigError: no adapter has that name; the message lists the valid ones.
    """
    try:
        return ADAPTERS[name]
    except KeyError:
        valid = ", ".join(sorted(ADAPTERS))
        raise AdapterConfigError(f"unknown adapter {name!r} (valid: {valid})") from None


def build_adapter(name: str, settings: Mapping[str, Any]) -> DeviceAdapter:
    """The adapter ``name`` configured from its table (``[adapters.<name>]`` in TOML).

    Raises:
        AdapterConfigError: the name is unknown, or the table has a bad key or value.
    """
    return adapter_class(name).from_settings(settings)
