"""The demo's MQTT broker: a private Mosquitto when installed, else in-process amqtt.

A private Mosquitto (own port, own config, own data directory) rather than the machine's
running instance: a demo must not see retained messages or queued sessions of earlier
runs, and must not disturb whatever else uses that broker. amqtt is the fallback on a
machine without Mosquitto; it speaks MQTT 3.1.1 only (PERF_LIMITS.md), which the gateway
supports through ``clean_session=False``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BrokerHandle", "MosquittoProcess", "demo_broker", "free_port"]

logger = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_for_port(port: int, within_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"no broker on 127.0.0.1:{port} after {within_s} s") from None
            await asyncio.sleep(0.02)
        else:
            writer.close()
            await writer.wait_closed()
            return


@dataclass(frozen=True, slots=True)
class BrokerHandle:
    """Where the demo's broker listens and what it is."""

    url: str
    kind: str  # "mosquitto" or "amqtt"
    mqtt5: bool


class MosquittoProcess:
    """A Mosquitto child process with a generated config.

    Args:
        workdir: where the config and the persistence files go.
        port: the loopback port to listen on.
    """

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        """Write the broker config and return its path."""
        data = self.workdir / "mosquitto-data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    # QoS 1 bursts from an accelerated fleet must queue, not drop
                    "max_queued_messages 0",
                    "persistence true",
                    f"persistence_location {data}/",
                    # as root with persistence on, mosquitto needs this to write its data dir
                    "user root",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        return config

    async def start(self, binary: str) -> None:
        """Start the broker and wait until it accepts connections."""
        config = self.write_config()
        self.process = subprocess.Popen(  # noqa: ASYNC220, S603 — a long-lived child from a fixed argv
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        await _wait_for_port(self.port, within_s=10)

    def stop(self) -> None:
        """Terminate the broker."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


@asynccontextmanager
async def demo_broker(workdir: Path, *, prefer: str = "auto") -> AsyncIterator[BrokerHandle]:
    """Run a broker for the demo.

    Args:
        workdir: a directory for the broker's config and data.
        prefer: ``auto`` (Mosquitto when installed), ``mosquitto`` or ``amqtt``.
    """
    port = free_port()
    # Debian installs it in /usr/sbin, which is not on every user's PATH
    binary = shutil.which("mosquitto") or shutil.which(
        "mosquitto", path="/usr/sbin:/usr/local/sbin"
    )
    if prefer != "amqtt" and binary is not None:
        process = MosquittoProcess(workdir, port)
        await process.start(binary)
        logger.info("broker: private mosquitto on 127.0.0.1:%d", port)
        try:
            yield BrokerHandle(f"mqtt://127.0.0.1:{port}", "mosquitto", mqtt5=True)
        finally:
            process.stop()
        return
    if prefer == "mosquitto":
        raise FileNotFoundError("mosquitto is not installed")
    from amqtt.broker import Broker

    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "sys_interval": 0,
            "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
            "topic-check": {"enabled": False},
        }
    )
    await broker.start()
    logger.info("broker: in-process amqtt (MQTT 3.1.1) on 127.0.0.1:%d", port)
    try:
        yield BrokerHandle(f"mqtt://127.0.0.1:{port}", "amqtt", mqtt5=False)
    finally:
        await broker.shutdown()
