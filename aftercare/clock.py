"""Injected time: every part of Aftercare reads time from a :class:`Clock`.

Logic never calls ``datetime.now()`` or ``time.time()``. Processes get a clock at start:
:class:`SystemClock` in production, :class:`SimulatedClock` to run a fleet at any speed
(real time for demos, hundreds of times faster for tests), :class:`ManualClock` for tests
that step time themselves. Timestamps are always timezone-aware UTC.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SimulatedClock", "SystemClock", "ensure_utc"]


def ensure_utc(ts: datetime) -> datetime:
    """Return ``ts`` in UTC; a naive timestamp is refused rather than guessed."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"naive datetime {ts.isoformat()} has no timezone")
    return ts.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """A source of time and of sleeping in that time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time; the only place that reads it."""

    def now(self) -> datetime:
        """The wall-clock time in UTC."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of real time."""
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock:
    """Time that starts at ``start`` and runs ``speed`` times faster than real time.

    Args:
        start: the simulated time at creation.
        speed: simulated seconds per real second (1.0 = real time).
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = ensure_utc(start)
        self.speed = speed
        # monotonic, so a wall-clock jump on the host cannot move simulated time backwards
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """The simulated time."""
        elapsed = (time.monotonic() - self._origin) * self.speed
        return self.start + timedelta(seconds=elapsed)

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of simulated time (``seconds / speed`` real seconds)."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class ManualClock:
    """Time that moves only when told to; ``sleep`` advances it instantly.

    Args:
        start: the initial time.
    """

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        """The current manual time."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, ts: datetime) -> None:
        """Jump to ``ts`` (not earlier than now)."""
        ts = ensure_utc(ts)
        if ts < self._now:
            raise ValueError("time only moves forward")
        self._now = ts

    async def sleep(self, seconds: float) -> None:
        """Advance time by ``seconds`` and yield to the event loop once."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
