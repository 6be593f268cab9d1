"""What the serial appliances share: one simulated device, pseudo-terminals, line noise.

A serial appliance is one device of a one-device fleet, read at the clock's current time
(the latest report at or before it), so faults and sensor noise apply exactly as over
MQTT. The wire is a pseudo-terminal whose path is printed for the gateway to open; the
simulator keeps the master side. Writes to a pty are non-blocking and dropped (counted)
when the reader does not drain: an unbounded write to a pty can freeze the event loop
(PERF_LIMITS.md, pyserial #280/#690).

:class:`LineNoise` corrupts what the appliance sends at a configured rate: flipped bits
(the checksum or CRC no longer matches), truncated frames, and garbage between frames.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import tty
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

import numpy as np

from aftercare.catalog import default_catalog
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.spec import DeviceSpec, fault_plan
from firmware_sim.wire import Artefacts

__all__ = ["LineNoise", "Pty", "SerialAppliance", "SerialServer"]

_PREFIX: Final = {
    "air_conditioner": "ac",
    "refrigerator": "fr",
    "washing_machine": "wm",
    "water_purifier": "wp",
    "water_heater": "wh",
    "robot_vacuum": "rv",
}


class SerialServer(Protocol):
    """A serial appliance: the pty path it serves on and its serving coroutine."""

    path: str

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set."""
        ...


class SerialAppliance:
    """One simulated appliance whose current readings a serial protocol serves.

    Args:
        kind: a catalog kind.
        start: the simulated window start.
        days: the window length.
        seed: random seed.
        fault: an optional fault code, starting ``onset_days`` after ``start``.
        onset_days: when the fault starts.
        course_days: its course (default: the catalog's typical middle).
    """

    def __init__(
        self,
        kind: str,
        *,
        start: datetime,
        days: float = 30.0,
        seed: int = 0,
        fault: str | None = None,
        onset_days: float = 1.0,
        course_days: float | None = None,
    ) -> None:
        catalog = default_catalog()
        model = catalog.models_for(kind)[0]
        plan = fault_plan(fault, start + timedelta(days=onset_days), course_days) if fault else None
        self.spec = DeviceSpec(
            device_id=f"{_PREFIX[kind]}-serial",
            kind=kind,
            home_id="h-serial",
            model=model.model,
            fw=model.firmware[-1],
            fault=plan,
            index=1,
        )
        self.fleet = Fleet(
            FleetSpec(
                devices=(self.spec,), start=start, days=days, seed=seed, artefacts=Artefacts.none()
            )
        )
        self.series = self.fleet.recording(self.spec.device_id).reported

    def row_at(self, ts: datetime) -> int:
        """Index of the latest report at or before ``ts`` (the first before the window)."""
        idx = int(np.searchsorted(self.series.t, ts.timestamp(), side="right")) - 1
        return max(0, min(idx, len(self.series.t) - 1))

    def metrics_at(self, ts: datetime) -> dict[str, float]:
        """The readings the appliance shows at ``ts``."""
        return self.series.metrics_at(self.row_at(ts))

    def state_at(self, ts: datetime) -> dict[str, str]:
        """The state the appliance shows at ``ts``."""
        return self.series.states_at(self.row_at(ts))


@dataclass(slots=True)
class Pty:
    """A pseudo-terminal: the simulator keeps ``master``; ``path`` is for the other side.

    The slave side stays open here (raw, no echo) so the master never reads EIO while
    nobody has the path open.
    """

    master: int
    slave: int
    path: str
    dropped_bytes: int = 0

    @classmethod
    def open(cls) -> Pty:
        """A new raw pty with a non-blocking master."""
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        return cls(master=master, slave=slave, path=os.ttyname(slave))

    def write(self, data: bytes) -> int:
        """Write without blocking; what does not fit is dropped and counted."""
        try:
            written = os.write(self.master, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            written = 0
        self.dropped_bytes += len(data) - written
        return written

    def read(self, size: int = 4096) -> bytes:
        """Read what is there (b"" when nothing)."""
        try:
            return os.read(self.master, size)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise

    def close(self) -> None:
        """Close both sides."""
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                continue


@dataclass(slots=True)
class LineNoise:
    """Corrupts outgoing chunks at ``rate``: bit errors, truncation, garbage between frames."""

    rate: float
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    corrupted: int = 0

    def apply(self, data: bytes) -> bytes:
        """``data`` as the line delivers it."""
        if self.rate <= 0 or not data or self.rng.random() >= self.rate:
            return data
        self.corrupted += 1
        choice = self.rng.randrange(3)
        if choice == 0:
            buf = bytearray(data)
            pos = self.rng.randrange(len(buf))
            buf[pos] ^= 1 << self.rng.randrange(8)
            return bytes(buf)
        if choice == 1 and len(data) > 2:
            return data[: self.rng.randrange(1, len(data))]
        garbage = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 6)))
        return garbage + data
