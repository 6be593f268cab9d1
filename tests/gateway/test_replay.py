"""``aftercare replay``: the gateway pipeline over a recording, Contract 3 ticket lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from typer.testing import CliRunner

from aftercare.cli import app
from anomaly.engine import FaultEngine
from device_adapters import NativeAdapter
from gateway.pipeline import Pipeline
from gateway.replay import replay_lines, topic_of

T0 = datetime(2026, 6, 1, tzinfo=UTC)
TICKET_KEYS = {
    "device_id",
    "fault_code",
    "detected_at",
    "predicted_failure_at",
    "severity",
    "parts",
    "evidence",
}


def _recording(path: Path) -> None:
    """Two fridges every 5 minutes for a day; fr-000002 falls silent after 6 hours."""
    lines = []
    for i in range(288):
        for device in ("fr-000001", "fr-000002"):
            if device == "fr-000002" and i > 72:
                continue
            body = {
                "device_id": device,
                "home_id": "h-000001",
                "kind": "refrigerator",
                "ts": (T0 + timedelta(minutes=5 * i)).isoformat().replace("+00:00", "Z"),
                "seq": i,
                "metrics": {"fridge_temp_c": 4.0 + 0.1 * (i % 5), "ambient_temp_c": 24.0},
            }
            lines.append(orjson.dumps(body))
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_topic_is_the_devices_native_topic() -> None:
    line = b'{"device_id": "ac-1", "home_id": "h-9", "ts": 1}'
    assert topic_of(line) == "aftercare/h-9/ac-1/telemetry"


def test_replay_writes_contract_3_ticket_lines(tmp_path: Path) -> None:
    src, out = tmp_path / "rec.jsonl", tmp_path / "tickets.jsonl"
    _recording(src)
    result = CliRunner().invoke(app, ["replay", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    tickets = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(t["device_id"], t["fault_code"]) for t in tickets] == [("fr-000002", "DEVICE_OFFLINE")]
    ticket = tickets[0]
    assert set(ticket) == TICKET_KEYS
    # the clock is the recording's: silent since 06:00, offline after 3 x 30 minutes
    assert ticket["detected_at"].startswith("2026-06-01T07:3")
    assert ticket["parts"] == []
    assert ticket["predicted_failure_at"] is None


def test_replay_uses_the_gateway_pipeline(tmp_path: Path) -> None:
    src = tmp_path / "rec.jsonl"
    _recording(src)
    pipeline = Pipeline([NativeAdapter()], FaultEngine())
    reports = list(replay_lines(pipeline, src.read_bytes().splitlines()))
    assert [r.fault_code for r in reports] == ["DEVICE_OFFLINE"]


def test_replay_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["replay", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
