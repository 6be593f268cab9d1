"""The native Aftercare telemetry message (DESIGN.md Contract 1).

Topic ``aftercare/{home_id}/{device_id}/telemetry``, QoS 1, UTF-8 JSON::

    {"device_id": "ac-000042", "home_id": "h-000017", "kind": "air_conditioner",
     "model": "KFR-35GW", "fw": "2.3.1", "ts": "2026-11-23T08:00:00Z", "seq": 1042,
     "metrics": {"indoor_temp_c": 25.9, "compressor_current_a": 4.8},
     "state": {"power": "on", "mode": "cool"}}

``ts`` is RFC 3339 with an offset or epoch seconds/milliseconds. Unknown metric names are
kept. The ``status`` and ``event`` topics of the same device are read too: ``status``
yields nothing (availability is tracked by the gateway), ``event`` yields nothing either
but is validated so that malformed events are counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from math import isfinite
from typing import Any, ClassVar, Final, Self

import orjson

from aftercare.catalog import default_catalog
from device_adapters._payload import load_json_object
from device_adapters.base import DEFAULT_MAX_PAYLOAD_BYTES
from device_adapters.bindings import check_keys, read_max_payload
from device_adapters.exceptions import PayloadRejected, RejectReason
from device_adapters.reading import StateValue, Telemetry
from device_adapters.timestamps import parse_timestamp

__all__ = ["NativeAdapter", "encode_native", "native_topic"]

TOPIC_PREFIX: Final = "aftercare"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_METRIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_METRICS: Final = 64
_MAX_SEQ: Final = 2**63 - 1
_OPTIONAL_TEXT: Final = ("kind", "model", "fw")
_CHANNELS: Final = frozenset({"telemetry", "status", "event"})
_MAX_STATE_TEXT: Final = 256
_MAX_REMEMBERED: Final = 65_536
_CATALOG_METRICS: Final = frozenset(
    m for kind in default_catalog().kinds.values() for m in kind.metric_names
)


def native_topic(home_id: str, device_id: str, channel: str = "telemetry") -> str:
    """The native topic of a device: ``aftercare/{home}/{device}/{channel}``."""
    return f"{TOPIC_PREFIX}/{home_id}/{device_id}/{channel}"


def encode_native(telemetry: Telemetry) -> bytes:
    """Encode telemetry as a native message (the simulator's and the tests' encoder)."""
    body: dict[str, Any] = {"device_id": telemetry.device_id}
    if telemetry.home_id is not None:
        body["home_id"] = telemetry.home_id
    for key in _OPTIONAL_TEXT:
        value = getattr(telemetry, key)
        if value is not None:
            body[key] = value
    body["ts"] = telemetry.ts.isoformat().replace("+00:00", "Z")
    if telemetry.seq is not None:
        body["seq"] = telemetry.seq
    body["metrics"] = dict(telemetry.metrics)
    if telemetry.state:
        body["state"] = dict(telemetry.state)
    return orjson.dumps(body)


class NativeAdapter:
    """Decodes Contract 1 messages.

    This is the gateway's hot path, so validated topics and metric names are remembered
    (in bounded sets) instead of being matched against a pattern on every message.

    Args:
        max_payload_bytes: larger payloads are rejected as ``too_large`` unread.
    """

    name: ClassVar[str] = "native"
    topic_filters: ClassVar[tuple[str, ...]] = (
        f"{TOPIC_PREFIX}/+/+/telemetry",
        f"{TOPIC_PREFIX}/+/+/status",
        f"{TOPIC_PREFIX}/+/+/event",
    )

    def __init__(self, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        self.max_payload_bytes = max_payload_bytes
        self._topics: dict[str, tuple[str, str, str]] = {}
        # metric names already validated: the catalog's, then what devices send (bounded)
        self._metric_names: set[str] = set(_CATALOG_METRICS)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from a configuration table (only ``max_payload_bytes``).

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        check_keys(settings, frozenset({"max_payload_bytes"}), cls.name)
        return cls(max_payload_bytes=read_max_payload(settings, cls.name))

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:  # noqa: ARG002 — Contract 1 requires ts in the payload
        """Decode one native message; see :class:`~device_adapters.base.DeviceAdapter`."""
        if len(payload) > self.max_payload_bytes:
            raise PayloadRejected(
                RejectReason.TOO_LARGE, f"{len(payload)} bytes > {self.max_payload_bytes}"
            )
        parsed = self._topics.get(topic)
        if parsed is None:
            parsed = self._parse_topic(topic)
        home_id, device_id, channel = parsed
        if channel == "status":
            _check_status(payload, device_id)
            return []
        body = load_json_object(payload)
        if channel == "event":
            _check_event(body, device_id)
            return []
        return [_telemetry(body, home_id, device_id, self.name, self._metric_names)]

    def _parse_topic(self, topic: str) -> tuple[str, str, str]:
        parts = topic.split("/")
        if len(parts) != 4 or parts[0] != TOPIC_PREFIX:  # prefix/home/device/channel
            raise PayloadRejected(RejectReason.UNKNOWN_TOPIC, f"not a native topic: {topic!r}")
        _, home_id, device_id, channel = parts
        if channel not in _CHANNELS:
            raise PayloadRejected(RejectReason.UNKNOWN_TOPIC, f"unknown channel {channel!r}")
        if not _ID.match(home_id) or not _ID.match(device_id):
            raise PayloadRejected(
                RejectReason.UNKNOWN_TOPIC, f"invalid home or device id in {topic!r}"
            )
        if len(self._topics) >= _MAX_REMEMBERED:
            self._topics.clear()  # a crude bound; refilling costs one pattern match per topic
        self._topics[topic] = parsed = (home_id, device_id, channel)
        return parsed


def _telemetry(
    body: dict[str, Any], home_id: str, device_id: str, source: str, known: set[str]
) -> Telemetry:
    claimed = body.get("device_id")
    if claimed is None:
        raise PayloadRejected(RejectReason.SCHEMA, "missing field 'device_id'", device_id=device_id)
    if claimed != device_id:
        raise PayloadRejected(
            RejectReason.SCHEMA,
            f"device_id {str(claimed)[:64]!r} does not match the topic's {device_id!r}",
            device_id=device_id,
        )
    claimed_home = body.get("home_id")
    if claimed_home is not None and claimed_home != home_id:
        raise PayloadRejected(
            RejectReason.SCHEMA,
            f"home_id {str(claimed_home)[:64]!r} does not match the topic",
            device_id=device_id,
        )
    if "ts" not in body:
        raise PayloadRejected(RejectReason.SCHEMA, "missing field 'ts'", device_id=device_id)
    try:
        ts = parse_timestamp(body["ts"])
    except PayloadRejected as exc:
        exc.device_id = device_id
        raise
    return Telemetry(
        device_id=device_id,
        ts=ts,
        metrics=_metrics(body.get("metrics"), device_id, known),
        state=_state(body.get("state"), device_id),
        home_id=home_id,
        kind=_text(body, "kind", device_id),
        model=_text(body, "model", device_id),
        fw=_text(body, "fw", device_id),
        seq=_seq(body.get("seq"), device_id),
        source=source,
    )


def _text(body: Mapping[str, Any], key: str, device_id: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if type(value) is not str or not value or len(value) > 64:  # the id length cap
        raise PayloadRejected(
            RejectReason.SCHEMA, f"field {key!r} must be a short string", device_id=device_id
        )
    return value


def _metrics(raw: object, device_id: str, known: set[str]) -> dict[str, float]:
    if type(raw) is not dict:
        raise PayloadRejected(
            RejectReason.SCHEMA, "'metrics' must be an object", device_id=device_id
        )
    if len(raw) > _MAX_METRICS:
        raise PayloadRejected(
            RejectReason.SCHEMA, f"more than {_MAX_METRICS} metrics", device_id=device_id
        )
    metrics: dict[str, float] = {}
    for name, value in raw.items():
        kind_of_value = type(value)
        # bool is an int subclass; a true/false metric is a schema error, not 1.0
        if kind_of_value is float:
            if not isfinite(value):  # orjson refuses NaN, but other callers may not
                raise PayloadRejected(
                    RejectReason.NON_FINITE, f"metric {name!r} is not finite", device_id=device_id
                )
        elif kind_of_value is int:
            value = float(value)
        else:
            raise PayloadRejected(
                RejectReason.SCHEMA,
                f"metric {name[:64]!r} must be a number, got {kind_of_value.__name__}",
                device_id=device_id,
            )
        if name not in known:
            _check_metric_name(name, device_id, known)
        metrics[name] = value
    return metrics


def _check_metric_name(name: str, device_id: str, known: set[str]) -> None:
    if not _METRIC.match(name):
        raise PayloadRejected(
            RejectReason.SCHEMA, f"invalid metric name {name[:64]!r}", device_id=device_id
        )
    if len(known) < _MAX_REMEMBERED:
        known.add(name)


def _state(raw: object, device_id: str) -> dict[str, StateValue]:
    if raw is None:
        return {}
    if type(raw) is not dict or len(raw) > _MAX_METRICS:
        raise PayloadRejected(
            RejectReason.SCHEMA, "'state' must be a small object", device_id=device_id
        )
    for key, value in raw.items():
        kind_of_value = type(value)
        if kind_of_value is str:
            if len(value) > _MAX_STATE_TEXT:
                raise PayloadRejected(
                    RejectReason.SCHEMA, f"state {key[:64]!r} is too long", device_id=device_id
                )
        elif not (kind_of_value is bool or kind_of_value is int or kind_of_value is float) or (
            kind_of_value is float and not isfinite(value)
        ):
            raise PayloadRejected(
                RejectReason.SCHEMA, f"state {key[:64]!r} must be a scalar", device_id=device_id
            )
    return raw


def _seq(raw: object, device_id: str) -> int | None:
    if raw is None:
        return None
    if type(raw) is not int or not 0 <= raw <= _MAX_SEQ:
        raise PayloadRejected(
            RejectReason.SCHEMA, "'seq' must be a non-negative integer", device_id=device_id
        )
    return raw


def _check_status(payload: bytes, device_id: str) -> None:
    if payload.strip() not in (b"online", b"offline"):
        raise PayloadRejected(
            RejectReason.SCHEMA, "status must be 'online' or 'offline'", device_id=device_id
        )


def _check_event(body: Mapping[str, Any], device_id: str) -> None:
    code = body.get("code")
    if type(code) is not str or not 0 < len(code) <= 64:
        raise PayloadRejected(
            RejectReason.SCHEMA, "event needs a short string 'code'", device_id=device_id
        )
    if "ts" in body:
        try:
            parse_timestamp(body["ts"])
        except PayloadRejected as exc:
            exc.device_id = device_id
            raise
