"""A Modbus RTU slave appliance on a pseudo-terminal (pymodbus async serial server).

The register map is the gateway's (``device_adapters.profiles.profile_for(kind).modbus``),
so the gateway decodes exactly what is served: the same block is readable as input
registers (function 4, the profile's default) and holding registers (function 3),
starting at protocol address 0. Registers follow the simulated appliance at the clock's
current time, refreshed on every request.

pymodbus needs a path to open, and the gateway needs another, so the slave runs on one
pty and a relay copies bytes between its master and a second pty whose path is printed
for the gateway; the relay is where ``--corrupt`` injects line noise into the replies
(the CRC-16/Modbus of a corrupted frame no longer matches).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Final

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from aftercare.clock import Clock
from device_adapters.profiles import RegisterMap, profile_for
from firmware_sim.serial_common import LineNoise, Pty, SerialAppliance

__all__ = ["ModbusAppliance", "crc16_modbus"]

logger = logging.getLogger(__name__)

_BLOCK_SIZE: Final = 128


def crc16_modbus(frame: bytes) -> bytes:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), low byte first as on the wire.

    Modbus over Serial Line V1.02, §2.5.1.2 and Appendix B: ``01 03 00 00 00 0A`` gives
    ``C5 CD``.
    """
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


@dataclass(slots=True)
class _Relay:
    """Copies bytes between the slave's pty and the gateway's pty, with optional noise."""

    slave_side: Pty
    gateway_side: Pty
    noise: LineNoise

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.slave_side.master, self._from_slave)
        loop.add_reader(self.gateway_side.master, self._from_gateway)

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_reader(self.slave_side.master)
        loop.remove_reader(self.gateway_side.master)

    def _from_slave(self) -> None:
        data = self.slave_side.read()
        if data:
            self.gateway_side.write(self.noise.apply(data))

    def _from_gateway(self) -> None:
        data = self.gateway_side.read()
        if data:
            self.slave_side.write(data)


class ModbusAppliance:
    """One appliance as a Modbus RTU slave.

    Args:
        appliance: the simulated appliance.
        clock: time the registers follow.
        unit_id: the slave address.
        corrupt: rate of corrupted reply chunks (0..1).
        baudrate: the line speed pyserial is set to (ptys ignore it).
    """

    def __init__(
        self,
        appliance: SerialAppliance,
        clock: Clock,
        *,
        unit_id: int = 1,
        corrupt: float = 0.0,
        baudrate: int = 9600,
        seed: int = 0,
    ) -> None:
        import random

        self.appliance = appliance
        self.clock = clock
        self.unit_id = unit_id
        self.baudrate = baudrate
        self.register_map: RegisterMap = profile_for(appliance.spec.kind).modbus
        self.noise = LineNoise(corrupt, random.Random(seed))
        # one shared block: function 3 and function 4 read the same registers
        self._device = SimDevice(
            id=unit_id,
            simdata=[SimData(0, count=_BLOCK_SIZE, values=0, datatype=DataType.REGISTERS)],
            action=self._on_access,
        )
        self.requests = 0
        self._slave_pty = Pty.open()
        self._gateway_pty = Pty.open()
        self.path = self._gateway_pty.path

    def registers(self) -> list[int]:
        """The register block (from the map's start) for the clock's current time."""
        return self.register_map.encode(self.appliance.metrics_at(self.clock.now()))

    async def _on_access(
        self,
        function_code: int,  # noqa: ARG002 — every read serves the same block
        start_address: int,
        address: int,  # noqa: ARG002 — the whole block is refreshed
        count: int,  # noqa: ARG002
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,  # noqa: ARG002 — the appliance is read-only
    ) -> None:
        """Refresh the registers from the appliance at the moment of each request."""
        self.requests += 1
        for offset, word in enumerate(self.registers()):
            index = self.register_map.start + offset - start_address
            if 0 <= index < len(current_registers):
                current_registers[index] = word

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        relay = _Relay(self._slave_pty, self._gateway_pty, self.noise)
        server = ModbusSerialServer(
            self._device,
            framer=FramerType.RTU,
            port=self._slave_pty.path,
            baudrate=self.baudrate,
        )
        relay.start(loop)
        serving = asyncio.create_task(server.serve_forever(), name="sim.serial.modbus")
        try:
            await stop.wait()
        finally:
            relay.stop(loop)
            await server.shutdown()  # type: ignore[no-untyped-call]
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            self._slave_pty.close()
            self._gateway_pty.close()
