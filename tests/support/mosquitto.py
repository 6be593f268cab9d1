"""A private Mosquitto broker per test session: own port, own config, own data dir."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_for_port


@dataclass
class Broker:
    """A running Mosquitto; ``restart()`` stops and starts it on the same port."""

    host: str
    port: int
    config: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def running_mosquitto(workdir: Path, *, persistence: bool = True) -> Iterator[Broker]:
    """Start Mosquitto on a free port with a temporary config; stop it afterwards."""
    port = free_port()
    data = workdir / "mosquitto-data"
    data.mkdir(parents=True, exist_ok=True)
    config = workdir / "mosquitto.conf"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        # tests publish bursts faster than a default queue allows; QoS 1 must not drop
        "max_queued_messages 0",
        "max_inflight_messages 0",
        f"persistence {'true' if persistence else 'false'}",
        f"persistence_location {data}/",
        # as root with persistence on, mosquitto must be allowed to write its data dir
        "user root",
    ]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broker = Broker("127.0.0.1", port, config)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
