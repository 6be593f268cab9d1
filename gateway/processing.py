"""Between ingest and the sinks: run the pipeline, count every outcome, queue the faults.

MQTT and serial ingest both hand messages here. Per batch the counters are summed first
and incremented once per label set, because a labelled Prometheus increment costs more
than the decode of a small message. Rejections are counted by reason and a sample is
logged (the first of each reason, then one in :data:`LOG_EVERY`), so a flood of bad
input neither floods the log nor stops the stream. Faults go to the durable outbox
before anything is sent; readings go to the telemetry store's bounded buffer.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from anomaly.fault_report import FaultReport
from device_adapters import DeviceAdapter
from gateway.metrics import GatewayMetrics
from gateway.outbox import AsyncOutbox, PutResult
from gateway.pipeline import Outcome, Pipeline
from gateway.store import TelemetryStore

__all__ = ["LOG_EVERY", "Processor"]

logger = logging.getLogger(__name__)

LOG_EVERY: Final = 1000


class Processor:
    """Runs messages through the pipeline and routes what comes out.

    Args:
        pipeline: the sans-IO pipeline.
        metrics: the runtime's metrics.
        outbox: where faults become ticket requests.
        store: the telemetry sink, or None when it is off.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        metrics: GatewayMetrics,
        outbox: AsyncOutbox,
        store: TelemetryStore | None,
    ) -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self.outbox = outbox
        self.store = store
        self.rejected: Counter[str] = Counter()

    async def handle_batch(
        self, source: str, messages: Iterable[tuple[str, bytes]], received_at: datetime
    ) -> None:
        """Process MQTT messages ``(topic, payload)`` received at ``received_at``."""
        counts: Counter[tuple[str, str]] = Counter()
        faults: list[FaultReport] = []
        handle = self.pipeline.handle
        for topic, payload in messages:
            try:
                outcome = handle(topic, payload, received_at)
            except Exception:  # broad on purpose: one bad message must not stop the stream
                logger.exception("pipeline failed on a message from %s", topic)
                counts["none", "internal_error"] += 1
                continue
            self._account(source, topic, outcome, counts, faults)
        self._count(source, counts)
        await self.queue_faults(faults)

    async def handle_frame(
        self, source: str, adapter: DeviceAdapter, channel: str, frame: bytes, received_at: datetime
    ) -> None:
        """Process one serial frame from ``channel`` (the port)."""
        counts: Counter[tuple[str, str]] = Counter()
        faults: list[FaultReport] = []
        try:
            outcome = self.pipeline.handle_with(adapter, channel, frame, received_at)
        except Exception:  # broad on purpose: one bad frame must not stop the port
            logger.exception("pipeline failed on a frame from %s", channel)
            counts[adapter.name, "internal_error"] += 1
        else:
            self._account(source, channel, outcome, counts, faults)
        self._count(source, counts)
        await self.queue_faults(faults)

    def count_rejects(self, source: str, adapter: str, reason: str, n: int) -> None:
        """Count ``n`` rejections found before the pipeline (framer CRC and framing errors)."""
        if n:
            self.metrics.messages.labels(source=source, adapter=adapter, result=reason).inc(n)
            self.rejected[reason] += n

    async def queue_faults(self, faults: Iterable[FaultReport]) -> None:
        """Store each fault durably in the outbox (before any send) and count it."""
        for report in faults:
            self.metrics.detections.labels(fault_code=report.fault_code).inc()
            result = await self.outbox.put(report)
            self.metrics.tickets.labels(result=result.value).inc()
            if result is PutResult.FULL:
                logger.error(
                    "outbox full (%d rows): ticket %s refused",
                    self.outbox.depth,
                    report.episode_key,
                )
            elif result is PutResult.QUEUED:
                logger.info(
                    "fault %s on %s queued as a ticket", report.fault_code, report.device_id
                )
        self.metrics.outbox_depth.set(self.outbox.depth)

    def _account(
        self,
        source: str,
        topic: str,
        outcome: Outcome,
        counts: Counter[tuple[str, str]],
        faults: list[FaultReport],
    ) -> None:
        counts[outcome.adapter, outcome.result] += 1
        if outcome.error is not None:
            self._sample(source, topic, outcome)
        if outcome.telemetry:
            self.metrics.readings.inc(sum(len(t.metrics) for t in outcome.telemetry))
            if self.store is not None:
                self.store.offer(outcome.telemetry)
        if outcome.late:
            self.metrics.late.inc(outcome.late)
        if outcome.faults:
            faults.extend(outcome.faults)

    def _sample(self, source: str, topic: str, outcome: Outcome) -> None:
        reason = outcome.result
        self.rejected[reason] += 1
        seen = self.rejected[reason]
        if seen == 1 or seen % LOG_EVERY == 0:
            error = outcome.error
            logger.warning(
                "rejected %s message (%d so far) from %s on %s, device %s: %s",
                reason,
                seen,
                source,
                topic,
                error.device_id if error is not None else None,
                error,
            )

    def _count(self, source: str, counts: Counter[tuple[str, str]]) -> None:
        messages = self.metrics.messages
        for (adapter, result), n in counts.items():
            messages.labels(source=source, adapter=adapter, result=result).inc(n)
