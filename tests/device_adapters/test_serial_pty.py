"""The framers on a real pseudo-terminal: bytes as the kernel delivers them, in odd reads.

STYLE 10.8 asks for pty pairs for serial: here one end plays the appliance (frames with
line noise between them, written in small bursts), the other is read the way the gateway
reads a port, and the framer plus adapter must recover every frame and count the noise.
"""

from __future__ import annotations

import os
import select
import tty
from collections.abc import Iterator

import pytest

from device_adapters import (
    ModbusRtuAdapter,
    ModbusRtuFramer,
    RejectReason,
    TuyaFramer,
    TuyaMcuAdapter,
)
from device_adapters.framing import HuntingFramer
from tests.device_adapters.samples import (
    MODBUS_FRAME,
    MODBUS_METRICS,
    MODBUS_PORT,
    MODBUS_SETTINGS,
    RECEIVED,
    TUYA_FRAME,
    TUYA_PORT,
    TUYA_SETTINGS,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, int]]:
    appliance, gateway = os.openpty()
    tty.setraw(gateway)  # no line discipline: bytes pass unchanged, as on a serial port
    tty.setraw(appliance)
    try:
        yield appliance, gateway
    finally:
        os.close(appliance)
        os.close(gateway)


def _pump(appliance: int, gateway: int, stream: bytes, framer: HuntingFramer) -> list[bytes]:
    """Write ``stream`` in 7-byte bursts and read whatever arrives, feeding the framer."""
    frames: list[bytes] = []
    for i in range(0, len(stream), 7):
        os.write(appliance, stream[i : i + 7])
        while select.select([gateway], [], [], 0.001)[0]:
            frames += framer.feed(os.read(gateway, 5))
    while select.select([gateway], [], [], 0.2)[0]:  # whatever is still in flight
        frames += framer.feed(os.read(gateway, 5))
    return frames


def test_tuya_frames_survive_a_noisy_pty(pty_pair: tuple[int, int]) -> None:
    appliance, gateway = pty_pair
    noise = b"\x00\x13\xfe"
    broken = TUYA_FRAME[:-1] + bytes([TUYA_FRAME[-1] ^ 0x5A])
    stream = noise + TUYA_FRAME + broken + TUYA_FRAME + noise + TUYA_FRAME
    framer = TuyaFramer()
    frames = _pump(appliance, gateway, stream, framer)
    assert frames == [TUYA_FRAME] * 3
    assert framer.take_errors() == {RejectReason.FRAMING: 2, RejectReason.CRC: 1}
    adapter = TuyaMcuAdapter.from_settings(TUYA_SETTINGS)
    decoded = [t for f in frames for t in adapter.decode(TUYA_PORT, f, RECEIVED)]
    assert [t.metrics["indoor_temp_c"] for t in decoded] == [25.9] * 3


def test_modbus_responses_survive_a_noisy_pty(pty_pair: tuple[int, int]) -> None:
    appliance, gateway = pty_pair
    adapter = ModbusRtuAdapter.from_settings(MODBUS_SETTINGS)
    framer = ModbusRtuFramer(units=adapter.units_on(MODBUS_PORT))
    corrupted = bytearray(MODBUS_FRAME)
    corrupted[4] ^= 0x01
    stream = b"\xff\x00" + MODBUS_FRAME + bytes(corrupted) + MODBUS_FRAME
    frames = _pump(appliance, gateway, stream, framer)
    assert frames == [MODBUS_FRAME, MODBUS_FRAME]
    assert framer.errors == {RejectReason.FRAMING: 1, RejectReason.CRC: 1}
    (telemetry,) = adapter.decode(MODBUS_PORT, frames[0], RECEIVED)
    assert telemetry.metrics == MODBUS_METRICS
