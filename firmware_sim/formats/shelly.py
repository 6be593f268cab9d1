"""Shelly Gen2 (Plus / Pro) devices as they notify over MQTT.

Shapes follow the Shelly Gen2 API documentation
(https://shelly-api-docs.shelly.cloud/gen2/General/Notifications and
https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Mqtt): with ``rpc_ntf``
enabled the device publishes JSON-RPC notification frames on ``<prefix>/events/rpc``:
``{"src": <device id>, "dst": <prefix>/events, "method": "NotifyStatus", "params":
{"ts": <unix seconds>, "<component>:<id>": {...}}}``; ``<prefix>/online`` is ``true`` /
``false`` (the last will). Components and fields come from the gateway's profile
(``device_adapters.profiles``: ``switch:0`` meter, ``temperature:100+`` add-on probes,
``input:2`` counters, ``number:200+`` virtual components).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from aftercare.catalog import Catalog
from device_adapters.profiles import profile_for
from firmware_sim.formats.base import Publication, fill_fields, fill_states

__all__ = ["ShellyFormat"]


class ShellyFormat:
    """One Shelly Gen2 device whose MQTT prefix is the device id."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def telemetry(
        self,
        device: Any,  # noqa: ANN401 — a DeviceSpec
        measured_at: datetime,
        metrics: Mapping[str, float],
        state: Mapping[str, str],
        seq: int,  # noqa: ARG002 — NotifyStatus has no counter
    ) -> list[Publication]:
        """One ``NotifyStatus`` frame with every mapped component."""
        profile = profile_for(device.kind)
        params: dict[str, Any] = {"ts": round(measured_at.timestamp(), 2)}
        fill_fields(params, profile.shelly, metrics)
        fill_states(params, profile.shelly_state, state or {"power": "on"}, on_off=(False, True))
        for key, value in params.items():
            if isinstance(value, dict) and ":" in key:
                value.setdefault("id", int(key.split(":", 1)[1]))
        frame = {
            "src": device.device_id,
            "dst": f"{device.device_id}/events",
            "method": "NotifyStatus",
            "params": params,
        }
        return [(f"{device.device_id}/events/rpc", orjson.dumps(frame), False)]

    def birth(self, device: Any) -> list[Publication]:  # noqa: ANN401 — a DeviceSpec
        """Retained ``true`` on ``<prefix>/online``."""
        return [(f"{device.device_id}/online", b"true", True)]

    def will(self, device: Any) -> Publication:  # noqa: ANN401 — a DeviceSpec
        """Retained ``false`` on ``<prefix>/online``: the Gen2 last will."""
        return (f"{device.device_id}/online", b"false", True)
