"""The rows of a field map: where a metric sits on the wire, and how it is scaled.

Frozen, keyword-only dataclasses (STYLE 10.2, table-driven mapping): a JSON path
(:class:`FieldMap`, :class:`StateMap`), a Modbus register (:class:`Register` in a
:class:`RegisterMap`) and a Tuya datapoint (:class:`Datapoint`). Each converts in both
directions, so the gateway decodes with the same rows the simulator encodes with.

Scale convention, the same for every format: ``metric = raw * scale`` and
``raw = metric / scale``. Integer wire types round (and clamp) on encode.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "Datapoint",
    "DpType",
    "FieldMap",
    "Register",
    "RegisterMap",
    "RegisterType",
    "StateMap",
    "WordOrder",
]


def _inverse(scale: float) -> float | None:
    """``1/scale`` when it is a whole number, so decoding divides exactly (253/10 == 25.3)."""
    inverse = 1.0 / scale
    return inverse if inverse.is_integer() and inverse > 1 else None


def _check_scale(scale: float, where: str) -> None:
    if not math.isfinite(scale) or scale == 0:
        raise ValueError(f"{where}: scale must be finite and non-zero, got {scale!r}")


def _from_raw(raw: float, scale: float, inverse: float | None) -> float:
    return raw / inverse if inverse is not None else raw * scale


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldMap:
    """One metric inside a JSON payload (Tasmota, Shelly Gen2, Zigbee2MQTT).

    Attributes:
        source: the path to the value: dot-separated keys (``ENERGY.Current``); for
            Shelly the first segment is the component key (``switch:0.current``).
        metric: the catalog metric it becomes.
        scale: ``metric = raw * scale``.
    """

    source: str
    metric: str
    scale: float = 1.0
    path: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _inverse: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_scale(self.scale, self.source)
        path = tuple(self.source.split("."))
        if not self.source or not all(path):
            raise ValueError(f"field path {self.source!r} has an empty segment")
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "_inverse", _inverse(self.scale))

    def decode(self, raw: float) -> float:
        """The metric value of a raw wire number."""
        return _from_raw(raw, self.scale, self._inverse)

    def encode(self, value: float) -> float:
        """The raw wire number of a metric value."""
        return value / self.scale if self.scale != 1.0 else value


@dataclass(frozen=True, slots=True, kw_only=True)
class StateMap:
    """One discrete state key inside a JSON payload.

    Attributes:
        source: the path to the value, as in :class:`FieldMap`.
        key: the state key it becomes (``power``, ``mode``).
        on_off: map booleans and ``ON``/``OFF`` strings to ``on``/``off``.
    """

    source: str
    key: str
    on_off: bool = False
    path: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        path = tuple(self.source.split("."))
        if not self.source or not all(path):
            raise ValueError(f"state path {self.source!r} has an empty segment")
        object.__setattr__(self, "path", path)


class RegisterType(StrEnum):
    """Modbus value types; 32-bit types span two consecutive registers."""

    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    FLOAT32 = "float32"


class WordOrder(StrEnum):
    """Order of the two 16-bit words of a 32-bit value (bytes within a word are big-endian).

    ``big`` (high word first, "ABCD") is the Modbus convention; many meters use ``little``
    (low word first, "CDAB").
    """

    BIG = "big"
    LITTLE = "little"


_STRUCT: Final[Mapping[RegisterType, str]] = MappingProxyType(
    {
        RegisterType.UINT16: ">H",
        RegisterType.INT16: ">h",
        RegisterType.UINT32: ">I",
        RegisterType.INT32: ">i",
        RegisterType.FLOAT32: ">f",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    """One metric in a Modbus register block.

    Attributes:
        address: the first register (0-based protocol address).
        type: the value type; 32-bit types use ``address`` and ``address + 1``.
        scale: ``metric = raw * scale``.
        metric: the catalog metric it becomes.
    """

    address: int
    type: RegisterType
    scale: float = 1.0
    metric: str
    _inverse: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_scale(self.scale, self.metric)
        if not 0 <= self.address <= 0xFFFF - self.count + 1:
            raise ValueError(f"{self.metric}: register address {self.address} out of range")
        object.__setattr__(self, "_inverse", _inverse(self.scale))

    @property
    def count(self) -> int:
        """How many 16-bit registers the value occupies."""
        return 1 if self.type in (RegisterType.UINT16, RegisterType.INT16) else 2

    @property
    def limits(self) -> tuple[float, float]:
        """The lowest and highest metric values the register can carry."""
        if self.type is RegisterType.FLOAT32:
            return (-3.4e38, 3.4e38)
        low, high = (v * self.scale for v in _INT_RANGE[self.type])
        return (min(low, high), max(low, high))

    def decode(self, words: tuple[int, ...] | list[int], order: WordOrder) -> float:
        """The metric value of this register's words (``count`` of them, 0..65535 each)."""
        if self.count == 2 and order is WordOrder.LITTLE:
            words = (words[1], words[0])
        raw_bytes = b"".join(w.to_bytes(2, "big") for w in words[: self.count])
        (raw,) = struct.unpack(_STRUCT[self.type], raw_bytes)
        if self.type is RegisterType.FLOAT32 and math.isfinite(raw):
            # a float32 holds ~7 significant digits; print them, not the binary residue
            raw = float(f"{raw:.7g}")
        return _from_raw(float(raw), self.scale, self._inverse)

    def encode(self, value: float, order: WordOrder) -> tuple[int, ...]:
        """The register words of a metric value (rounded and clamped to the type's range)."""
        raw = value / self.scale
        if self.type is RegisterType.FLOAT32:
            packed = struct.pack(">f", raw)
        else:
            low, high = _INT_RANGE[self.type]
            packed = struct.pack(_STRUCT[self.type], min(max(round(raw), low), high))
        words = tuple(int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2))
        if self.count == 2 and order is WordOrder.LITTLE:
            words = (words[1], words[0])
        return words


_INT_RANGE: Final[Mapping[RegisterType, tuple[int, int]]] = MappingProxyType(
    {
        RegisterType.UINT16: (0, 0xFFFF),
        RegisterType.INT16: (-0x8000, 0x7FFF),
        RegisterType.UINT32: (0, 0xFFFF_FFFF),
        RegisterType.INT32: (-0x8000_0000, 0x7FFF_FFFF),
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterMap:
    """A device's register block: read with one request of ``function`` from ``start``.

    Attributes:
        registers: the metrics, non-overlapping.
        function: 3 (read holding registers) or 4 (read input registers).
        word_order: for 32-bit values.
    """

    registers: tuple[Register, ...]
    function: int = 4
    word_order: WordOrder = WordOrder.BIG

    def __post_init__(self) -> None:
        if self.function not in (3, 4):
            raise ValueError(f"function must be 3 or 4, got {self.function}")
        used: dict[int, str] = {}
        for reg in self.registers:
            for addr in range(reg.address, reg.address + reg.count):
                if addr in used:
                    raise ValueError(f"register {addr} used by {used[addr]} and {reg.metric}")
                used[addr] = reg.metric
        if self.registers and self.count > 125:  # the Modbus limit for one read request
            raise ValueError(f"register block spans {self.count} registers (> 125)")

    @property
    def start(self) -> int:
        """The first register to read."""
        return min(r.address for r in self.registers)

    @property
    def count(self) -> int:
        """How many registers one read request covers."""
        return max(r.address + r.count for r in self.registers) - self.start

    def decode(self, words: tuple[int, ...] | list[int]) -> dict[str, float]:
        """Metrics from a block read from :attr:`start` (``count`` words)."""
        start = self.start
        return {
            r.metric: r.decode(
                words[r.address - start : r.address - start + r.count], self.word_order
            )
            for r in self.registers
        }

    def encode(self, metrics: Mapping[str, float]) -> list[int]:
        """The register block of some metrics (missing metrics read as 0)."""
        block = [0] * self.count
        start = self.start
        for reg in self.registers:
            if reg.metric in metrics:
                offset = reg.address - start
                block[offset : offset + reg.count] = reg.encode(
                    metrics[reg.metric], self.word_order
                )
        return block


class DpType(IntEnum):
    """Tuya MCU datapoint types (the ``type`` byte of a DP unit)."""

    RAW = 0
    BOOL = 1
    VALUE = 2  # 4-byte big-endian signed integer
    STRING = 3
    ENUM = 4  # 1 byte, an index into the DP's options
    BITMAP = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Datapoint:
    """One Tuya MCU datapoint.

    Attributes:
        dp_id: the datapoint id (1..255).
        type: the DP type; ``VALUE`` becomes a metric, the others state.
        name: the metric (for ``VALUE``) or state key it becomes.
        scale: ``metric = raw * scale`` (``VALUE`` only).
        options: the labels of an ``ENUM`` DP, by index.
    """

    dp_id: int
    type: DpType
    name: str
    scale: float = 1.0
    options: tuple[str, ...] = ()
    _inverse: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_scale(self.scale, self.name)
        if not 1 <= self.dp_id <= 255:
            raise ValueError(f"{self.name}: dp_id {self.dp_id} out of 1..255")
        if self.type is DpType.ENUM and not self.options:
            raise ValueError(f"{self.name}: an ENUM datapoint needs options")
        object.__setattr__(self, "_inverse", _inverse(self.scale))

    @property
    def is_metric(self) -> bool:
        """Whether the DP is a numeric metric (else a state key)."""
        return self.type is DpType.VALUE

    def decode_value(self, raw: int) -> float:
        """The metric value of a raw ``VALUE``."""
        return _from_raw(float(raw), self.scale, self._inverse)

    def encode_value(self, value: float) -> int:
        """The raw ``VALUE`` of a metric, rounded and clamped to a signed 32-bit integer."""
        return min(max(round(value / self.scale), -0x8000_0000), 0x7FFF_FFFF)
