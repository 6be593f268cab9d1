"""Capped exponential backoff with jitter, shared by every reconnect and retry loop."""

from __future__ import annotations

import asyncio
import random

from gateway.backoff import Backoff, wait_or_stop


def test_delays_double_up_to_the_cap_each_jittered_within_its_upper_half() -> None:
    backoff = Backoff(0.5, 4.0, random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    caps = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: no two gateways in lock-step


def test_two_gateways_with_different_seeds_do_not_retry_in_lock_step() -> None:
    a, b = Backoff(1.0, 60.0, random.Random(1)), Backoff(1.0, 60.0, random.Random(2))
    assert [a.next_delay() for _ in range(5)] != [b.next_delay() for _ in range(5)]


def test_reset_starts_again_from_the_smallest_delay() -> None:
    backoff = Backoff(0.5, 30.0, random.Random(3))
    for _ in range(6):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.5


async def test_wait_or_stop_returns_early_when_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, stop.set)
    started = loop.time()
    assert await wait_or_stop(stop, 30.0) is True
    assert loop.time() - started < 5.0
    assert await wait_or_stop(asyncio.Event(), 0.01) is False
