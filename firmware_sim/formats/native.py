"""The native Aftercare format (DESIGN.md Contract 1) for live publishing.

Exports use :class:`firmware_sim.wire.NativeEncoder` (same bytes, built in bulk).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aftercare.catalog import Catalog
from device_adapters import Telemetry, encode_native, native_topic
from firmware_sim.formats.base import Publication

__all__ = ["NativeFormat"]


class NativeFormat:
    """Contract 1: ``aftercare/{home}/{device}/telemetry`` and a retained ``status``."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def telemetry(
        self,
        device: Any,  # noqa: ANN401 — a DeviceSpec
        measured_at: datetime,
        metrics: Mapping[str, float],
        state: Mapping[str, str],
        seq: int,
    ) -> list[Publication]:
        """One native message."""
        payload = encode_native(
            Telemetry(
                device_id=device.device_id,
                ts=measured_at,
                metrics=dict(metrics),
                state=dict(state),
                home_id=device.home_id,
                kind=device.kind,
                model=device.model,
                fw=device.fw,
                seq=seq,
            )
        )
        return [(native_topic(device.home_id, device.device_id), payload, False)]

    def birth(self, device: Any) -> list[Publication]:  # noqa: ANN401 — a DeviceSpec
        """``online`` on the retained status topic."""
        return [(native_topic(device.home_id, device.device_id, "status"), b"online", True)]

    def will(self, device: Any) -> Publication:  # noqa: ANN401 — a DeviceSpec
        """``offline`` on the retained status topic."""
        return (native_topic(device.home_id, device.device_id, "status"), b"offline", True)
