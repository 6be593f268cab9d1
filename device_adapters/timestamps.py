"""Timestamp parsing shared by the adapters: RFC 3339 strings and epoch numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo

from device_adapters.exceptions import PayloadRejected, RejectReason

__all__ = ["parse_timestamp"]

# Epoch numbers above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
_MS_THRESHOLD = 1e11
# Accept 2000-01-01 .. 2100-01-01; anything else is a device clock that was never set.
_MIN_EPOCH = 946_684_800.0
_MAX_EPOCH = 4_102_444_800.0


def parse_timestamp(
    value: object, *, naive_as_utc: bool = False, naive_tz: tzinfo | None = None
) -> datetime:
    """Parse an RFC 3339 string or an epoch number (seconds or milliseconds) to aware UTC.

    Args:
        value: the raw JSON value.
        naive_as_utc: accept a string without an offset as UTC.
        naive_tz: read a string without an offset in this zone instead (Tasmota's
            ``Time`` is local time without an offset; its adapter passes the configured
            zone). Takes precedence over ``naive_as_utc``.

    Raises:
        PayloadRejected: ``bad_timestamp`` when the value has no known format or lies
            outside 2000..2100.
    """
    if isinstance(value, bool):
        raise PayloadRejected(RejectReason.BAD_TIMESTAMP, f"timestamp {value!r} is a boolean")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError as exc:  # an int beyond float range
            raise PayloadRejected(RejectReason.BAD_TIMESTAMP, "epoch out of range") from exc
        if not math.isfinite(seconds):
            raise PayloadRejected(RejectReason.BAD_TIMESTAMP, "timestamp is not finite")
        if abs(seconds) >= _MS_THRESHOLD:
            seconds /= 1000.0
        if not _MIN_EPOCH <= seconds < _MAX_EPOCH:
            raise PayloadRejected(RejectReason.BAD_TIMESTAMP, f"epoch {value!r} out of range")
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        return _parse_rfc3339(value, naive_tz=naive_tz or (UTC if naive_as_utc else None))
    raise PayloadRejected(
        RejectReason.BAD_TIMESTAMP,
        f"timestamp must be a string or number, got {type(value).__name__}",
    )


def _parse_rfc3339(text: str, *, naive_tz: tzinfo | None) -> datetime:
    if not 10 <= len(text) <= 40:  # the shortest date to the longest offset form
        raise PayloadRejected(
            RejectReason.BAD_TIMESTAMP, f"timestamp {text[:40]!r} has no known format"
        )
    try:
        # fromisoformat in 3.11 accepts RFC 3339 including 'Z' and fractional seconds
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PayloadRejected(
            RejectReason.BAD_TIMESTAMP, f"timestamp {text!r} has no known format"
        ) from exc
    if ts.tzinfo is None:
        if naive_tz is None:
            raise PayloadRejected(RejectReason.BAD_TIMESTAMP, f"timestamp {text!r} has no offset")
        ts = ts.replace(tzinfo=naive_tz)
    try:
        ts = ts.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise PayloadRejected(
            RejectReason.BAD_TIMESTAMP, f"timestamp {text!r} out of range"
        ) from exc
    if not _MIN_EPOCH <= ts.timestamp() < _MAX_EPOCH:
        raise PayloadRejected(RejectReason.BAD_TIMESTAMP, f"timestamp {text!r} out of range")
    return ts
