"""The health and metrics endpoint: ``/healthz`` (JSON per component) and ``/metrics``.

A few dozen lines on :func:`asyncio.start_server` rather than a web framework: the hub
serves two read-only documents to a scraper and an orchestrator, nothing else, and the
server must never be the thing that keeps a gateway from starting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

import orjson

__all__ = ["HealthServer"]

logger = logging.getLogger(__name__)

_MAX_REQUEST_LINE: Final = 8192
_REASONS: Final = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Unavailable"}
_PROMETHEUS: Final = "text/plain; version=0.0.4; charset=utf-8"


class HealthServer:
    """Serves ``/healthz`` and ``/metrics``.

    Args:
        host: the address to listen on.
        port: the port (0 picks a free one; see :attr:`port` once started).
        health: returns ``(healthy, document)``.
        metrics: returns the Prometheus exposition.
    """

    def __init__(
        self,
        host: str,
        port: int,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        metrics: Callable[[], bytes],
    ) -> None:
        self.host = host
        self.port = port
        self.health = health
        self.metrics = metrics
        self.started = asyncio.Event()

    async def serve(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set."""
        server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        logger.info("health and metrics on http://%s:%d/", self.host, self.port)
        self.started.set()
        async with server:
            await stop.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            while (await asyncio.wait_for(reader.readline(), 5.0)) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed for two GET documents
            status, ctype, body = self._respond(line[:_MAX_REQUEST_LINE])
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass  # a scraper that went away is not our problem
        finally:
            writer.close()

    def _respond(self, line: bytes) -> tuple[int, str, bytes]:
        parts = line.decode("latin-1").split()
        if len(parts) < 2:
            return 404, "text/plain", b"bad request\n"
        method, path = parts[0], parts[1].split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"GET only\n"
        if path == "/healthz":
            healthy, document = self.health()
            return (200 if healthy else 503), "application/json", orjson.dumps(document)
        if path == "/metrics":
            return 200, _PROMETHEUS, self.metrics()
        return 404, "text/plain", b"not found\n"
