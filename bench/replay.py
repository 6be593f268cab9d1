"""Replay throughput: ``aftercare replay``'s pipeline against a bare JSON-decoding loop.

Usage: ``python bench/replay.py [FILE.jsonl] [--messages N]``. Without a file it writes a
synthetic fleet recording (air conditioners and refrigerators reporting every five
minutes, with daily cycles and noise) to a temporary file first. Both loops read the same
lines from memory; the bare loop only decodes each line with orjson (the decoder the
gateway uses). Prints both rates and their ratio (targets: >= 50,000 msg/s, ratio >= 0.25).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from anomaly.engine import FaultEngine
from device_adapters import NativeAdapter
from gateway.pipeline import Pipeline
from gateway.replay import replay_lines


def synthetic_recording(path: Path, messages: int, devices: int = 200, seed: int = 1) -> None:
    """Write a plausible recording: every device reports every 300 s, in time order."""
    rng = random.Random(seed)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    with path.open("wb") as out:
        for i in range(messages):
            step, dev = divmod(i, devices)
            ts = start + timedelta(seconds=300 * step + dev)
            hour = (ts.hour + ts.minute / 60) / 24 * 2 * math.pi
            outdoor = 27 + 5 * math.sin(hour - 2) + rng.gauss(0, 0.3)
            if dev % 2:
                body = {
                    "device_id": f"ac-{dev:06d}",
                    "home_id": f"h-{dev:06d}",
                    "kind": "air_conditioner",
                    "ts": ts.isoformat().replace("+00:00", "Z"),
                    "seq": step,
                    "metrics": {
                        "indoor_temp_c": round(25 + rng.gauss(0, 0.2), 1),
                        "setpoint_c": 25.0,
                        "outdoor_temp_c": round(outdoor, 1),
                        "supply_air_temp_c": round(14 + 0.1 * outdoor + rng.gauss(0, 0.2), 1),
                        "evaporator_temp_c": round(9 + 0.1 * outdoor + rng.gauss(0, 0.2), 1),
                        "compressor_current_a": round(3 + 0.1 * outdoor + rng.gauss(0, 0.1), 2),
                        "indoor_fan_rpm": round(1000 + rng.gauss(0, 5)),
                        "suction_pressure_kpa": round(1000 + 5 * outdoor + rng.gauss(0, 5), 1),
                    },
                    "state": {"power": "on", "mode": "cool"},
                }
            else:
                body = {
                    "device_id": f"fr-{dev:06d}",
                    "home_id": f"h-{dev:06d}",
                    "kind": "refrigerator",
                    "ts": ts.isoformat().replace("+00:00", "Z"),
                    "seq": step,
                    "metrics": {
                        "fridge_temp_c": round(4 + rng.gauss(0, 0.3), 1),
                        "freezer_temp_c": round(-18 + rng.gauss(0, 0.3), 1),
                        "ambient_temp_c": round(outdoor - 3, 1),
                        "evaporator_temp_c": round(-24 + rng.gauss(0, 0.3), 1),
                        "compressor_current_a": round(0.8 + rng.gauss(0, 0.05), 2),
                        "compressor_duty_pct": round(40 + rng.gauss(0, 3), 1),
                        "door_open_count": rng.choice([0, 0, 0, 1, 2]),
                    },
                }
            out.write(orjson.dumps(body) + b"\n")


def bare_rate(lines: list[bytes]) -> float:
    """Messages per second of a loop that only decodes each line."""
    loads = orjson.loads
    start = time.perf_counter()
    for line in lines:
        loads(line)
    return len(lines) / (time.perf_counter() - start)


def replay_rate(lines: list[bytes]) -> tuple[float, int]:
    """Messages per second through the gateway pipeline, and the tickets raised."""
    pipeline = Pipeline([NativeAdapter()], FaultEngine())
    start = time.perf_counter()
    tickets = sum(1 for _ in replay_lines(pipeline, lines))
    return len(lines) / (time.perf_counter() - start), tickets


def main() -> int:
    """Run the benchmark and print the rates (median of three runs each)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", nargs="?", help="a native telemetry recording (.jsonl)")
    parser.add_argument("--messages", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "recording.jsonl"
        if not args.file:
            synthetic_recording(path, args.messages)
        lines = path.read_bytes().splitlines()
    bare = sorted(bare_rate(lines) for _ in range(3))[1]
    runs = sorted(replay_rate(lines) for _ in range(3))
    replay, tickets = runs[1]
    print(f"messages:        {len(lines)}")
    print(f"bare decode:     {bare:,.0f} msg/s")
    print(f"replay pipeline: {replay:,.0f} msg/s  (tickets: {tickets})")
    print(f"ratio:           {replay / bare:.3f}")
    ok = replay >= 50_000 and replay / bare >= 0.25
    print("targets (>= 50,000 msg/s, ratio >= 0.25):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
