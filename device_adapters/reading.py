"""The validated values every adapter produces.

A :class:`Telemetry` is one device's report at one instant (one MQTT message, one Modbus
poll, one Tuya datapoint burst): identity, timestamp, numeric metrics and discrete state.
A :class:`Reading` is one metric of it (device, metric, value, unit, timestamp): the
DESIGN.md contract shape, produced on demand by :meth:`Telemetry.readings` so that the hot
path does not allocate one object per metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aftercare.catalog import default_catalog

__all__ = ["Reading", "StateValue", "Telemetry"]

StateValue = str | float | int | bool


@dataclass(frozen=True, slots=True)
class Reading:
    """One metric value of one device at one instant.

    Validated on construction: a finite float and an aware timestamp.
    """

    device_id: str
    metric: str
    value: float
    unit: str
    ts: datetime

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"{self.metric}: value {self.value!r} is not finite")
        if self.ts.tzinfo is None:
            raise ValueError(f"{self.metric}: timestamp without timezone")


@dataclass(frozen=True, slots=True)
class Telemetry:
    """One device's report at one instant, as decoded by an adapter.

    Attributes:
        device_id: the appliance.
        ts: when the values were measured (aware, UTC).
        metrics: finite numeric values by metric name (catalog names where known).
        state: discrete state such as ``power`` or ``mode``.
        home_id: the home the device belongs to, when the format says so.
        kind: the catalog kind (``air_conditioner`` ...), when known.
        model: the appliance model, when known.
        fw: the firmware version, when known.
        seq: the device's message counter, used to drop duplicates.
        source: the adapter name that decoded it.
    """

    device_id: str
    ts: datetime
    metrics: Mapping[str, float]
    state: Mapping[str, StateValue] = field(default_factory=dict)
    home_id: str | None = None
    kind: str | None = None
    model: str | None = None
    fw: str | None = None
    seq: int | None = None
    source: str = "native"

    def readings(self) -> list[Reading]:
        """The metrics as contract-shaped :class:`Reading` objects (unit from the catalog)."""
        catalog = default_catalog()
        kind = self.kind or ""
        return [
            Reading(self.device_id, name, value, catalog.unit_of(kind, name) or "", self.ts)
            for name, value in self.metrics.items()
        ]
