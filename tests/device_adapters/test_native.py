"""The native message (DESIGN.md Contract 1): typed readings and specific rejections.

Issue 2 point 5: bad JSON, missing or wrongly typed fields, NaN/inf, unknown timestamp
formats and oversized payloads each have their own reason, and no input raises anything
but :class:`PayloadRejected`.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from device_adapters import (
    NativeAdapter,
    PayloadRejected,
    RejectReason,
    Telemetry,
    encode_native,
    native_topic,
)
from tests.device_adapters.samples import NATIVE_BODY, NATIVE_TOPIC, RECEIVED


def _decode(payload: bytes, topic: str = NATIVE_TOPIC) -> list[Telemetry]:
    return NativeAdapter().decode(topic, payload, RECEIVED)


def _reason(payload: bytes, topic: str = NATIVE_TOPIC) -> RejectReason:
    with pytest.raises(PayloadRejected) as caught:
        _decode(payload, topic)
    return caught.value.reason


def _with(**changes: object) -> bytes:
    body = orjson.loads(NATIVE_BODY)
    for key, value in changes.items():
        if value is _DROP:
            del body[key]
        else:
            body[key] = value
    return orjson.dumps(body)


_DROP = object()


def test_contract_example_decodes_to_typed_telemetry(snapshot: SnapshotAssertion) -> None:
    (telemetry,) = _decode(NATIVE_BODY)
    assert telemetry.device_id == "ac-000042"
    assert telemetry.home_id == "h-000017"
    assert telemetry.ts == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert telemetry.metrics == {"indoor_temp_c": 25.9, "compressor_current_a": 4.8}
    assert telemetry.seq == 1042
    assert telemetry == snapshot


def test_readings_carry_catalog_units() -> None:
    (telemetry,) = _decode(NATIVE_BODY)
    units = {r.metric: r.unit for r in telemetry.readings()}
    assert units == {"indoor_temp_c": "°C", "compressor_current_a": "A"}


def test_integer_metrics_become_floats_and_unknown_metrics_are_kept() -> None:
    (telemetry,) = _decode(_with(metrics={"indoor_fan_rpm": 1200, "new_sensor_x": 1.5}))
    assert telemetry.metrics == {"indoor_fan_rpm": 1200.0, "new_sensor_x": 1.5}
    assert type(telemetry.metrics["indoor_fan_rpm"]) is float


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-23T08:00:00Z", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("2026-11-23T16:00:00+08:00", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("2026-11-23T08:00:00.250Z", datetime(2026, 11, 23, 8, 0, 0, 250000, tzinfo=UTC)),
        (1795420800, datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        (1795420800.5, datetime(2026, 11, 23, 8, 0, 0, 500000, tzinfo=UTC)),
        (1795420800000, datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_in_every_contract_form_are_accepted(ts: object, expected: datetime) -> None:
    (telemetry,) = _decode(_with(ts=ts))
    assert telemetry.ts == expected


BAD_INPUTS: list[tuple[str, bytes, RejectReason]] = [
    ("not json", b"{not json", RejectReason.BAD_JSON),
    ("not utf-8", b'{"device_id": "\xff"}', RejectReason.BAD_JSON),
    ("a json array", b"[1, 2]", RejectReason.BAD_JSON),
    ("a json string", b'"hello"', RejectReason.BAD_JSON),
    ("empty", b"", RejectReason.BAD_JSON),
    ("NaN literal", NATIVE_BODY.replace(b"25.9", b"NaN"), RejectReason.NON_FINITE),
    ("Infinity literal", NATIVE_BODY.replace(b"25.9", b"Infinity"), RejectReason.NON_FINITE),
    ("-Infinity literal", NATIVE_BODY.replace(b"4.8", b"-Infinity"), RejectReason.NON_FINITE),
    ("overflowing number", NATIVE_BODY.replace(b"25.9", b"1e400"), RejectReason.NON_FINITE),
    ("missing device_id", _with(device_id=_DROP), RejectReason.SCHEMA),
    ("device_id of another device", _with(device_id="ac-000043"), RejectReason.SCHEMA),
    ("device_id a number", _with(device_id=42), RejectReason.SCHEMA),
    ("home_id of another home", _with(home_id="h-000018"), RejectReason.SCHEMA),
    ("missing ts", _with(ts=_DROP), RejectReason.SCHEMA),
    ("missing metrics", _with(metrics=_DROP), RejectReason.SCHEMA),
    ("metrics a list", _with(metrics=[25.9]), RejectReason.SCHEMA),
    ("metric a string", _with(metrics={"indoor_temp_c": "25.9"}), RejectReason.SCHEMA),
    ("metric a bool", _with(metrics={"indoor_temp_c": True}), RejectReason.SCHEMA),
    ("metric null", _with(metrics={"indoor_temp_c": None}), RejectReason.SCHEMA),
    ("metric an object", _with(metrics={"indoor_temp_c": {"v": 1}}), RejectReason.SCHEMA),
    ("metric name invalid", _with(metrics={"indoor temp": 1.0}), RejectReason.SCHEMA),
    ("too many metrics", _with(metrics={f"m{i}": 1.0 for i in range(65)}), RejectReason.SCHEMA),
    ("kind a number", _with(kind=7), RejectReason.SCHEMA),
    ("model empty", _with(model=""), RejectReason.SCHEMA),
    ("fw too long", _with(fw="1" * 65), RejectReason.SCHEMA),
    ("seq negative", _with(seq=-1), RejectReason.SCHEMA),
    ("seq a float", _with(seq=1.5), RejectReason.SCHEMA),
    ("seq a bool", _with(seq=True), RejectReason.SCHEMA),
    ("state a list", _with(state=["on"]), RejectReason.SCHEMA),
    ("state value an object", _with(state={"power": {"x": 1}}), RejectReason.SCHEMA),
    ("ts without offset", _with(ts="2026-11-23T08:00:00"), RejectReason.BAD_TIMESTAMP),
    ("ts in words", _with(ts="yesterday at noon"), RejectReason.BAD_TIMESTAMP),
    ("ts US style", _with(ts="11/23/2026 08:00"), RejectReason.BAD_TIMESTAMP),
    ("ts a bool", _with(ts=True), RejectReason.BAD_TIMESTAMP),
    ("ts an object", _with(ts={"s": 1}), RejectReason.BAD_TIMESTAMP),
    ("ts before 2000", _with(ts=0), RejectReason.BAD_TIMESTAMP),
    ("ts after 2100", _with(ts="2300-01-01T00:00:00Z"), RejectReason.BAD_TIMESTAMP),
    ("oversized", b"{" + b" " * 70_000 + b"}", RejectReason.TOO_LARGE),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [(p, r) for _, p, r in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS]
)
def test_bad_input_is_rejected_with_its_specific_reason(
    payload: bytes, reason: RejectReason
) -> None:
    assert _reason(payload) is reason


def test_rejection_names_the_device_when_the_topic_does() -> None:
    with pytest.raises(PayloadRejected) as caught:
        _decode(_with(ts="never"))
    assert caught.value.device_id == "ac-000042"
    assert "never" in caught.value.detail


def test_payload_limit_is_configurable() -> None:
    with pytest.raises(PayloadRejected) as caught:
        NativeAdapter(max_payload_bytes=100).decode(NATIVE_TOPIC, NATIVE_BODY, RECEIVED)
    assert caught.value.reason is RejectReason.TOO_LARGE


@pytest.mark.parametrize(
    "topic",
    [
        "aftercare/h-1/ac-1/telemetry/extra",
        "other/h-1/ac-1/telemetry",
        "aftercare/h-1/ac-1/debug",
        "aftercare/h 1/ac-1/telemetry",
    ],
)
def test_topics_outside_contract_1_are_unknown_topic(topic: str) -> None:
    assert _reason(NATIVE_BODY, topic) is RejectReason.UNKNOWN_TOPIC


def test_status_accepts_online_offline_and_rejects_anything_else() -> None:
    topic = native_topic("h-000017", "ac-000042", "status")
    assert _decode(b"online", topic) == []
    assert _decode(b"offline", topic) == []
    assert _reason(b"maybe", topic) is RejectReason.SCHEMA


def test_event_is_validated_but_yields_no_telemetry() -> None:
    topic = native_topic("h-000017", "ac-000042", "event")
    good = b'{"ts": "2026-11-23T08:00:00Z", "code": "E4", "text": "high pressure"}'
    assert _decode(good, topic) == []
    assert _reason(b'{"ts": 1795420800, "text": "no code"}', topic) is RejectReason.SCHEMA
    assert _reason(b'{"code": "E4", "ts": "soon"}', topic) is RejectReason.BAD_TIMESTAMP


# ------------------------------------------------------------------ properties

IDS = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
METRIC_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True)
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
STATE_VALUES = st.one_of(st.text(max_size=20), st.booleans(), st.integers(-1000, 1000), FINITE)
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 2),  # noqa: DTZ001 — hypothesis wants naive bounds
    max_value=datetime(2099, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def telemetries(draw: st.DrawFn) -> Telemetry:
    return Telemetry(
        device_id=draw(IDS),
        home_id=draw(IDS),
        ts=draw(TIMES),
        metrics=draw(st.dictionaries(METRIC_NAMES, FINITE, max_size=10)),
        state=draw(st.dictionaries(METRIC_NAMES, STATE_VALUES, max_size=5)),
        kind=draw(st.none() | st.sampled_from(["air_conditioner", "refrigerator"])),
        model=draw(st.none() | st.just("KFR-35GW")),
        fw=draw(st.none() | st.just("2.3.1")),
        seq=draw(st.none() | st.integers(0, 2**63 - 1)),
        source="native",
    )


@settings(max_examples=300, deadline=None)
@given(telemetry=telemetries())
def test_decode_of_encode_is_identity(telemetry: Telemetry) -> None:
    assert telemetry.home_id is not None
    topic = native_topic(telemetry.home_id, telemetry.device_id)
    (decoded,) = NativeAdapter().decode(topic, encode_native(telemetry), RECEIVED)
    assert decoded == telemetry


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_payload_rejected(payload: bytes) -> None:
    with contextlib.suppress(PayloadRejected):
        _decode(payload)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "device_id": st.just("ac-000042") | JSON,
            "home_id": st.just("h-000017") | JSON,
            "ts": st.just("2026-11-23T08:00:00Z") | JSON,
            "seq": JSON,
            "kind": JSON,
            "metrics": st.dictionaries(st.text(max_size=10), JSON, max_size=4) | JSON,
            "state": JSON,
        },
    )
)
def test_arbitrary_json_objects_raise_only_payload_rejected(body: dict[str, object]) -> None:
    try:
        out = _decode(orjson.dumps(body))
    except PayloadRejected:
        return
    assert len(out) == 1
    assert all(type(v) is float for v in out[0].metrics.values())


@settings(max_examples=100, deadline=None)
@given(literal=st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"]))
def test_non_finite_anywhere_in_metrics_is_non_finite(literal: bytes) -> None:
    assert _reason(NATIVE_BODY.replace(b"4.8", literal)) is RejectReason.NON_FINITE
