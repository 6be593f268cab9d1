"""Memory stays flat when the pipeline is slower than the broker (a real gateway process).

``test_settings_and_scaling`` shows the ingest queue never exceeds its bound; this test
shows what that is for: a backlog several times larger than the gateway's whole memory
budget passes through a slow gateway process while its resident memory stays flat,
because the broker, not the gateway, holds what the pipeline has not reached yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.gateway.helpers import message
from tests.support.mosquitto import Broker
from tests.support.ports import free_port, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PAD = 8 * 1024  # bytes of JSON whitespace per message: valid, and heavy to hold
MESSAGES = 6000  # ~50 MB of payloads in all

SLOW_CHILD = """
import asyncio, sys, time
from pathlib import Path
from gateway.runtime import GatewayRuntime
from gateway.settings import load_settings
from tests.gateway.helpers import ThresholdDetector

class Slow(ThresholdDetector):
    def observe(self, telemetry):
        time.sleep(0.0005)  # a pipeline far slower than the broker
        return super().observe(telemetry)

async def main():
    flags = dict(broker=sys.argv[1], data_dir=Path(sys.argv[2]), http_port=int(sys.argv[3]))
    runtime = GatewayRuntime(load_settings(None, flags), detector=Slow())
    loop = asyncio.get_running_loop()
    import signal
    loop.add_signal_handler(signal.SIGTERM, runtime.stop.set)
    await runtime.run()

asyncio.run(main())
"""


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    line = next(x for x in status.splitlines() if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def handled(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    prefix = 'aftercare_messages_total{adapter="native",result="ok",source="mqtt"} '
    return next((float(x.split()[-1]) for x in text.splitlines() if x.startswith(prefix)), 0.0)


def padded(batch: range, seq0: int) -> list[tuple[str, bytes]]:
    return [
        (topic, payload + b" " * PAD)
        for topic, payload in (message(i % 50, seq0 + i // 50) for i in batch)
    ]


def test_a_backlog_larger_than_memory_passes_a_slow_gateway_with_flat_memory(
    fresh_mosquitto: Broker, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "AFTERCARE_MQTT__QUEUE_SIZE": "200",
        "AFTERCARE_MQTT__BATCH_SIZE": "50",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_CHILD, fresh_mosquitto.url, str(tmp_path), str(port)],
        cwd=Path(__file__).parents[2],
        env=env,
    )
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="flood")
    try:
        wait_for_port(port, timeout=20)
        pub.connect(fresh_mosquitto.host, fresh_mosquitto.port)
        pub.loop_start()
        # warm-up: every allocation that is not the backlog (caches, pools) settles
        for info in [pub.publish(t, p, qos=1) for t, p in padded(range(500), 0)]:
            info.wait_for_publish(30)
        deadline = time.monotonic() + 60
        while handled(port) < 500 and time.monotonic() < deadline:
            time.sleep(0.05)
        baseline = rss_mb(proc.pid)
        # the gateway is frozen while the flood is published, so the whole backlog is
        # waiting when it thaws (a Python publisher alone is slower than the pipeline)
        proc.send_signal(signal.SIGSTOP)
        try:
            flood = padded(range(MESSAGES), 1000)
            infos = [pub.publish(t, p, qos=1) for t, p in flood]
            for info in infos:
                info.wait_for_publish(60)
        finally:
            proc.send_signal(signal.SIGCONT)
        peak = baseline
        deadline = time.monotonic() + 120
        while (done := handled(port)) < 500 + MESSAGES and time.monotonic() < deadline:
            peak = max(peak, rss_mb(proc.pid))
            time.sleep(0.05)
        assert done == 500 + MESSAGES  # nothing lost
        backlog_mb = MESSAGES * PAD / 2**20
        # the queue bound (200 messages, ~1.6 MB) plus noise; holding the backlog would
        # have cost at least its own size, ~47 MB
        assert peak - baseline < 15, (baseline, peak, backlog_mb)
    finally:
        pub.loop_stop()
        pub.disconnect()
        proc.terminate()
        proc.wait(20)
