"""Sans-IO framing of serial byte streams, shared by the Modbus RTU and Tuya MCU framers.

A framer is fed whatever bytes the port delivered (``feed(data) -> list[bytes]``) and
returns the complete, checksum-valid frames in order. Like pymodbus's framers it keeps a
short buffer for a partial frame and **hunts** through garbage: at each offset it asks the
protocol whether a frame starts there (:meth:`HuntingFramer.match`); when none does, one
byte is skipped and the hunt goes on. Each contiguous skipped region is counted once, as
``crc`` when a plausible header inside it failed its checksum, else ``framing``.
The region stays open across ``feed`` calls, so the frames *and* the counters do not
depend on how the stream was split (the property tests check exactly that).

The gateway owns the port and its timing: on an inter-frame silence it may call
:meth:`HuntingFramer.flush` to discard a partial frame that will never complete.
"""

from __future__ import annotations

import abc
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Final

from device_adapters.exceptions import RejectReason

__all__ = ["BAD_CHECK", "BAD_HEADER", "NEED_MORE", "HuntingFramer"]

logger = logging.getLogger(__name__)

NEED_MORE: Final = 0
"""A frame may start here but its bytes have not all arrived."""
BAD_HEADER: Final = -1
"""No frame starts here."""
BAD_CHECK: Final = -2
"""A plausible header whose checksum or CRC does not match."""


class HuntingFramer(abc.ABC):
    """Splits a byte stream into frames, skipping and counting garbage.

    Attributes:
        skipped_bytes: how many bytes were discarded in total.
        last_error: a description of the last skipped region (a log sample).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._errors: Counter[RejectReason] = Counter()
        self._pending: Counter[RejectReason] = Counter()
        self._skip_reason: RejectReason | None = None
        self._skip_len = 0
        self.skipped_bytes = 0
        self.last_error: str | None = None

    @abc.abstractmethod
    def match(self, buf: bytearray, start: int) -> int:
        """Whether a frame starts at ``buf[start]``.

        Returns:
            The frame's length when a complete valid frame starts there,
            :data:`NEED_MORE`, :data:`BAD_HEADER` or :data:`BAD_CHECK`.
        """

    @property
    def errors(self) -> Mapping[RejectReason, int]:
        """Skipped regions counted by reason (``crc``, ``framing``) since creation."""
        return dict(self._errors)

    @property
    def buffered(self) -> int:
        """Bytes waiting for the rest of a frame."""
        return len(self._buf)

    def take_errors(self) -> dict[RejectReason, int]:
        """The regions counted since the last call (for incrementing a metric)."""
        taken = dict(self._pending)
        self._pending.clear()
        return taken

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every frame they complete, in order."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        i, end = 0, len(buf)
        while i < end:
            verdict = self.match(buf, i)
            if verdict > 0:
                self._close_skip()
                frames.append(bytes(buf[i : i + verdict]))
                i += verdict
            elif verdict == NEED_MORE:
                break
            else:
                self._skip(RejectReason.CRC if verdict == BAD_CHECK else RejectReason.FRAMING)
                i += 1
        del buf[:i]
        return frames

    def flush(self) -> int:
        """Discard a partial frame (the line went quiet); returns the bytes discarded."""
        dropped = len(self._buf)
        if dropped:
            self._skip_len += dropped - 1
            self._skip(RejectReason.FRAMING)
            self._buf.clear()
        self._close_skip()
        return dropped

    def _skip(self, reason: RejectReason) -> None:
        if self._skip_reason is None or reason is RejectReason.CRC:
            self._skip_reason = reason
        self._skip_len += 1

    def _close_skip(self) -> None:
        reason = self._skip_reason
        if reason is None:
            return
        self._errors[reason] += 1
        self._pending[reason] += 1
        self.skipped_bytes += self._skip_len
        self.last_error = f"{reason.value}: skipped {self._skip_len} bytes"
        logger.debug("%s framer %s", type(self).__name__, self.last_error)
        self._skip_reason, self._skip_len = None, 0
