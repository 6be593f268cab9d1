"""Clocks: simulated time runs at its speed, manual time only moves when told."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from aftercare.clock import Clock, ManualClock, SimulatedClock, SystemClock, ensure_utc

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_every_clock_satisfies_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(SimulatedClock(START), Clock)
    assert isinstance(ManualClock(START), Clock)


async def test_simulated_clock_sleep_takes_seconds_divided_by_speed() -> None:
    clock = SimulatedClock(START, speed=3600.0)
    began = time.monotonic()
    await clock.sleep(360.0)  # six simulated minutes at 3600x is 0.1 s
    elapsed = time.monotonic() - began
    assert 0.09 <= elapsed < 1.0
    assert clock.now() - START >= timedelta(seconds=324)


def test_simulated_clock_refuses_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="positive"):
        SimulatedClock(START, speed=0)


async def test_manual_clock_advances_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    await clock.sleep(30)
    assert clock.now() == START + timedelta(seconds=30)
    clock.set(START + timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
    with pytest.raises(ValueError, match="forward"):
        clock.set(START)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_ensure_utc_converts_offsets_and_refuses_naive_times() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert ensure_utc(datetime(2026, 11, 23, 16, 0, tzinfo=shanghai)) == START
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 11, 23, 8, 0))  # noqa: DTZ001 — the naive input under test


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    asyncio.run(SystemClock().sleep(0))
