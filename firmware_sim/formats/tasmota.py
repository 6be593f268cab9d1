"""Tasmota as a flashed appliance controller publishes.

Shapes follow the Tasmota documentation (https://tasmota.github.io/docs/MQTT/ and
https://tasmota.github.io/docs/Commands/#teleperiod): every ``TelePeriod`` (default
300 s) ``tele/<topic>/SENSOR`` carries ``{"Time": <local time, no offset>, <sensor name>:
{...}}`` and ``tele/<topic>/STATE`` carries uptime, heap, Wi-Fi and the power state;
``tele/<topic>/LWT`` is the retained ``Online`` / ``Offline`` last will. Sensor names
and keys come from the gateway's profile (``device_adapters.profiles``: DS18B20 probes,
ENERGY, ANALOG, and an ``Appliance`` object from a Berry driver). The simulated devices
run with ``Timezone 0``, so their local ``Time`` is UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from aftercare.catalog import Catalog
from device_adapters.profiles import profile_for
from firmware_sim.formats.base import Publication, fill_fields, fill_states

__all__ = ["TasmotaFormat"]


class TasmotaFormat:
    """One Tasmota device whose ``%topic%`` is the device id."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._boot: dict[str, float] = {}

    def telemetry(
        self,
        device: Any,  # noqa: ANN401 — a DeviceSpec
        measured_at: datetime,
        metrics: Mapping[str, float],
        state: Mapping[str, str],
        seq: int,
    ) -> list[Publication]:
        """``tele/<id>/STATE`` and ``tele/<id>/SENSOR`` of one TelePeriod."""
        profile = profile_for(device.kind)
        local = measured_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        sensor: dict[str, Any] = {"Time": local}
        fill_fields(sensor, profile.tasmota, metrics)
        power: dict[str, Any] = {}
        fill_states(power, profile.tasmota_state, state or {"power": "on"}, on_off=("OFF", "ON"))
        boot = self._boot.setdefault(device.device_id, measured_at.timestamp() - 3600.0)
        uptime = max(int(measured_at.timestamp() - boot), 0)
        days, rest = divmod(uptime, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        status: dict[str, Any] = {
            "Time": local,
            "Uptime": f"{days}T{hours:02d}:{minutes:02d}:{seconds:02d}",
            "UptimeSec": uptime,
            "Heap": 24,
            "SleepMode": "Dynamic",
            "Sleep": 50,
            "LoadAvg": 19,
            "MqttCount": 1,
            **power,
            "Wifi": {
                "AP": 1,
                "SSId": "home",
                "Channel": 6,
                "RSSI": 70 + seq % 20,
                "LinkCount": 1,
                "Downtime": "0T00:00:03",
            },
        }
        topic = device.device_id
        return [
            (f"tele/{topic}/STATE", orjson.dumps(status), False),
            (f"tele/{topic}/SENSOR", orjson.dumps(sensor), False),
        ]

    def birth(self, device: Any) -> list[Publication]:  # noqa: ANN401 — a DeviceSpec
        """Retained ``Online`` on the LWT topic, as Tasmota sends after connecting."""
        return [(f"tele/{device.device_id}/LWT", b"Online", True)]

    def will(self, device: Any) -> Publication:  # noqa: ANN401 — a DeviceSpec
        """Retained ``Offline``: Tasmota's last will."""
        return (f"tele/{device.device_id}/LWT", b"Offline", True)
