"""The telemetry sink: readings written to an InfluxDB v2 write API through influxdb-client.

Detection and ticketing never wait for the store. :meth:`TelemetryStore.offer` only
appends line-protocol records to a bounded buffer (full → the new points are dropped and
counted as ``aftercare_store_points_total{result="dropped"}``); :meth:`TelemetryStore.run`
writes batches from a worker thread (influxdb-client's synchronous write API blocks) and
retries a failed batch with capped exponential backoff and jitter, keeping it at the
head of the buffer. On shutdown it flushes what it holds, bounded by a deadline.

One point per telemetry record: measurement ``telemetry``, tags ``device_id``,
``home_id``, ``kind``, ``model``, ``source``, one float field per metric.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any, Final

from device_adapters import Telemetry
from gateway.backoff import Backoff, wait_any, wait_or_stop
from gateway.exceptions import StoreUnavailable
from gateway.metrics import GatewayMetrics
from gateway.settings import StoreSettings

__all__ = ["LineEncoder", "TelemetryStore", "line_of"]

logger = logging.getLogger(__name__)

_MEASUREMENT: Final = "telemetry"
_TAG_ESCAPES: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_CACHED_IDENTITIES: Final = 100_000


def line_of(telemetry: Telemetry) -> str | None:
    """The InfluxDB line-protocol record of one report (None when it has no metrics)."""
    if not telemetry.metrics:
        return None
    fields = ",".join(
        f"{name.translate(_TAG_ESCAPES)}={float(value)!r}"
        for name, value in telemetry.metrics.items()
    )
    ns = int(telemetry.ts.timestamp() * 1_000_000) * 1000
    return f"{_prefix_of(telemetry)} {fields} {ns}"


class LineEncoder:
    """:func:`line_of` with the per-device part remembered.

    Escaping the tags and field names is most of the cost of a record (~20 µs of ~23 on
    the build machine), and they repeat for every report of a device; this keeps the
    measurement-and-tags prefix per device identity (bounded) and the escaped field names.
    """

    def __init__(self, max_identities: int = _CACHED_IDENTITIES) -> None:
        self.max_identities = max_identities
        self._prefixes: dict[tuple[str, str | None, str | None, str | None, str], str] = {}
        self._fields: dict[str, str] = {}

    def encode(self, telemetry: Telemetry) -> str | None:
        """The line-protocol record of one report (None when it has no metrics)."""
        if not telemetry.metrics:
            return None
        identity = (
            telemetry.device_id,
            telemetry.home_id,
            telemetry.kind,
            telemetry.model,
            telemetry.source,
        )
        prefix = self._prefixes.get(identity)
        if prefix is None:
            if len(self._prefixes) >= self.max_identities:
                self._prefixes.clear()  # a fleet larger than the cache: start over
            prefix = self._prefixes[identity] = _prefix_of(telemetry)
        names = self._fields
        fields = []
        for name, value in telemetry.metrics.items():
            escaped = names.get(name)
            if escaped is None:
                if len(names) >= self.max_identities:
                    names.clear()
                escaped = names[name] = name.translate(_TAG_ESCAPES)
            fields.append(f"{escaped}={float(value)!r}")
        ns = int(telemetry.ts.timestamp() * 1_000_000) * 1000
        return f"{prefix} {','.join(fields)} {ns}"


def _prefix_of(telemetry: Telemetry) -> str:
    tags = [f"device_id={telemetry.device_id.translate(_TAG_ESCAPES)}"]
    for name, value in (
        ("home_id", telemetry.home_id),
        ("kind", telemetry.kind),
        ("model", telemetry.model),
        ("source", telemetry.source),
    ):
        if value:
            tags.append(f"{name}={value.translate(_TAG_ESCAPES)}")
    return f"{_MEASUREMENT},{','.join(tags)}"


class TelemetryStore:
    """A bounded, batched, retrying writer.

    Args:
        settings: URL, org, bucket, token, batch size, buffer bound, backoff.
        metrics: the runtime's metrics.
    """

    def __init__(self, settings: StoreSettings, metrics: GatewayMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self._buffer: deque[str] = deque()
        self._ready = asyncio.Event()
        self._backoff = Backoff(settings.backoff_min_s, settings.backoff_max_s)
        self.healthy: bool | None = None
        self.last_error: str | None = None
        self._client: Any = None
        self._write_api: Any = None
        self._encoder = LineEncoder()

    @property
    def buffered(self) -> int:
        """Points waiting to be written."""
        return len(self._buffer)

    def offer(self, records: Iterable[Telemetry]) -> None:
        """Queue reports for the store; never blocks, drops (counted) when the buffer is full."""
        limit = self.settings.max_buffer
        dropped = 0
        encode = self._encoder.encode
        for telemetry in records:
            line = encode(telemetry)
            if line is None:
                continue
            if len(self._buffer) >= limit:
                dropped += 1
                continue
            self._buffer.append(line)
        if dropped:
            self.metrics.store_points.labels(result="dropped").inc(dropped)
        if len(self._buffer) >= self.settings.batch_size:
            self._ready.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Write batches until ``stop``; then flush the buffer (bounded by a deadline)."""
        self._open()
        try:
            while not stop.is_set():
                await wait_any(stop, self._ready, self.settings.flush_interval_s)
                self._ready.clear()
                await self._write_all(stop)
            try:
                await asyncio.wait_for(
                    self._write_all(None), timeout=self.settings.shutdown_flush_s
                )
            except TimeoutError:
                logger.warning("store flush timed out; %d points not written", self.buffered)
        finally:
            await asyncio.to_thread(self._close)

    async def _write_all(self, stop: asyncio.Event | None) -> None:
        while self._buffer:
            batch = [
                self._buffer.popleft()
                for _ in range(min(self.settings.batch_size, len(self._buffer)))
            ]
            try:
                await asyncio.to_thread(self._write, batch)
            except StoreUnavailable as exc:
                self._buffer.extendleft(reversed(batch))
                self.healthy, self.last_error = False, str(exc)
                self.metrics.store_points.labels(result="retry").inc(len(batch))
                delay = self._backoff.next_delay()
                logger.warning("%s; retrying in %.1f s", exc, delay)
                if stop is None:  # the final flush retries within its own deadline
                    await asyncio.sleep(delay)
                elif await wait_or_stop(stop, delay):
                    return
                continue
            self._backoff.reset()
            self.healthy = True
            self.metrics.store_points.labels(result="written").inc(len(batch))

    def _open(self) -> None:
        from influxdb_client.client.influxdb_client import (
            InfluxDBClient,
        )  # deferred: imports take ~200 ms
        from influxdb_client.client.write_api import SYNCHRONOUS

        s = self.settings
        self._client = InfluxDBClient(url=s.url, token=s.token, org=s.org, timeout=10_000)
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    def _write(self, batch: list[str]) -> None:
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            # one str of many lines, not a list: influxdb-client serialises a list record by
            # record (~5 µs each, holding the GIL the pipeline needs); the body is the same
            self._write_api.write(
                bucket=self.settings.bucket, org=self.settings.org, record="\n".join(batch)
            )
        except (ApiException, HTTPError, OSError) as exc:
            raise StoreUnavailable(self.settings.url, f"{type(exc).__name__}: {exc}") from exc

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
