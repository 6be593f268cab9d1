"""The Tuya MCU serial protocol, as the appliance's MCU speaks it.

Per Tuya's "Tuya Cloud Universal Serial Port Access Protocol" (developer.tuya.com,
``/en/docs/iot/tuya-cloud-universal-serial-port-access-protocol``), 9600 8N1. A frame is::

    55 AA | version | command | length (2 bytes, big-endian) | data | checksum

``version`` is 0x00 from the module and 0x03 from the MCU; ``checksum`` is the sum of
every preceding byte of the frame modulo 256. The module's heartbeat is
``55 AA 00 00 00 00 FF``; the MCU answers ``55 AA 03 00 00 01 00 03`` the first time after
power-on and ``... 01 01 04`` afterwards. A status report (command 0x07) carries DP
units: ``dp_id (1) | type (1) | length (2, big-endian) | value``, a ``value`` DP (type
0x02) being a 4-byte big-endian signed integer, scaled per the DP map.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from device_adapters.profiles import Datapoint, DpType

__all__ = [
    "MCU_VERSION",
    "MODULE_VERSION",
    "Command",
    "Frame",
    "FrameParser",
    "checksum",
    "dp_units",
    "encode_frame",
]

HEADER: Final = b"\x55\xaa"
MODULE_VERSION: Final = 0x00
MCU_VERSION: Final = 0x03
_MAX_DATA: Final = 1024


class Command(IntEnum):
    """Commands of the protocol used here."""

    HEARTBEAT = 0x00
    PRODUCT_INFO = 0x01
    WORKING_MODE = 0x02
    NETWORK_STATUS = 0x03
    SEND_COMMAND = 0x06
    STATUS_REPORT = 0x07
    QUERY_STATUS = 0x08


def checksum(data: bytes) -> int:
    """Sum of the bytes modulo 256."""
    return sum(data) & 0xFF


def encode_frame(version: int, command: int, data: bytes = b"") -> bytes:
    """A complete frame with its checksum."""
    body = HEADER + bytes((version, command)) + len(data).to_bytes(2, "big") + data
    return body + bytes((checksum(body),))


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame."""

    version: int
    command: int
    data: bytes


class FrameParser:
    """Finds frames in a byte stream; garbage, truncated and bad-checksum frames are skipped.

    Attributes:
        bad_checksum: frames dropped for a wrong checksum.
        skipped_bytes: bytes skipped while looking for a header.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad_checksum = 0
        self.skipped_bytes = 0

    def feed(self, chunk: bytes) -> list[Frame]:
        """Add bytes; return the complete frames now available."""
        self._buf.extend(chunk)
        frames: list[Frame] = []
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                keep = 1 if self._buf[-1:] == HEADER[:1] else 0
                self.skipped_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return frames
            if start:
                self.skipped_bytes += start
                del self._buf[:start]
            if len(self._buf) < 7:
                return frames
            length = int.from_bytes(self._buf[4:6], "big")
            if length > _MAX_DATA:
                self.skipped_bytes += 1
                del self._buf[:1]
                continue
            total = 7 + length
            if len(self._buf) < total:
                return frames
            raw = bytes(self._buf[:total])
            if checksum(raw[:-1]) != raw[-1]:
                # resynchronise one byte on: a corrupted length must not swallow good frames
                self.bad_checksum += 1
                del self._buf[:1]
                continue
            del self._buf[:total]
            frames.append(Frame(raw[2], raw[3], raw[6:-1]))


def _unit(dp_id: int, dp_type: int, value: bytes) -> bytes:
    return bytes((dp_id, dp_type)) + len(value).to_bytes(2, "big") + value


def dp_units(
    datapoints: Iterable[Datapoint], metrics: Mapping[str, float], state: Mapping[str, str]
) -> bytes:
    """The DP units of a status report for ``metrics`` and ``state``."""
    out = bytearray()
    for dp in datapoints:
        if dp.type is DpType.VALUE and dp.name in metrics:
            out += _unit(dp.dp_id, dp.type, struct.pack(">i", dp.encode_value(metrics[dp.name])))
        elif dp.type is DpType.BOOL:
            out += _unit(dp.dp_id, dp.type, bytes((0 if state.get(dp.name) == "off" else 1,)))
        elif dp.type is DpType.ENUM and state.get(dp.name) in dp.options:
            out += _unit(dp.dp_id, dp.type, bytes((dp.options.index(state[dp.name]),)))
    return bytes(out)
