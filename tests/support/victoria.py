"""A private VictoriaMetrics (Debian package ``victoria-metrics``): an InfluxDB-API server.

It accepts ``influxdb-client`` writes on ``/api/v2/write`` and serves the points back on
``/api/v1/export`` (one JSON line per series), which is how the tests read them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.ports import wait_for_port

__all__ = ["export", "running_victoria"]


@contextmanager
def running_victoria(data: Path, port: int) -> Iterator[str]:
    """Start VictoriaMetrics on 127.0.0.1:port with its data in ``data``; yield its URL."""
    binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
    proc = subprocess.Popen(
        [binary, f"-storageDataPath={data}", f"-httpListenAddr=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)


def export(base: str, match: str) -> str:
    """What ``/api/v1/export`` returns for the series selector ``match`` (after a flush)."""
    with httpx.Client(base_url=base, timeout=10) as client:
        client.get("/internal/force_flush")
        return client.get("/api/v1/export", params={"match[]": match}).text
