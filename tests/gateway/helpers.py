"""Shared pieces of the gateway's transport tests: a threshold detector and a recording cloud.

The detector is deliberately trivial (a report when ``compressor_current_a`` exceeds a
threshold): these tests are about transport (ingest, outbox, forwarder, store), not
detection, and a trivial detector makes the expected tickets exact.

The cloud is a small FastAPI app implementing the intake contract's idempotency (201 for
a new ``Idempotency-Key``, 200 for a repeat) that records what it received and can be
switched to answer 503. It stands in for ``cloud_api`` because the thing under test is
the forwarder.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

from aftercare.catalog import PartLine, Severity
from anomaly.fault_report import FaultReport
from device_adapters import Telemetry, encode_native, native_topic

THRESHOLD = 10.0


class ThresholdDetector:
    """Raises one report per telemetry whose compressor current exceeds the threshold."""

    def observe(self, telemetry: Telemetry) -> list[FaultReport]:
        current = telemetry.metrics.get("compressor_current_a", 0.0)
        if current <= THRESHOLD:
            return []
        return [
            FaultReport(
                device_id=telemetry.device_id,
                fault_code="AC_COMPRESSOR_CAPACITOR",
                detected_at=telemetry.ts,
                severity=Severity.HIGH,
                parts=(PartLine("AC-CAPACITOR", 1),),
                evidence={"compressor_current_a": current},
                home_id=telemetry.home_id,
            )
        ]

    def sweep(self, now: datetime) -> list[FaultReport]:  # noqa: ARG002 — no silence rule
        return []


def message(
    device: int, seq: int, current: float = 5.0, home: str = "h-1", at: datetime | None = None
) -> tuple[str, bytes]:
    """A native telemetry message of air conditioner ``device`` (``seq`` sets its time)."""
    device_id = f"ac-{device:06d}"
    ts = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).replace(second=seq % 60, minute=seq // 60 % 60)
    telemetry = Telemetry(
        device_id=device_id,
        ts=at or ts,
        metrics={"compressor_current_a": current, "indoor_temp_c": 25.0},
        home_id=home,
        kind="air_conditioner",
        model="KFR-35GW",
        seq=seq,
    )
    return native_topic(home, device_id, "telemetry"), encode_native(telemetry)


class RecordingCloud:
    """The recording intake (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.tickets: dict[str, dict[str, Any]] = {}
        self.down = False
        self.reject = False
        self.app = FastAPI()

        @self.app.post("/v1/tickets")
        async def intake(request: Request) -> Response:
            if self.down:
                return Response(status_code=503)
            if self.reject:
                return Response(status_code=422, content=b'{"type": "invalid"}')
            key = request.headers["idempotency-key"]
            assert request.headers["authorization"] == "Bearer secret-token"
            body = orjson.loads(await request.body())
            with self.lock:
                self.posts.append((key, body))
                status = 200 if key in self.tickets else 201
                self.tickets.setdefault(key, body)
            return Response(status_code=status, content=orjson.dumps({"id": key}))

    @property
    def keys(self) -> list[str]:
        with self.lock:
            return list(self.tickets)
