"""Modbus RTU adapter, framer and encoders.

Frames follow the Modbus Application Protocol Specification V1.1b3 (function codes 3 and
4, exception responses) and the Modbus over Serial Line Specification V1.02, section
2.5.1.2 and appendix B (CRC-16, low byte first on the wire), https://modbus.org/specs.php.
The request ``01 04 00 08 00 01 B0 08`` is the specification's "read input register 9"
example; ``01 03 00 00 00 0A C5 CD`` is the widely quoted holding-register example.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from device_adapters import (
    AdapterConfigError,
    ModbusRtuAdapter,
    ModbusRtuFramer,
    PayloadRejected,
    RejectReason,
)
from device_adapters.modbus_rtu import crc16, encode_exception, encode_response, read_request
from device_adapters.profiles import Register, RegisterMap, RegisterType, WordOrder, profile_for
from tests.device_adapters.samples import (
    MODBUS_FRAME,
    MODBUS_METRICS,
    MODBUS_PORT,
    MODBUS_SETTINGS,
    RECEIVED,
)

WATER_HEATER = profile_for("water_heater").modbus


def _adapter() -> ModbusRtuAdapter:
    return ModbusRtuAdapter.from_settings(MODBUS_SETTINGS)


def _with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "big")


@pytest.mark.parametrize(("body", "crc"), [("010400080001", 0xB008), ("01030000000a", 0xC5CD)])
def test_crc_matches_the_specification_examples(body: str, crc: int) -> None:
    assert crc16(bytes.fromhex(body)) == crc


def test_read_request_covers_the_whole_register_map() -> None:
    assert read_request(3, WATER_HEATER).hex() == _with_crc(bytes.fromhex("030400000007")).hex()
    register_9 = RegisterMap(
        registers=(Register(address=8, type=RegisterType.UINT16, metric="m"),), function=4
    )
    assert read_request(1, register_9) == bytes.fromhex("010400080001B008")
    holding = RegisterMap(
        registers=(Register(address=0, type=RegisterType.UINT16, metric="m"),), function=3
    )
    assert read_request(1, holding)[:6] == bytes.fromhex("010300000001")


def test_response_decodes_through_the_register_map(snapshot: SnapshotAssertion) -> None:
    (telemetry,) = _adapter().decode(MODBUS_PORT, MODBUS_FRAME, RECEIVED)
    assert telemetry.device_id == "wh-000003"
    assert telemetry.ts == RECEIVED
    assert telemetry.metrics == MODBUS_METRICS
    assert telemetry == snapshot


def test_custom_register_map_with_little_endian_words() -> None:
    settings = {
        "devices": [
            {
                "source": "/dev/ttyUSB1",
                "unit": 7,
                "device_id": "wp-000002",
                "kind": "water_purifier",
                "function": 3,
                "word_order": "little",
                "registers": [
                    {"address": 100, "type": "uint32", "scale": 0.1, "metric": "filter_liters"},
                    {"address": 102, "type": "int16", "metric": "tds_out_ppm"},
                ],
            }
        ]
    }
    adapter = ModbusRtuAdapter.from_settings(settings)
    # 123456.7 L is raw 1234567 = 0x0012D687: low word first
    frame = _with_crc(bytes.fromhex("070306d687001200 0c".replace(" ", "")))
    (telemetry,) = adapter.decode("/dev/ttyUSB1", frame, RECEIVED)
    assert telemetry.metrics == {"filter_liters": 123456.7, "tds_out_ppm": 12.0}
    (device,) = adapter.devices.values()
    assert device.request == _with_crc(bytes.fromhex("070300640003"))
    assert adapter.units_on("/dev/ttyUSB1") == {7}


BAD = [
    ("short", b"\x03\x04\x00", RejectReason.FRAMING),
    ("bad crc", MODBUS_FRAME[:-1] + bytes([MODBUS_FRAME[-1] ^ 1]), RejectReason.CRC),
    ("unknown unit", _with_crc(b"\x09" + MODBUS_FRAME[1:-2]), RejectReason.UNKNOWN_DEVICE),
    ("exception", encode_exception(3, 4, 2), RejectReason.SCHEMA),
    ("wrong function", _with_crc(b"\x03\x03" + MODBUS_FRAME[2:-2]), RejectReason.SCHEMA),
    ("short block", _with_crc(b"\x03\x04\x02\x00\x01"), RejectReason.SCHEMA),
    ("oversized", b"\x03" * 300, RejectReason.TOO_LARGE),
]


@pytest.mark.parametrize(("frame", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_frames_are_rejected_by_reason(frame: bytes, reason: RejectReason) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(MODBUS_PORT, frame, RECEIVED)
    assert caught.value.reason is reason


def test_a_frame_from_another_port_is_unknown_device() -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode("/dev/ttyUSB9", MODBUS_FRAME, RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_DEVICE


def _device(**extra: object) -> dict[str, object]:
    return {
        "source": "/dev/ttyUSB0",
        "unit": 1,
        "device_id": "wh-1",
        "kind": "water_heater",
    } | extra


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ([_device(unit=0)], "unit"),
        ([_device(unit=248)], "unit"),
        ([_device(), _device(device_id="wh-2")], "unit 1 on /dev/ttyUSB0 twice"),
        ([_device(function=6)], "function"),
        ([_device(word_order="middle")], "word_order"),
        ([_device(registers=[{"address": 0, "type": "int64", "metric": "m"}])], "int64"),
        ([_device(registers=[{"address": 0, "type": "int16"}])], "metric"),
        (
            [
                _device(
                    registers=[
                        {"address": 0, "type": "uint32", "metric": "a"},
                        {"address": 1, "type": "uint16", "metric": "b"},
                    ]
                )
            ],
            "register 1",
        ),
        ([_device(registers=[{"address": 0, "metric": "a", "scale": "x"}])], "scale"),
    ],
)
def test_bad_configuration_names_the_bad_key(devices: list[object], message: str) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        ModbusRtuAdapter.from_settings({"devices": devices})


# ------------------------------------------------------------------ framer

FRAMES = st.lists(
    st.builds(
        lambda unit, values: encode_response(
            unit, WATER_HEATER, dict(zip(MODBUS_METRICS, values, strict=False))
        ),
        st.integers(1, 3),
        st.lists(st.floats(0, 60), min_size=6, max_size=6),
    )
    | st.builds(encode_exception, st.integers(1, 3), st.sampled_from([3, 4]), st.integers(1, 4)),
    min_size=1,
    max_size=6,
)
# bytes that are no unit address of this bus, so garbage cannot start a frame
NOISE = st.binary(min_size=1, max_size=12).map(
    lambda b: bytes(x if x not in (1, 2, 3) else 0 for x in b)
)


def _feed_in_pieces(framer: ModbusRtuFramer, stream: bytes, cuts: list[int]) -> list[bytes]:
    frames: list[bytes] = []
    last = 0
    for cut in sorted({c % (len(stream) + 1) for c in cuts}):
        frames += framer.feed(stream[last:cut])
        last = cut
    frames += framer.feed(stream[last:])
    framer.flush()
    return frames


@settings(max_examples=150, deadline=None)
@given(frames=FRAMES, cuts=st.lists(st.integers(0, 10_000), max_size=10))
def test_any_split_of_a_valid_stream_yields_the_same_frames(
    frames: list[bytes], cuts: list[int]
) -> None:
    framer = ModbusRtuFramer(units=frozenset({1, 2, 3}))
    assert _feed_in_pieces(framer, b"".join(frames), cuts) == frames
    assert framer.errors == {}
    assert framer.buffered == 0


@settings(max_examples=150, deadline=None)
@given(
    frames=FRAMES,
    noise=st.lists(NOISE, min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 10_000), max_size=10),
)
def test_garbage_between_frames_is_skipped_and_counted(
    frames: list[bytes], noise: list[bytes], cuts: list[int]
) -> None:
    stream = b""
    regions = 0
    for i, frame in enumerate(frames):
        if i < len(noise):
            stream += noise[i]
            regions += 1
        stream += frame
    framer = ModbusRtuFramer(units=frozenset({1, 2, 3}))
    assert _feed_in_pieces(framer, stream, cuts) == frames
    assert framer.errors == {RejectReason.FRAMING: regions}
    assert framer.skipped_bytes == sum(len(n) for n in noise[: len(frames)])


def test_a_corrupted_frame_is_counted_as_crc_and_the_next_one_survives() -> None:
    corrupted = bytearray(MODBUS_FRAME)
    corrupted[5] ^= 0xFF
    framer = ModbusRtuFramer(units=frozenset({3}))
    assert framer.feed(bytes(corrupted) + MODBUS_FRAME) == [MODBUS_FRAME]
    assert framer.errors == {RejectReason.CRC: 1}
    assert framer.take_errors() == {RejectReason.CRC: 1}
    assert framer.take_errors() == {}


def test_partial_frame_waits_and_flush_discards_it() -> None:
    framer = ModbusRtuFramer()
    assert framer.feed(MODBUS_FRAME[:7]) == []
    assert framer.buffered == 7
    assert framer.flush() == 7
    assert framer.errors == {RejectReason.FRAMING: 1}
    assert framer.feed(MODBUS_FRAME) == [MODBUS_FRAME]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 500), max_size=6))
def test_random_bytes_never_break_the_framer(data: bytes, cuts: list[int]) -> None:
    framer = ModbusRtuFramer()
    for frame in _feed_in_pieces(framer, data, cuts):
        assert crc16(frame[:-2]) == int.from_bytes(frame[-2:], "big")
    assert framer.buffered == 0


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(0, 0xFFFF), min_size=7, max_size=7))
def test_register_words_survive_encode_and_decode(values: list[int]) -> None:
    rmap = RegisterMap(
        registers=tuple(
            Register(address=i, type=RegisterType.UINT16, metric=f"m{i}") for i in range(7)
        ),
        word_order=WordOrder.LITTLE,
    )
    frame = encode_response(1, rmap, {f"m{i}": float(v) for i, v in enumerate(values)})
    assert ModbusRtuFramer().feed(frame) == [frame]
    assert rmap.decode([int.from_bytes(frame[3 + 2 * i : 5 + 2 * i], "big") for i in range(7)]) == {
        f"m{i}": float(v) for i, v in enumerate(values)
    }
