"""``aftercare gateway run`` as an operator starts it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.mosquitto import Broker
from tests.support.ports import free_port, wait_for_port


def aftercare(*args: str) -> list[str]:
    return [sys.executable, "-c", "from aftercare.cli import main; main()", *args]


def test_an_unknown_adapter_stops_the_gateway_at_start_with_the_valid_names(
    tmp_path: Path,
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[adapters.zigbee]\n", encoding="utf-8")
    result = subprocess.run(
        aftercare("gateway", "run", "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "zigbee2mqtt" in result.stderr
    assert "native" in result.stderr


@pytest.mark.integration
def test_gateway_run_serves_health_and_metrics_and_stops_on_sigterm(
    fresh_mosquitto: Broker, tmp_path: Path
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        aftercare(
            *("gateway", "run", "--broker", fresh_mosquitto.url),
            *("--data-dir", str(tmp_path), "--http-port", str(port)),
        ),
    )
    try:
        wait_for_port(port, timeout=30)
        deadline = time.monotonic() + 20
        while True:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            if health.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert health.status_code == 200
        assert health.json()["components"]["broker"]["ok"] is True
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        for name in (
            "aftercare_messages_total",
            "aftercare_readings_total",
            "aftercare_detections_total",
            "aftercare_tickets_total",
            "aftercare_outbox_depth",
            "aftercare_forward_seconds",
        ):
            assert f"# TYPE {name.removesuffix('_total')}" in metrics
        assert (tmp_path / "outbox.sqlite3").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
