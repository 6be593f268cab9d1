"""What detection hands on: a diagnosed fault, ready to become a ticket request.

Its JSON form is the ticket line of ``aftercare replay`` (DESIGN.md Contract 3) and the
body the gateway posts to ``POST /v1/tickets`` (Contract 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aftercare.catalog import PartLine, Severity

__all__ = ["FaultReport"]


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class FaultReport:
    """A diagnosed fault of one device.

    Attributes:
        device_id: the appliance.
        fault_code: a catalog fault code.
        detected_at: the time of the telemetry that confirmed the fault (never wall time).
        severity: how urgent the visit is.
        parts: the parts to pre-reserve (from the catalog).
        predicted_failure_at: the estimated functional failure, or None when unknown.
        evidence: what the detectors saw (metrics, scores, trend), JSON-serialisable.
        home_id: the device's home, when known (the gateway needs it for routing).
    """

    device_id: str
    fault_code: str
    detected_at: datetime
    severity: Severity
    parts: tuple[PartLine, ...]
    predicted_failure_at: datetime | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    home_id: str | None = None

    @property
    def episode_key(self) -> str:
        """Stable identity of this fault episode: the gateway's idempotency key."""
        return f"{self.device_id}:{self.fault_code}:{_iso(self.detected_at)}"

    def to_json(self) -> dict[str, Any]:
        """The Contract 3 ticket line / Contract 4 intake body."""
        return {
            "device_id": self.device_id,
            "fault_code": self.fault_code,
            "detected_at": _iso(self.detected_at),
            "predicted_failure_at": (
                _iso(self.predicted_failure_at) if self.predicted_failure_at else None
            ),
            "severity": self.severity.value,
            "parts": [{"sku": p.sku, "qty": p.qty} for p in self.parts],
            "evidence": dict(self.evidence),
        }
