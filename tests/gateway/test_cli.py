"""``aftercare gateway run`` as an operator starts it."""

from __future__ import annotations

import os
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


@pytest.mark.integration
def test_gateway_run_takes_flags_over_environment_over_the_toml_file(
    fresh_mosquitto: Broker, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from aftercare.catalog import PartLine, Severity
    from anomaly.fault_report import FaultReport
    from gateway.outbox import Outbox
    from tests.gateway.helpers import RecordingCloud
    from tests.support.http_server import serve_in_thread

    port = free_port()
    data = tmp_path / "from-toml"
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'data_dir = "{data}"\nhttp_port = {port}\n'
        '[mqtt]\nurl = "mqtt://127.0.0.1:1"\nclient_id = "from-toml"\n'
        '[forwarder]\ncloud_url = "http://127.0.0.1:1"\ntoken = "from-toml"\n',
        encoding="utf-8",
    )
    # a ticket already waiting in the outbox of the TOML's data_dir: its delivery shows
    # which cloud URL (the environment's) and which token (the flag's) the gateway uses
    outbox = Outbox(data / "outbox.sqlite3")
    report = FaultReport(
        device_id="wh-000001",
        fault_code="WH_ELEMENT_FAILURE",
        detected_at=datetime(2026, 11, 23, tzinfo=UTC),
        severity=Severity.HIGH,
        parts=(PartLine("WH-ELEMENT", 1),),
    )
    outbox.put(report)
    outbox.close()
    recording = RecordingCloud()  # accepts only "Bearer secret-token"
    with serve_in_thread(recording.app) as cloud_url:
        env = {
            **os.environ,
            "AFTERCARE_MQTT__CLIENT_ID": "from-env",
            "AFTERCARE_FORWARDER__CLOUD_URL": cloud_url,
            "AFTERCARE_FORWARDER__TOKEN": "from-env",
        }
        proc = subprocess.Popen(
            aftercare(
                *("gateway", "run", "--config", str(config)),
                *("--broker", fresh_mosquitto.url, "--token", "secret-token"),
            ),
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_port(port, timeout=30)  # the TOML's port
            deadline = time.monotonic() + 20
            while recording.keys == [] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert recording.keys == [report.episode_key]
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
            assert health["components"]["broker"]["broker"] == f"127.0.0.1:{fresh_mosquitto.port}"
            assert health["components"]["outbox"]["depth"] == 0
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
            assert proc.returncode == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    assert " as from-env " in stderr  # "connected to <broker> as <client id>"
