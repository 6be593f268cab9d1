"""Event-time sweeping for accelerated runs (the demo, end-to-end tests, replays).

The silence rule (``DEVICE_OFFLINE``) compares a device's last report with "now". In an
accelerated simulation the data runs thousands of times faster than the wall clock, and
any processing lag (a 40 ms pause at 50,000x is 30 simulated minutes) would make every
device look silent. :class:`EventTimeDetector` sweeps at the newest telemetry time the
detector has seen instead (a watermark), never later than the clock's own time, so
silence is judged against what the rest of the fleet has already reported.
"""

from __future__ import annotations

from datetime import datetime

from anomaly.fault_report import FaultReport
from device_adapters import Telemetry
from gateway.pipeline import FaultDetector

__all__ = ["EventTimeDetector"]


class EventTimeDetector:
    """Wraps a detector so that ``sweep`` runs at the telemetry watermark.

    Args:
        inner: the detector that does the work.
    """

    def __init__(self, inner: FaultDetector) -> None:
        self.inner = inner
        self.watermark: datetime | None = None

    def observe(self, telemetry: Telemetry) -> list[FaultReport]:
        """Pass the telemetry on and advance the watermark."""
        if self.watermark is None or telemetry.ts > self.watermark:
            self.watermark = telemetry.ts
        return self.inner.observe(telemetry)

    def sweep(self, now: datetime) -> list[FaultReport]:
        """Sweep at ``min(now, watermark)``; nothing before any telemetry arrived."""
        if self.watermark is None:
            return []
        return self.inner.sweep(min(now, self.watermark))
