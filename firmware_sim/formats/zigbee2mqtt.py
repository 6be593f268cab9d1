"""Zigbee2MQTT as a bridge publishes a device.

Shapes follow the Zigbee2MQTT documentation (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html):
``zigbee2mqtt/<FRIENDLY_NAME>`` carries the device state as one flat JSON object, with
the common ``linkquality`` and ``last_seen`` (ISO 8601 with milliseconds, the
``advanced.last_seen: ISO_8601`` setting) keys; ``zigbee2mqtt/<FRIENDLY_NAME>/availability``
is retained ``{"state":"online"}`` / ``{"state":"offline"}`` (the JSON form, the only one
since 2.0); ``zigbee2mqtt/bridge/devices`` is a retained array describing every device
(``ieee_address``, ``type``, ``network_address``, ``supported``, ``friendly_name``,
``definition{model,vendor,description,exposes,options}``, ``power_source``,
``interview_completed``). Per the convention agreed with the gateway's adapter
(``device_adapters.profiles.z2m_fields``) the state keys are the catalog metric names
and the friendly name is the device id.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from aftercare.catalog import Catalog
from device_adapters.profiles import z2m_fields
from firmware_sim.formats.base import Publication, wire_number

__all__ = ["Zigbee2MqttFormat", "bridge_devices"]

BASE_TOPIC = "zigbee2mqtt"


def ieee_address(device_id: str) -> str:
    """A stable 64-bit IEEE address for a simulated device."""
    crc = zlib.crc32(device_id.encode())
    return f"0x00124b00{crc:08x}"


def bridge_devices(devices: Sequence[Any], catalog: Catalog) -> Publication:
    """The retained ``zigbee2mqtt/bridge/devices`` message for ``devices``."""
    body = [
        {
            "ieee_address": ieee_address(d.device_id),
            "type": "Router",
            "network_address": zlib.crc32(d.device_id.encode()) & 0xFFFF,
            "supported": True,
            "friendly_name": d.device_id,
            "disabled": False,
            "definition": {
                "model": d.model,
                "vendor": "Aftercare",
                "description": catalog.kind(d.kind).label_en,
                "exposes": [
                    {
                        "type": "numeric",
                        "name": m.name,
                        "property": m.name,
                        "unit": m.unit,
                        "access": 1,
                    }
                    for m in catalog.kind(d.kind).metrics
                ],
                "options": [],
            },
            "power_source": "Mains (single phase)",
            "model_id": d.model,
            "manufacturer": "Aftercare",
            "interview_completed": True,
            "software_build_id": d.fw,
        }
        for d in devices
    ]
    return (f"{BASE_TOPIC}/bridge/devices", orjson.dumps(body), True)


class Zigbee2MqttFormat:
    """One device behind a Zigbee2MQTT bridge."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def telemetry(
        self,
        device: Any,  # noqa: ANN401 — a DeviceSpec
        measured_at: datetime,
        metrics: Mapping[str, float],
        state: Mapping[str, str],
        seq: int,  # noqa: ARG002 — Zigbee2MQTT has no message counter
    ) -> list[Publication]:
        """The device's state message."""
        body: dict[str, Any] = {}
        for fm in z2m_fields(device.kind):
            if fm.metric in metrics:
                body[fm.source] = wire_number(metrics[fm.metric])
        for key, value in state.items():
            body[key] = value.upper() if key == "power" else value
        body["linkquality"] = 60 + zlib.crc32(device.device_id.encode()) % 120
        stamp = measured_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body["last_seen"] = stamp
        return [(f"{BASE_TOPIC}/{device.device_id}", orjson.dumps(body), False)]

    def birth(self, device: Any) -> list[Publication]:  # noqa: ANN401 — a DeviceSpec
        """Retained availability ``online`` and this device's bridge entry."""
        return [
            (f"{BASE_TOPIC}/{device.device_id}/availability", b'{"state":"online"}', True),
        ]

    def will(self, device: Any) -> Publication:  # noqa: ANN401 — a DeviceSpec
        """Retained availability ``offline``."""
        return (f"{BASE_TOPIC}/{device.device_id}/availability", b'{"state":"offline"}', True)
