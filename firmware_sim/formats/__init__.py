"""Wire formats the simulated devices publish in: native, Zigbee2MQTT, Tasmota, Shelly Gen2.

Every format is one class satisfying :class:`FormatEncoder`: the messages of one report,
the messages a device publishes when it connects (availability, discovery), and its
last will. The foreign formats encode with the gateway's own field maps
(``device_adapters.profiles``), so what the simulator publishes the gateway decodes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from aftercare.catalog import Catalog
from firmware_sim.formats.base import FormatEncoder, Publication
from firmware_sim.formats.native import NativeFormat
from firmware_sim.formats.shelly import ShellyFormat
from firmware_sim.formats.tasmota import TasmotaFormat
from firmware_sim.formats.zigbee2mqtt import Zigbee2MqttFormat
from firmware_sim.spec import WireFormat

__all__ = ["ENCODERS", "FormatEncoder", "Publication"]

ENCODERS: Final[Mapping[WireFormat, Callable[[Catalog], FormatEncoder]]] = MappingProxyType(
    {
        WireFormat.NATIVE: NativeFormat,
        WireFormat.ZIGBEE2MQTT: Zigbee2MqttFormat,
        WireFormat.TASMOTA: TasmotaFormat,
        WireFormat.SHELLY: ShellyFormat,
    }
)
"""The encoder of every wire format."""
