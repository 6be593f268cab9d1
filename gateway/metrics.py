"""Prometheus metrics of one gateway runtime, with exactly the names of DESIGN.md Contract 5.

Each runtime owns its own :class:`~prometheus_client.CollectorRegistry` (never the global
default), so two runtimes in one process (tests, the demo) do not share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["GatewayMetrics"]


class GatewayMetrics:
    """The gateway's counters, gauges and histograms.

    Attributes:
        messages: ``aftercare_messages_total{source,adapter,result}``; ``result`` is ``ok``
            or a reject reason (``bad_json``, ``schema``, ``duplicate``, ``crc``,
            ``queue_full``...).
        readings: ``aftercare_readings_total``: accepted metric values.
        late: ``aftercare_late_readings_total``: telemetry beyond the lateness window
            (stored, flagged, not shown to detection).
        detections: ``aftercare_detections_total{fault_code}``.
        tickets: ``aftercare_tickets_total{result}``: ``queued``, ``created``,
            ``duplicate`` (the cloud already had it), ``dead_letter``, ``outbox_full``,
            ``retry``.
        outbox_depth: ``aftercare_outbox_depth``: tickets waiting to be sent.
        forward_seconds: ``aftercare_forward_seconds``: one POST to the cloud.
        store_points: ``aftercare_store_points_total{result}``: ``written``, ``dropped``,
            ``retry``.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "aftercare_messages_total",
            "Messages and frames received, by source, adapter and result.",
            ["source", "adapter", "result"],
            registry=r,
        )
        self.readings = Counter("aftercare_readings_total", "Metric values accepted.", registry=r)
        self.late = Counter(
            "aftercare_late_readings_total",
            "Telemetry older than the lateness window (stored and flagged, not detected on).",
            registry=r,
        )
        self.detections = Counter(
            "aftercare_detections_total", "Faults diagnosed.", ["fault_code"], registry=r
        )
        self.tickets = Counter(
            "aftercare_tickets_total", "Ticket requests, by result.", ["result"], registry=r
        )
        self.outbox_depth = Gauge(
            "aftercare_outbox_depth", "Tickets in the outbox waiting for the cloud.", registry=r
        )
        self.forward_seconds = Histogram(
            "aftercare_forward_seconds",
            "Duration of one ticket POST to the cloud.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.store_points = Counter(
            "aftercare_store_points_total",
            "Telemetry points for the store, by result.",
            ["result"],
            registry=r,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
