"""An appliance MCU speaking the Tuya MCU serial protocol on a pseudo-terminal.

The gateway plays the Wi-Fi module: it opens the printed pty path and sends heartbeats
(0x00), asks for the product information (0x01), the working mode (0x02) and the status
of every datapoint (0x08). The appliance answers each, and reports its datapoints (0x07)
on its own whenever its readings change (every report interval of the simulated
appliance, on the injected clock). The DP map is the gateway's
(``device_adapters.profiles.profile_for(kind).tuya``). ``corrupt`` injects line noise into
what the MCU sends. Frames are in :mod:`firmware_sim.tuya_protocol`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Final

import orjson

from aftercare.clock import Clock
from device_adapters.profiles import profile_for
from firmware_sim.serial_common import LineNoise, Pty, SerialAppliance
from firmware_sim.tuya_protocol import (
    MCU_VERSION,
    Command,
    Frame,
    FrameParser,
    dp_units,
    encode_frame,
)

__all__ = ["TuyaAppliance"]

logger = logging.getLogger(__name__)

_POLL_S: Final = 0.05


class TuyaAppliance:
    """One appliance as a Tuya MCU.

    Args:
        appliance: the simulated appliance.
        clock: time the datapoints follow.
        corrupt: rate of corrupted outgoing frames (0..1).
        product_id: the product key reported for command 0x01.
        seed: seed of the line noise.
    """

    def __init__(
        self,
        appliance: SerialAppliance,
        clock: Clock,
        *,
        corrupt: float = 0.0,
        product_id: str = "aftercaresim0001",
        seed: int = 0,
    ) -> None:
        self.appliance = appliance
        self.clock = clock
        self.datapoints = profile_for(appliance.spec.kind).tuya
        self.product_id = product_id
        self.noise = LineNoise(corrupt, random.Random(seed))
        self.pty = Pty.open()
        self.path = self.pty.path
        self.parser = FrameParser()
        self.heartbeats = 0
        self.reports = 0
        self._last_row = -1

    def status_frame(self) -> bytes:
        """A 0x07 status report of every datapoint at the clock's current time."""
        now = self.clock.now()
        data = dp_units(
            self.datapoints, self.appliance.metrics_at(now), self.appliance.state_at(now)
        )
        return encode_frame(MCU_VERSION, Command.STATUS_REPORT, data)

    def reply(self, frame: Frame) -> list[bytes]:
        """The MCU's answer to one frame from the module."""
        if frame.command == Command.HEARTBEAT:
            first = self.heartbeats == 0
            self.heartbeats += 1
            return [encode_frame(MCU_VERSION, Command.HEARTBEAT, b"\x00" if first else b"\x01")]
        if frame.command == Command.PRODUCT_INFO:
            info = orjson.dumps({"p": self.product_id, "v": "1.0.0", "m": 0})
            return [encode_frame(MCU_VERSION, Command.PRODUCT_INFO, info)]
        if frame.command == Command.WORKING_MODE:
            # empty data: the module handles the network LED and reset button itself
            return [encode_frame(MCU_VERSION, Command.WORKING_MODE)]
        if frame.command == Command.NETWORK_STATUS:
            return [encode_frame(MCU_VERSION, Command.NETWORK_STATUS)]
        if frame.command in (Command.QUERY_STATUS, Command.SEND_COMMAND):
            return [self.status_frame()]
        return []

    def _send(self, data: bytes) -> None:
        self.pty.write(self.noise.apply(data))

    def _on_readable(self) -> None:
        for frame in self.parser.feed(self.pty.read()):
            for answer in self.reply(frame):
                self._send(answer)

    async def serve(self, stop: asyncio.Event) -> None:
        """Answer the module and report changes until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        loop.add_reader(self.pty.master, self._on_readable)
        try:
            while not stop.is_set():
                row = self.appliance.row_at(self.clock.now())
                if row != self._last_row:
                    self._last_row = row
                    self.reports += 1
                    self._send(self.status_frame())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=_POLL_S)
        finally:
            loop.remove_reader(self.pty.master)
            self.pty.close()
