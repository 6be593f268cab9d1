"""Reading a native telemetry recording for training and evaluation.

``aftercare replay`` runs the gateway's own pipeline; the ``anomaly`` commands may not
import the gateway (the layers contract), so they read recordings here: the native
adapter decodes each line, and the pipeline's two input rules are applied the same way
(a repeated ``seq`` or timestamp of a device is dropped; telemetry older than the
device's newest by more than ``lateness_s`` does not reach the detectors).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from device_adapters import NativeAdapter, PayloadRejected, Telemetry

__all__ = ["read_recording"]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def read_recording(lines: Iterable[bytes], *, lateness_s: float = 600.0) -> Iterator[Telemetry]:
    """Yield the in-order telemetry of a recording; rejected lines are skipped."""
    adapter = NativeAdapter()
    seen: dict[str, set[object]] = {}
    newest: dict[str, float] = {}
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            body_topic = _topic(line)
            decoded = adapter.decode(body_topic, line, _EPOCH)
        except PayloadRejected:
            continue
        for telemetry in decoded:
            keys = seen.setdefault(telemetry.device_id, set())
            key: object = telemetry.seq if telemetry.seq is not None else telemetry.ts
            if key in keys:
                continue
            if len(keys) > 256:
                keys.clear()
            keys.add(key)
            ts = telemetry.ts.timestamp()
            top = newest.get(telemetry.device_id, ts)
            if top - ts > lateness_s:
                continue
            newest[telemetry.device_id] = max(top, ts)
            yield telemetry


def _topic(line: bytes) -> str:
    import re

    device = re.search(rb'"device_id"\s*:\s*"([^"\\]{1,64})"', line)
    home = re.search(rb'"home_id"\s*:\s*"([^"\\]{1,64})"', line)
    device_id = device.group(1).decode() if device else "unknown"
    home_id = home.group(1).decode() if home else "unknown"
    return f"aftercare/{home_id}/{device_id}/telemetry"
