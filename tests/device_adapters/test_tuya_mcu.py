"""Tuya MCU serial protocol: adapter, framer and encoders.

Frames follow Tuya's "Tuya Cloud universal serial port access protocol"
(https://developer.tuya.com/en/docs/iot/tuya-cloud-universal-serial-port-access-protocol?id=K9hhi0xxtn9cb):
``55 AA`` header, version (``00`` module, ``03`` MCU), command, 2-byte length, data,
checksum = sum of all previous bytes mod 256; heartbeat ``55 AA 00 00 00 00 FF`` and its
reply ``55 AA 03 00 00 01 00 03``; product information (command ``01``) as a JSON string;
status report (command ``07``) of datapoint units ``id type len(2) value``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from device_adapters import (
    AdapterConfigError,
    PayloadRejected,
    RejectReason,
    TuyaFramer,
    TuyaMcuAdapter,
)
from device_adapters.profiles import DpType, profile_for
from device_adapters.tuya_mcu import (
    CMD_PRODUCT_INFO,
    CMD_STATUS_REPORT,
    encode_dp_report,
    encode_frame,
    frame_checksum,
)
from tests.device_adapters.samples import (
    RECEIVED,
    TUYA_FRAME,
    TUYA_PORT,
    TUYA_SETTINGS,
    TUYA_VALUES,
)

AIR_CONDITIONER = profile_for("air_conditioner").tuya
DOC_HEARTBEAT = bytes.fromhex("55aa00000000ff")
DOC_HEARTBEAT_REPLY = bytes.fromhex("55aa0300000100 03".replace(" ", ""))


def _adapter() -> TuyaMcuAdapter:
    return TuyaMcuAdapter.from_settings(TUYA_SETTINGS)


def test_encoder_reproduces_the_documented_heartbeat_frames() -> None:
    assert encode_frame(0x00, b"", version=0x00) == DOC_HEARTBEAT
    assert encode_frame(0x00, b"\x00") == DOC_HEARTBEAT_REPLY
    assert frame_checksum(DOC_HEARTBEAT[:-1]) == 0xFF


def test_status_report_decodes_through_the_datapoint_map(snapshot: SnapshotAssertion) -> None:
    (telemetry,) = _adapter().decode(TUYA_PORT, TUYA_FRAME, RECEIVED)
    assert telemetry.state == {"power": "on", "mode": "cool"}
    metrics = {k: v for k, v in TUYA_VALUES.items() if k not in ("power", "mode")}
    assert telemetry.metrics == metrics
    assert telemetry == snapshot


def test_a_single_changed_datapoint_is_reported_alone() -> None:
    frame = encode_dp_report(AIR_CONDITIONER, {"compressor_current_a": 5.125})
    (telemetry,) = _adapter().decode(TUYA_PORT, frame, RECEIVED)
    assert telemetry.metrics == {"compressor_current_a": 5.125}
    assert telemetry.state == {}


def test_product_info_supplies_the_firmware_version() -> None:
    adapter = _adapter()
    info = encode_frame(CMD_PRODUCT_INFO, b'{"p":"ydkfz0r3nxdwirbi","v":"1.0.4","m":0}')
    assert adapter.decode(TUYA_PORT, info, RECEIVED) == []
    (telemetry,) = adapter.decode(TUYA_PORT, TUYA_FRAME, RECEIVED)
    assert telemetry.fw == "1.0.4"


def test_heartbeats_and_unmapped_datapoints_yield_nothing() -> None:
    adapter = _adapter()
    assert adapter.decode(TUYA_PORT, DOC_HEARTBEAT_REPLY, RECEIVED) == []
    unknown_dp = encode_frame(
        CMD_STATUS_REPORT, bytes.fromhex("c8020004000000 07".replace(" ", ""))
    )
    assert adapter.decode(TUYA_PORT, unknown_dp, RECEIVED) == []


def _report(units: str) -> bytes:
    return encode_frame(CMD_STATUS_REPORT, bytes.fromhex(units.replace(" ", "")))


BAD = [
    ("short", bytes.fromhex("55aa0307"), RejectReason.FRAMING),
    ("no header", bytes.fromhex("aa5503000000 02"), RejectReason.FRAMING),
    ("length mismatch", TUYA_FRAME[:-3] + TUYA_FRAME[-1:], RejectReason.FRAMING),
    ("bad checksum", TUYA_FRAME[:-1] + bytes([TUYA_FRAME[-1] ^ 1]), RejectReason.CRC),
    ("truncated unit", _report("65 02 00"), RejectReason.SCHEMA),
    ("value too short", _report("65 02 0004 0000"), RejectReason.SCHEMA),
    ("type mismatch", _report("65 01 0001 01"), RejectReason.SCHEMA),
    ("value of 2 bytes", _report("65 02 0002 0001"), RejectReason.SCHEMA),
    ("enum out of range", _report("04 04 0001 09"), RejectReason.SCHEMA),
    ("product info not json", encode_frame(CMD_PRODUCT_INFO, b"{p:1"), RejectReason.BAD_JSON),
    ("oversized", b"\x55" * 2000, RejectReason.TOO_LARGE),
]


@pytest.mark.parametrize(("frame", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_frames_are_rejected_by_reason(frame: bytes, reason: RejectReason) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(TUYA_PORT, frame, RECEIVED)
    assert caught.value.reason is reason


def test_an_unconfigured_port_is_unknown_device() -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode("/dev/ttyS9", TUYA_FRAME, RECEIVED)
    assert caught.value.reason is RejectReason.UNKNOWN_DEVICE


def test_a_custom_datapoint_map_from_configuration() -> None:
    settings = {
        "devices": [
            {
                "source": "/dev/ttyS2",
                "device_id": "wh-000005",
                "kind": "water_heater",
                "datapoints": [
                    {"dp_id": 1, "type": "bool", "name": "power"},
                    {"dp_id": 5, "type": "enum", "name": "mode", "options": ["eco", "boost"]},
                    {"dp_id": 16, "type": "value", "name": "tank_temp_c", "scale": 0.5},
                ],
            }
        ]
    }
    adapter = TuyaMcuAdapter.from_settings(settings)
    frame = _report("01 01 0001 00  05 04 0001 01  10 02 0004 0000007b")
    (telemetry,) = adapter.decode("/dev/ttyS2", frame, RECEIVED)
    assert telemetry.metrics == {"tank_temp_c": 61.5}
    assert telemetry.state == {"power": "off", "mode": "boost"}


def _dev(**extra: object) -> dict[str, object]:
    return {"source": "/dev/ttyS1", "device_id": "ac-1", "kind": "air_conditioner"} | extra


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (_dev(datapoints=[{"dp_id": 1, "type": "float", "name": "x"}]), "float"),
        (_dev(datapoints=[{"dp_id": 300, "type": "value", "name": "x"}]), "dp_id"),
        (_dev(datapoints=[{"dp_id": 4, "type": "enum", "name": "mode"}]), "options"),
        (_dev(datapoints=[{"dp_id": 4, "type": "value"}]), "name"),
        (
            _dev(
                datapoints=[
                    {"dp_id": 4, "type": "value", "name": "a"},
                    {"dp_id": 4, "type": "value", "name": "b"},
                ]
            ),
            "mapped twice",
        ),
        (_dev(baud=9600), "'baud'"),
    ],
)
def test_bad_configuration_names_the_bad_key(device: dict[str, object], message: str) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        TuyaMcuAdapter.from_settings({"devices": [device]})


# ------------------------------------------------------------------ framer

VALUES = st.fixed_dictionaries(
    {},
    optional={
        "power": st.sampled_from(["on", "off"]),
        "mode": st.sampled_from(["cool", "heat", "fan", "dry", "auto"]),
        "indoor_temp_c": st.floats(-40, 60),
        "compressor_current_a": st.floats(0, 30),
        "indoor_fan_rpm": st.integers(0, 3000),
    },
)
FRAMES = st.lists(
    VALUES.map(lambda v: encode_dp_report(AIR_CONDITIONER, v))
    | st.just(DOC_HEARTBEAT_REPLY)
    | st.binary(max_size=20).map(lambda b: encode_frame(0x06, b, version=0x00)),
    min_size=1,
    max_size=6,
)
NOISE = st.binary(min_size=1, max_size=12).map(lambda b: b.replace(b"\x55", b"\x00"))


def _feed_in_pieces(framer: TuyaFramer, stream: bytes, cuts: list[int]) -> list[bytes]:
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
    framer = TuyaFramer()
    assert _feed_in_pieces(framer, b"".join(frames), cuts) == frames
    assert framer.errors == {}


@settings(max_examples=150, deadline=None)
@given(
    frames=FRAMES,
    noise=st.lists(NOISE, min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 10_000), max_size=10),
)
def test_garbage_between_frames_is_skipped_and_counted(
    frames: list[bytes], noise: list[bytes], cuts: list[int]
) -> None:
    stream, regions = b"", 0
    for i, frame in enumerate(frames):
        if i < len(noise):
            stream += noise[i]
            regions += 1
        stream += frame
    framer = TuyaFramer()
    assert _feed_in_pieces(framer, stream, cuts) == frames
    assert framer.errors == {RejectReason.FRAMING: regions}


def test_a_bad_checksum_is_counted_as_crc_and_the_stream_resynchronises() -> None:
    framer = TuyaFramer()
    broken = TUYA_FRAME[:-1] + bytes([TUYA_FRAME[-1] ^ 0xFF])
    assert framer.feed(broken + DOC_HEARTBEAT_REPLY + TUYA_FRAME) == [
        DOC_HEARTBEAT_REPLY,
        TUYA_FRAME,
    ]
    assert framer.errors == {RejectReason.CRC: 1}
    assert framer.skipped_bytes == len(broken)


def test_a_header_announcing_too_much_data_is_garbage_not_a_wait() -> None:
    framer = TuyaFramer(max_data=128)
    assert framer.feed(bytes.fromhex("55aa0307ffff") + TUYA_FRAME) == [TUYA_FRAME]
    assert framer.errors == {RejectReason.FRAMING: 1}


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 500), max_size=6))
def test_random_bytes_never_break_the_framer(data: bytes, cuts: list[int]) -> None:
    framer = TuyaFramer()
    for frame in _feed_in_pieces(framer, data, cuts):
        assert frame[:2] == b"\x55\xaa"
        assert frame_checksum(frame[:-1]) == frame[-1]
    assert framer.buffered == 0


@settings(max_examples=150, deadline=None)
@given(values=VALUES)
def test_decode_of_encoded_report_round_trips_within_resolution(values: dict[str, object]) -> None:
    frame = encode_dp_report(AIR_CONDITIONER, values)
    out = _adapter().decode(TUYA_PORT, frame, RECEIVED)
    if not values:
        assert out == []
        return
    (telemetry,) = out
    by_name = {dp.name: dp for dp in AIR_CONDITIONER}
    for name, value in values.items():
        dp = by_name[name]
        if dp.type is DpType.VALUE:
            assert isinstance(value, int | float)
            assert telemetry.metrics[name] == pytest.approx(value, abs=dp.scale / 2 + 1e-9)
        else:
            assert telemetry.state[name] == value
