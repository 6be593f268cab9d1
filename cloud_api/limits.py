"""Request body size limit (413) and the per-gateway token bucket (429)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftercare.clock import Clock

__all__ = ["BodySizeLimit", "RateLimiter"]

_PROBLEM: Final = "https://aftercare.example/problems/payload-too-large"


class _TooLarge(Exception):  # noqa: N818 — private control-flow signal
    pass


class BodySizeLimit:
    """ASGI middleware answering 413 problem+json to bodies over ``max_bytes``.

    Checks ``Content-Length`` up front and counts streamed chunks too, so a chunked upload
    cannot slip past the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap ``receive`` to count body bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": _PROBLEM,
                "title": "Payload too large",
                "status": 413,
                "detail": f"request body over {self.max_bytes} bytes",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per gateway: ``rate`` per second sustained, ``burst`` at once.

    Args:
        clock: the injected clock (time only moves with it, so tests can refill).
        rate: tokens added per second.
        burst: bucket size.
    """

    def __init__(self, *, clock: Clock, rate: float, burst: int) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}
        # Routes run in a threadpool: buckets are shared between threads.
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Take one token for ``key``; ``None`` if allowed, else seconds until one is free."""
        now = self._clock.now().timestamp()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self._burst, now)
            bucket.tokens = min(self._burst, bucket.tokens + max(0.0, now - bucket.at) * self._rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self._rate
