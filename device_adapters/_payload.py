"""Payload helpers shared by the JSON adapters: size limit, JSON loading, value checks.

Every helper raises :class:`~device_adapters.exceptions.PayloadRejected` with a specific
reason and nothing else, so that each adapter keeps the one-exception promise of
:class:`~device_adapters.base.DeviceAdapter`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import orjson

from device_adapters.exceptions import PayloadRejected, RejectReason
from device_adapters.profiles import FieldMap, StateMap
from device_adapters.reading import StateValue

__all__ = [
    "MISSING",
    "about",
    "apply_field_maps",
    "apply_state_maps",
    "check_size",
    "dig",
    "finite_number",
    "is_state_scalar",
    "load_json",
    "load_json_object",
    "on_off",
]

MISSING: Final = object()
"""Returned by :func:`dig` when the path is absent (``None`` is a real JSON value)."""


def check_size(payload: bytes, limit: int) -> None:
    """Refuse a payload longer than ``limit`` bytes as ``too_large``, before parsing it."""
    if len(payload) > limit:
        raise PayloadRejected(RejectReason.TOO_LARGE, f"{len(payload)} bytes > {limit}")


def load_json(payload: bytes) -> Any:  # noqa: ANN401 — any JSON value, checked by callers
    """Parse JSON; NaN/Infinity literals and overflowing numbers are ``non_finite``."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise _json_error(payload, exc) from exc


def load_json_object(payload: bytes) -> dict[str, Any]:
    """Parse a JSON object (anything else is ``bad_json``)."""
    body = load_json(payload)
    if not isinstance(body, dict):
        raise PayloadRejected(
            RejectReason.BAD_JSON, f"expected a JSON object, got {type(body).__name__}"
        )
    return body


def _json_error(payload: bytes, exc: orjson.JSONDecodeError) -> PayloadRejected:
    """Tell NaN/Infinity literals (which orjson refuses) apart from broken JSON."""
    if "infinity" in str(exc):  # orjson's wording for 1e400 and the like
        return PayloadRejected(RejectReason.NON_FINITE, "payload has a number beyond float range")
    non_finite: list[str] = []

    def constant(name: str) -> float:
        non_finite.append(name)
        return math.nan

    # Only the slow path of a failed parse pays for the second, lenient parse.
    try:
        json.loads(payload, parse_constant=constant)
    except (ValueError, RecursionError):
        non_finite.clear()
    if non_finite:
        return PayloadRejected(RejectReason.NON_FINITE, "payload contains NaN or Infinity")
    return PayloadRejected(RejectReason.BAD_JSON, f"invalid JSON: {exc}")


def finite_number(value: object, where: str, device_id: str | None = None) -> float:
    """A JSON number as a finite float; booleans and strings are ``schema`` errors."""
    if type(value) is float:
        if not math.isfinite(value):
            raise PayloadRejected(
                RejectReason.NON_FINITE, f"{where} is not finite", device_id=device_id
            )
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError as exc:
            raise PayloadRejected(
                RejectReason.NON_FINITE, f"{where} is beyond float range", device_id=device_id
            ) from exc
    raise PayloadRejected(
        RejectReason.SCHEMA,
        f"{where} must be a number, got {type(value).__name__}",
        device_id=device_id,
    )


def dig(body: object, path: Sequence[str]) -> object:
    """The value at ``path`` (object keys; digits index arrays), or :data:`MISSING`."""
    node = body
    for key in path:
        if isinstance(node, Mapping):
            node = node.get(key, MISSING)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def apply_field_maps(body: object, fields: Sequence[FieldMap], device_id: str) -> dict[str, float]:
    """The metrics a payload carries under ``fields``; absent or ``null`` values are skipped."""
    metrics: dict[str, float] = {}
    for fmap in fields:
        raw = dig(body, fmap.path)
        if raw is MISSING or raw is None:
            continue
        if isinstance(raw, list):
            raise PayloadRejected(
                RejectReason.SCHEMA,
                f"{fmap.source} is an array (a multi-channel device); map one channel"
                f" with an index such as {fmap.source}.0",
                device_id=device_id,
            )
        value = fmap.decode(finite_number(raw, fmap.source, device_id))
        if not math.isfinite(value):  # 1e308 x 60 overflows
            raise PayloadRejected(
                RejectReason.NON_FINITE, f"{fmap.source} scaled is not finite", device_id=device_id
            )
        metrics[fmap.metric] = value
    return metrics


_ON: Final = frozenset({True, "ON", "on", "On", "true", "1"})
_OFF: Final = frozenset({False, "OFF", "off", "Off", "false", "0"})


def on_off(value: object) -> str | None:
    """``on``/``off`` for the usual switch spellings, ``None`` for anything else."""
    if isinstance(value, bool | str):
        if value in _ON:
            return "on"
        if value in _OFF:
            return "off"
    return None


def apply_state_maps(body: object, states: Sequence[StateMap]) -> dict[str, StateValue]:
    """The discrete state a payload carries under ``states``; non-scalars are ignored."""
    state: dict[str, StateValue] = {}
    for smap in states:
        raw = dig(body, smap.path)
        if smap.on_off:
            switched = on_off(raw)
            if switched is not None:
                state[smap.key] = switched
        elif is_state_scalar(raw):
            state[smap.key] = raw  # type: ignore[assignment]  # narrowed by is_state_scalar
    return state


def is_state_scalar(value: object) -> bool:
    """Whether ``value`` may be a state value: short text, a bool or a finite number."""
    if isinstance(value, str):
        return len(value) <= 64
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int)


@contextmanager
def about(device_id: str) -> Iterator[None]:
    """Name ``device_id`` on any rejection raised inside (unless one is already named)."""
    try:
        yield
    except PayloadRejected as exc:
        if exc.device_id is None:
            exc.device_id = device_id
        raise
