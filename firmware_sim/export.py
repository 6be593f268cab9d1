"""``aftercare sim export``: a recorded fleet as ``telemetry.jsonl`` and ``labels.json``.

``telemetry.jsonl`` holds one native message (DESIGN.md Contract 1) per line in delivery
order: ordered by time, except for the few messages the network delivered late (their
``ts`` is older than the line before) and the duplicates it delivered twice (same
``seq``), as a gateway would have received them. ``labels.json`` holds the ground truth
per device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import orjson

from firmware_sim.fleet import Fleet

__all__ = ["ExportResult", "export_fleet"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    telemetry: Path
    labels: Path
    messages: int
    devices: int
    faulty: int
    failures_in_window: int


def export_fleet(fleet: Fleet, out_dir: Path, *, batch: int = 20_000) -> ExportResult:
    """Write ``telemetry.jsonl`` and ``labels.json`` for ``fleet`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    telemetry = out_dir / "telemetry.jsonl"
    labels_path = out_dir / "labels.json"
    count = 0
    with telemetry.open("wb") as fh:
        for payloads in fleet.native_payload_batches(chunk=batch):
            if payloads:
                fh.write(b"\n".join(payloads) + b"\n")
                count += len(payloads)
    labels = fleet.labels()
    labels_path.write_bytes(orjson.dumps(labels, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    faulty = sum(1 for v in labels.values() if v["fault_code"])
    failures = sum(1 for v in labels.values() if v["failure_at"])
    logger.info(
        "exported %s messages from %s devices (%s faulty, %s failures in window) to %s",
        count,
        len(labels),
        faulty,
        failures,
        out_dir,
    )
    return ExportResult(telemetry, labels_path, count, len(labels), faulty, failures)
