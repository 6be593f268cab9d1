"""Benchmark: export 200 devices x 60 days at 5-minute sampling (~3.5M native messages).

Target (issue #3): under 60 s on the 2-core reference machine. Prints the elapsed time
and the message rate, and exits 1 when the target is missed.

    python bench/sim_export.py [--devices 200] [--days 60] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from firmware_sim.export import export_fleet
from firmware_sim.fleet import Fleet, FleetSpec

# the interval kinds (one report every 5 minutes); per-cycle kinds report a few times a day
_INTERVAL_PREFIXES = ("ac-", "fr-", "wp-", "wh-")
TARGET_S = 60.0


def _interval_fleet(devices: int, days: float, seed: int) -> FleetSpec:
    # draw extra devices and keep the 5-minute ones so the mix of faults stays realistic
    drawn = FleetSpec.random(devices * 2, days=days, seed=seed)
    chosen = [d for d in drawn.devices if d.device_id.startswith(_INTERVAL_PREFIXES)][:devices]
    return replace(drawn, devices=tuple(chosen))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--days", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    spec = _interval_fleet(args.devices, args.days, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        began = time.perf_counter()
        fleet = Fleet(spec)
        for device in fleet.devices:
            fleet.recording(device.device_id)
        simulated = time.perf_counter()
        result = export_fleet(fleet, out)
        done = time.perf_counter()
        size = result.telemetry.stat().st_size
    total = done - began
    rate = result.messages / total
    print(
        f"devices={result.devices} days={args.days} messages={result.messages} "
        f"bytes={size} simulate_s={simulated - began:.1f} encode_write_s={done - simulated:.1f} "
        f"total_s={total:.1f} msg_per_s={rate:,.0f} target_s={TARGET_S:.0f}"
    )
    return 0 if total < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
