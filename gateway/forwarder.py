"""The forwarder: posts outbox rows to the cloud's ticket intake, at least once, never twice.

Each row is posted to ``{cloud}/v1/tickets`` with ``Authorization: Bearer <token>`` and
``Idempotency-Key: <episode key>``. The cloud answers ``201`` for a new ticket and ``200``
for a key it has seen, so a post whose answer we lost (we crashed, the link broke) is
safely repeated: the row is acknowledged only after a 2xx. ``5xx``, ``408``, ``409``,
``429`` and transport errors are retried with capped exponential backoff and jitter while
the rows wait in SQLite; any other ``4xx`` dead-letters the row (kept, counted, logged,
not retried forever). The forwarder runs in its own task and only reads the outbox, so a
cloud outage never slows ingest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import httpx

from aftercare.clock import Clock
from gateway.backoff import Backoff, wait_any, wait_or_stop
from gateway.exceptions import CloudUnavailable, TicketRejected
from gateway.metrics import GatewayMetrics
from gateway.outbox import AsyncOutbox, OutboxItem
from gateway.settings import ForwarderSettings

__all__ = ["CloudStatus", "Forwarder"]

logger = logging.getLogger(__name__)

_RETRYABLE_4XX: Final = frozenset({408, 409, 429})
_IDLE_POLL_S: Final = 5.0


@dataclass(slots=True)
class CloudStatus:
    """Cloud reachability, for ``/healthz``.

    Attributes:
        reachable: None until the first post, then whether the last one got an answer.
        last_ok_at: when the last 2xx arrived.
        last_error: the last failure.
    """

    reachable: bool | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None


class Forwarder:
    """Drains the outbox to the cloud.

    Args:
        settings: the cloud URL, token, timeouts and backoff.
        outbox: the outbox to drain.
        metrics: the runtime's metrics.
        clock: time for the health report.
        client: an HTTP client to use (tests pass one with a mock transport); by default one
            is created and closed by :meth:`run`.
    """

    def __init__(
        self,
        settings: ForwarderSettings,
        outbox: AsyncOutbox,
        metrics: GatewayMetrics,
        clock: Clock,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.metrics = metrics
        self.clock = clock
        self.status = CloudStatus()
        self._client = client
        self._backoff = Backoff(settings.backoff_min_s, settings.backoff_max_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Forward until ``stop`` is set, then make one last bounded attempt."""
        if self.settings.cloud_url is None:
            logger.info("no cloud URL configured: tickets stay in the outbox")
            await stop.wait()
            return
        owned = self._client is None
        client = self._client_or_default()
        try:
            while not stop.is_set():
                await self._round(stop)
            # graceful shutdown: one more pass for what detection queued last
            await asyncio.wait_for(self._drain_once(client), timeout=self.settings.timeout_s)
        except TimeoutError:
            logger.warning("cloud did not take the last tickets before shutdown; they stay queued")
        finally:
            if owned:
                await client.aclose()
                self._client = None

    async def _round(self, stop: asyncio.Event) -> None:
        client = self._client_or_default()
        self.outbox.changed.clear()
        try:
            sent = await self._drain_once(client)
        except CloudUnavailable as exc:
            self._unreachable(str(exc))
            delay = self._backoff.next_delay()
            logger.warning("%s; retrying in %.1f s", exc, delay)
            await wait_or_stop(stop, delay)
            return
        self._backoff.reset()
        if sent == 0:
            await wait_any(stop, self.outbox.changed, _IDLE_POLL_S)

    def _client_or_default(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self.settings.token or ''}"}
            self._client = httpx.AsyncClient(
                base_url=self.settings.cloud_url or "",
                headers=headers,
                timeout=self.settings.timeout_s,
            )
        return self._client

    async def _drain_once(self, client: httpx.AsyncClient) -> int:
        """Post one batch; returns how many rows left the outbox."""
        batch = await self.outbox.next_batch(self.settings.batch_size)
        for item in batch:
            try:
                created = await self._post(client, item)
            except TicketRejected as exc:
                logger.error("dead-lettering ticket: %s", exc)  # noqa: TRY400 — no traceback
                self.metrics.tickets.labels(result="dead_letter").inc()
                await self.outbox.dead_letter(item.id, str(exc))
            except CloudUnavailable as exc:
                self.metrics.tickets.labels(result="retry").inc()
                await self.outbox.failed_attempt(item.id, str(exc))
                raise
            else:
                self.metrics.tickets.labels(result="created" if created else "duplicate").inc()
                await self.outbox.ack(item.id)
                logger.info("ticket %s %s", item.key, "created" if created else "already known")
            self.metrics.outbox_depth.set(self.outbox.depth)
        return len(batch)

    async def _post(self, client: httpx.AsyncClient, item: OutboxItem) -> bool:
        """Post one row; True for a new ticket (201), False for a known key (200)."""
        started = time.perf_counter()
        try:
            response = await client.post(
                "/v1/tickets",
                content=item.body,
                headers={"Idempotency-Key": item.key, "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise CloudUnavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.metrics.forward_seconds.observe(time.perf_counter() - started)
        status = response.status_code
        self.status.reachable = True
        if 200 <= status < 300:
            self.status.last_ok_at = self.clock.now()
            return status == 201
        if status >= 500 or status in _RETRYABLE_4XX:
            raise CloudUnavailable(f"HTTP {status}", status)
        raise TicketRejected(item.key, status, response.text[:300])

    def _unreachable(self, error: str) -> None:
        self.status.reachable = False
        self.status.last_error = error
