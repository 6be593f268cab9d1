"""Errors raised by the device adapters.

The tree::

    AdapterError                 base of everything this package raises
    ├── PayloadRejected          one message or frame was refused; carries a RejectReason
    └── AdapterConfigError       an adapter was configured wrongly (at start-up, never per message)

The pipeline catches :class:`PayloadRejected`, counts it by ``reason`` in
``aftercare_messages_total{result=reason}``, logs one line and moves on.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AdapterConfigError", "AdapterError", "PayloadRejected", "RejectReason"]


class RejectReason(StrEnum):
    """Why a message was refused: the ``result`` label of ``aftercare_messages_total``."""

    BAD_JSON = "bad_json"  # not UTF-8 JSON, or not an object
    SCHEMA = "schema"  # a field is missing or has the wrong type
    NON_FINITE = "non_finite"  # a metric is NaN or infinite
    BAD_TIMESTAMP = "bad_timestamp"  # the timestamp has no known format or is out of range
    TOO_LARGE = "too_large"  # the payload exceeds the configured size limit
    UNKNOWN_DEVICE = "unknown_device"  # no device is mapped to this topic or address
    UNKNOWN_TOPIC = "unknown_topic"  # no adapter claims this topic
    DUPLICATE = "duplicate"  # the same device and seq (or timestamp) was seen before
    LATE = "late"  # older than the accepted lateness window
    CRC = "crc"  # a serial frame failed its CRC or checksum
    FRAMING = "framing"  # bytes that are not part of any valid frame
    QUEUE_FULL = "queue_full"  # dropped because a bounded queue was full


class AdapterError(Exception):
    """Base class of the device adapters' errors."""


class PayloadRejected(AdapterError):  # noqa: N818 — a verdict, not a fault of ours
    """A message or frame was refused.

    Attributes:
        reason: the closed-set reason, used as the metric label.
        detail: a human-readable explanation (which field, what was wrong).
        device_id: the device the payload claimed to come from, when known.
    """

    def __init__(self, reason: RejectReason, detail: str, *, device_id: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.device_id = device_id


class AdapterConfigError(AdapterError):
    """An adapter's configuration is invalid (unknown name, bad register map, ...)."""
