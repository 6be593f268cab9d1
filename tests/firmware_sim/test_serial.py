"""The serial appliances, byte-exact against the protocol specifications, over real ptys.

Modbus: "MODBUS over Serial Line V1.02" (CRC-16 in §2.5.1.2 and Appendix B; the request
``01 03 00 00 00 0A`` carries CRC ``C5 CD``). Tuya: "Tuya Cloud Universal Serial Port
Access Protocol" (the module heartbeat ``55 AA 00 00 00 00 FF``; the MCU answers
``55 AA 03 00 00 01 00 03`` the first time and ``... 01 01 04`` afterwards).
"""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime

import pytest
import serial
from pymodbus.client import AsyncModbusSerialClient

from aftercare.clock import ManualClock
from device_adapters.profiles import DpType, profile_for
from firmware_sim.serial_common import LineNoise, SerialAppliance
from firmware_sim.serial_modbus import ModbusAppliance, crc16_modbus
from firmware_sim.serial_tuya import TuyaAppliance
from firmware_sim.tuya_protocol import Command, FrameParser, encode_frame

START = datetime(2026, 7, 1, tzinfo=UTC)
NOW = datetime(2026, 7, 2, 14, 7, tzinfo=UTC)


def test_crc16_modbus_matches_the_specification_vector() -> None:
    assert crc16_modbus(bytes.fromhex("01 03 00 00 00 0A")) == bytes.fromhex("C5 CD")
    assert crc16_modbus(bytes.fromhex("11 03 00 6B 00 03")) == bytes.fromhex("76 87")


def test_tuya_frames_match_the_specification_bytes() -> None:
    assert encode_frame(0x00, Command.HEARTBEAT) == bytes.fromhex("55 AA 00 00 00 00 FF")
    assert encode_frame(0x03, Command.HEARTBEAT, b"\x00") == bytes.fromhex(
        "55 AA 03 00 00 01 00 03"
    )
    assert encode_frame(0x03, Command.HEARTBEAT, b"\x01") == bytes.fromhex(
        "55 AA 03 00 00 01 01 04"
    )
    assert encode_frame(0x00, Command.PRODUCT_INFO) == bytes.fromhex("55 AA 00 01 00 00 00")
    assert encode_frame(0x03, Command.WORKING_MODE) == bytes.fromhex("55 AA 03 02 00 00 04")


def test_tuya_parser_skips_garbage_truncation_and_bad_checksums_at_any_split() -> None:
    good = [encode_frame(3, 7, bytes(range(i, i + 8))) for i in range(4)]
    bad = bytearray(good[1])
    bad[8] ^= 0x10
    # a truncated frame's bogus length is resolved once enough later traffic arrives
    filler = good[0] * 6
    stream = b"\x00\x13" + good[0] + good[2][:5] + bytes(bad) + b"\xff\x55" + good[3] + good[2]
    stream += filler
    expected = [good[0][6:-1], good[3][6:-1], good[2][6:-1]] + [good[0][6:-1]] * 6
    for split in range(len(stream)):
        parser = FrameParser()
        frames = parser.feed(stream[:split]) + parser.feed(stream[split:])
        assert [f.data for f in frames] == expected, split


def test_line_noise_corrupts_at_its_rate() -> None:
    noise = LineNoise(0.3)
    data = bytes(range(20))
    changed = sum(noise.apply(data) != data for _ in range(2000))
    assert 450 < changed < 750
    assert noise.corrupted == changed


@pytest.mark.integration
async def test_modbus_slave_on_a_pty_serves_the_profile_register_map() -> None:
    appliance = SerialAppliance("air_conditioner", start=START, days=3)
    clock = ManualClock(NOW)
    slave = ModbusAppliance(appliance, clock, unit_id=7)
    stop = asyncio.Event()
    task = asyncio.create_task(slave.serve(stop))
    client = AsyncModbusSerialClient(port=slave.path, baudrate=9600, timeout=2, retries=1)
    try:
        await asyncio.sleep(0.3)
        assert await client.connect()
        rmap = profile_for("air_conditioner").modbus
        for read in (client.read_input_registers, client.read_holding_registers):
            response = await read(rmap.start, count=rmap.count, device_id=7)
            assert not response.isError()
            decoded = rmap.decode(list(response.registers))
            expected = appliance.metrics_at(NOW)
            for name, value in expected.items():
                assert decoded[name] == pytest.approx(value, abs=0.06), name
    finally:
        client.close()
        stop.set()
        await task


@pytest.mark.integration
async def test_modbus_reply_frame_is_byte_exact_with_its_crc() -> None:
    appliance = SerialAppliance("water_heater", start=START, days=3)
    slave = ModbusAppliance(appliance, ManualClock(NOW), unit_id=1)
    stop = asyncio.Event()
    task = asyncio.create_task(slave.serve(stop))
    port = serial.Serial(slave.path, 9600, timeout=0.2)
    try:
        await asyncio.sleep(0.3)
        count = slave.register_map.count
        request = bytes((1, 4, 0, 0, 0, count))
        port.write(request + crc16_modbus(request))
        reply = b""
        for _ in range(40):
            await asyncio.sleep(0.05)
            reply += port.read(port.in_waiting or 1) if port.in_waiting else b""
            if len(reply) >= 5 + 2 * count:
                break
        words = slave.registers()
        body = bytes((1, 4, 2 * count)) + b"".join(struct.pack(">H", w) for w in words)
        assert reply == body + crc16_modbus(body)
    finally:
        port.close()
        stop.set()
        await task


async def _read_frames(port: serial.Serial, parser: FrameParser, want: int) -> list[bytes]:
    raw = b""
    frames = []
    for _ in range(60):
        await asyncio.sleep(0.05)
        if port.in_waiting:
            chunk = port.read(port.in_waiting)
            raw += chunk
            frames += parser.feed(chunk)
        if len(frames) >= want:
            break
    return [raw]


@pytest.mark.integration
async def test_tuya_mcu_on_a_pty_answers_heartbeat_and_reports_datapoints() -> None:
    appliance = SerialAppliance("refrigerator", start=START, days=3)
    mcu = TuyaAppliance(appliance, ManualClock(NOW))
    stop = asyncio.Event()
    task = asyncio.create_task(mcu.serve(stop))
    port = serial.Serial(mcu.path, 9600, timeout=0.2)
    parser = FrameParser()
    try:
        await asyncio.sleep(0.2)
        port.reset_input_buffer()  # the unsolicited report sent at start
        port.write(bytes.fromhex("55 AA 00 00 00 00 FF"))
        (raw,) = await _read_frames(port, parser, 1)
        assert raw == bytes.fromhex("55 AA 03 00 00 01 00 03")
        port.write(bytes.fromhex("55 AA 00 00 00 00 FF"))
        (raw,) = await _read_frames(port, FrameParser(), 1)
        assert raw == bytes.fromhex("55 AA 03 00 00 01 01 04")
        port.write(encode_frame(0, Command.QUERY_STATUS))
        (raw,) = await _read_frames(port, FrameParser(), 1)
        (frame,) = FrameParser().feed(raw)
        assert frame.version == 3
        assert frame.command == Command.STATUS_REPORT
        values: dict[int, bytes] = {}
        data = frame.data
        while data:
            dp_id, dp_type, length = data[0], data[1], int.from_bytes(data[2:4], "big")
            values[dp_id] = data[4 : 4 + length]
            if dp_type == DpType.VALUE:
                assert length == 4
            data = data[4 + length :]
        expected = appliance.metrics_at(NOW)
        for dp in profile_for("refrigerator").tuya:
            if dp.is_metric:
                raw_value = struct.unpack(">i", values[dp.dp_id])[0]
                assert dp.decode_value(raw_value) == pytest.approx(expected[dp.name], abs=0.01)
    finally:
        port.close()
        stop.set()
        await task


@pytest.mark.integration
async def test_tuya_line_noise_breaks_frames_the_parser_then_skips() -> None:
    appliance = SerialAppliance("water_purifier", start=START, days=3)
    mcu = TuyaAppliance(appliance, ManualClock(NOW), corrupt=1.0, seed=3)
    stop = asyncio.Event()
    task = asyncio.create_task(mcu.serve(stop))
    port = serial.Serial(mcu.path, 9600, timeout=0.2)
    parser = FrameParser()
    frames = 0
    try:
        await asyncio.sleep(0.2)
        for _ in range(30):
            port.write(encode_frame(0, Command.QUERY_STATUS))
            await asyncio.sleep(0.03)
            if port.in_waiting:
                frames += len(parser.feed(port.read(port.in_waiting)))
        await asyncio.sleep(0.2)
        if port.in_waiting:
            frames += len(parser.feed(port.read(port.in_waiting)))
    finally:
        port.close()
        stop.set()
        await task
    assert mcu.noise.corrupted >= 30
    assert parser.bad_checksum + parser.skipped_bytes > 0
    assert frames < 31  # flipped and truncated frames never come out as frames


@pytest.mark.integration
async def test_modbus_line_noise_makes_replies_fail_their_crc() -> None:
    appliance = SerialAppliance("refrigerator", start=START, days=3)
    slave = ModbusAppliance(appliance, ManualClock(NOW), corrupt=1.0, seed=5)
    stop = asyncio.Event()
    task = asyncio.create_task(slave.serve(stop))
    port = serial.Serial(slave.path, 9600, timeout=0.2)
    bad = 0
    try:
        await asyncio.sleep(0.3)
        count = slave.register_map.count
        request = bytes((1, 4, 0, 0, 0, count))
        for _ in range(12):
            port.reset_input_buffer()
            port.write(request + crc16_modbus(request))
            await asyncio.sleep(0.15)
            reply = port.read(port.in_waiting) if port.in_waiting else b""
            if len(reply) < 4 or crc16_modbus(reply[:-2]) != reply[-2:]:
                bad += 1
    finally:
        port.close()
        stop.set()
        await task
    assert slave.noise.corrupted >= 1
    assert bad >= 4
