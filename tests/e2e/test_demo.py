"""``aftercare demo --json`` as a user runs it: a correct ticket within the time given."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aftercare.clock import SystemClock
from aftercare.demo.runner import demo_fleet

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_json_lists_a_correct_ticket_with_its_part(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aftercare.cli", "demo", "--json", "--duration", "90",
         "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary) == {"devices", "messages", "tickets"}
    assert summary["devices"] == 8
    assert summary["messages"] > 10_000
    faults = {
        d.device_id: d.fault.code for d in demo_fleet(SystemClock().now(), 24).devices if d.fault
    }
    correct = [t for t in summary["tickets"] if faults.get(t["device_id"]) == t["fault_code"]]
    assert correct, summary["tickets"]
    for ticket in summary["tickets"]:
        assert set(ticket) == {"id", "device_id", "fault_code", "parts", "url"}
        assert ticket["url"].endswith(f"/staff/tickets/{ticket['id']}")
    assert all(
        t["parts"] for t in correct if t["fault_code"] not in ("SENSOR_STUCK", "DEVICE_OFFLINE")
    )
