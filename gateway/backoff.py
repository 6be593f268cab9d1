"""Capped exponential backoff with full jitter, shared by every reconnect and retry loop.

Full jitter (a uniform delay between 0 and the current cap) keeps a fleet of gateways
that lost the same broker or cloud from reconnecting in lock-step.
"""

from __future__ import annotations

import asyncio
import random

__all__ = ["Backoff", "wait_any", "wait_or_stop"]


class Backoff:
    """Delays ``min_s, 2·min_s, 4·min_s ...`` capped at ``max_s``, each jittered.

    Args:
        min_s: the first cap.
        max_s: the largest cap.
        rng: random source (seed it in tests).
    """

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.min_s = min_s
        self.max_s = max(max_s, min_s)
        self.rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt."""
        cap = min(self.max_s, self.min_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        # never below half the cap: a zero delay would hammer a peer that just failed
        return self.rng.uniform(cap / 2, cap)

    def reset(self) -> None:
        """The peer answered: start again from the smallest delay."""
        self.attempt = 0


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; return True when ``stop`` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def wait_any(stop: asyncio.Event, other: asyncio.Event, seconds: float) -> None:
    """Sleep until ``stop`` or ``other`` is set, or ``seconds`` pass."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(other.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
