"""Shelly Gen2 adapter.

Payload shapes follow the Shelly Gen2 API documentation:
https://shelly-api-docs.shelly.cloud/gen2/General/Notifications (``NotifyStatus`` with only
the changed keys, ``NotifyFullStatus``, ``NotifyEvent``),
https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Mqtt (``<id>/events/rpc``,
``<id>/status/<component>``, ``<id>/online``) and
https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Switch (status fields).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from device_adapters import PayloadRejected, RejectReason, ShellyGen2Adapter
from tests.device_adapters.samples import (
    RECEIVED,
    SHELLY_FULL,
    SHELLY_SETTINGS,
    SHELLY_TOPIC,
)

PREFIX = "shellyplus1pm-a8032ab12345"


def _notify(params: dict[str, object], method: str = "NotifyStatus") -> bytes:
    return orjson.dumps({"src": PREFIX, "dst": "aftercare", "method": method, "params": params})


def _adapter() -> ShellyGen2Adapter:
    adapter = ShellyGen2Adapter.from_settings(SHELLY_SETTINGS)
    adapter.decode(SHELLY_TOPIC, SHELLY_FULL, RECEIVED)
    return adapter


def test_full_status_decodes_every_mapped_component(snapshot: SnapshotAssertion) -> None:
    adapter = ShellyGen2Adapter.from_settings(SHELLY_SETTINGS)
    (telemetry,) = adapter.decode(SHELLY_TOPIC, SHELLY_FULL, RECEIVED)
    assert telemetry.metrics["compressor_current_a"] == 4.8
    assert telemetry.metrics["indoor_fan_rpm"] == 1230.0  # input:2 freq 20.5 Hz x 60
    assert telemetry.state == {"power": "on"}
    assert telemetry.ts == datetime.fromtimestamp(1795420800.04, UTC)
    assert telemetry == snapshot


def test_notify_status_is_overlaid_on_the_known_status() -> None:
    adapter = _adapter()
    change = {"ts": 1795421100.0, "switch:0": {"current": 5.2}}
    (telemetry,) = adapter.decode(SHELLY_TOPIC, _notify(change), RECEIVED)
    assert telemetry.metrics["compressor_current_a"] == 5.2
    assert telemetry.metrics["indoor_temp_c"] == 25.9  # carried over from the full status
    assert adapter.status_of("ac-000042")["switch:0"]["voltage"] == 220.1


def test_documented_notify_status_with_only_output_changes_the_power_state() -> None:
    adapter = _adapter()
    doc = {"ts": 1631186545.04, "switch:0": {"id": 0, "output": False, "source": "button"}}
    body = _notify(doc).replace(b"1631186545.04", b"1795421100.04")
    (telemetry,) = adapter.decode(SHELLY_TOPIC, body, RECEIVED)
    assert telemetry.state == {"power": "off"}


def test_null_deletes_a_key_and_a_component() -> None:
    adapter = _adapter()
    (telemetry,) = adapter.decode(
        SHELLY_TOPIC, _notify({"ts": 1795421100, "temperature:100": None}), RECEIVED
    )
    assert "indoor_temp_c" not in telemetry.metrics
    (telemetry,) = adapter.decode(
        SHELLY_TOPIC, _notify({"ts": 1795421160, "switch:0": {"current": None}}), RECEIVED
    )
    assert "compressor_current_a" not in telemetry.metrics


def test_changes_to_unmapped_components_yield_nothing() -> None:
    doc = (
        b'{"src": "%s", "dst": "user_1", "method": "NotifyStatus",'
        b' "params": {"ts": 1624348482.25, "cloud": {"connected": false}}}'
    )
    assert _adapter().decode(SHELLY_TOPIC, doc.replace(b"%s", PREFIX.encode()), RECEIVED) == []


def test_notify_event_yields_nothing() -> None:
    body = _notify(
        {"ts": 1795421100, "events": [{"component": "input:0", "event": "single_push"}]},
        "NotifyEvent",
    )
    assert _adapter().decode(SHELLY_TOPIC, body, RECEIVED) == []


def test_status_topic_replaces_one_component() -> None:
    adapter = _adapter()
    status = b'{"id":0,"source":"init","output":false,"apower":0.0,"current":0.000,"voltage":237.0}'
    (telemetry,) = adapter.decode(f"{PREFIX}/status/switch:0", status, RECEIVED)
    assert telemetry.metrics["compressor_current_a"] == 0.0
    assert telemetry.state == {"power": "off"}
    assert telemetry.ts == RECEIVED
    assert "pf" not in adapter.status_of("ac-000042")["switch:0"]


def test_only_mapped_components_are_kept_in_memory() -> None:
    adapter = _adapter()
    assert "cloud" not in adapter.status_of("ac-000042")
    assert "wifi" not in adapter.status_of("ac-000042")


def test_online_topic_is_recorded_as_availability() -> None:
    adapter = _adapter()
    assert adapter.decode(f"{PREFIX}/online", b"false", RECEIVED) == []
    assert adapter.availability == {"ac-000042": False}


def test_a_rejected_change_leaves_the_known_status_untouched() -> None:
    adapter = _adapter()
    with pytest.raises(PayloadRejected):
        adapter.decode(SHELLY_TOPIC, _notify({"switch:0": {"current": "lots"}}), RECEIVED)
    assert adapter.status_of("ac-000042")["switch:0"]["current"] == 4.8


BAD = [
    ("not json", b"{]", RejectReason.BAD_JSON),
    ("no method", b'{"params": {}}', RejectReason.SCHEMA),
    ("params a list", b'{"method": "NotifyStatus", "params": []}', RejectReason.SCHEMA),
    ("component not an object", _notify({"switch:0": 5}), RejectReason.SCHEMA),
    ("value a string", _notify({"switch:0": {"current": "4.8"}}), RejectReason.SCHEMA),
    (
        "value NaN",
        _notify({"switch:0": {"current": 1}}).replace(b"1}", b"NaN}"),
        RejectReason.NON_FINITE,
    ),
    ("bad ts", _notify({"ts": "noon", "switch:0": {"current": 1}}), RejectReason.BAD_TIMESTAMP),
]


@pytest.mark.parametrize(("payload", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_notifications_are_rejected_by_reason(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(SHELLY_TOPIC, payload, RECEIVED)
    assert caught.value.reason is reason
    assert caught.value.device_id == "ac-000042"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("shellyplus1pm-ffffffffffff/events/rpc", SHELLY_FULL, RejectReason.UNKNOWN_DEVICE),
        (f"{PREFIX}/online", b"yes", RejectReason.SCHEMA),
        (f"{PREFIX}/rpc", b"{}", RejectReason.UNKNOWN_TOPIC),
    ],
)
def test_other_topics_are_rejected_by_reason(
    topic: str, payload: bytes, reason: RejectReason
) -> None:
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(topic, payload, RECEIVED)
    assert caught.value.reason is reason


def test_a_value_that_overflows_when_scaled_is_non_finite() -> None:
    body = _notify({"input:2": {"freq": 1.5e308}})
    with pytest.raises(PayloadRejected) as caught:
        _adapter().decode(SHELLY_TOPIC, body, RECEIVED)
    assert caught.value.reason is RejectReason.NON_FINITE


COMPONENT_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda c: st.dictionaries(
        st.sampled_from(["tC", "current", "output", "freq", "value", "x"]), c, max_size=4
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    changes=st.lists(
        st.dictionaries(
            st.sampled_from(["switch:0", "temperature:100", "input:2", "number:200", "cloud"]),
            COMPONENT_VALUES,
            max_size=4,
        ),
        max_size=6,
    )
)
def test_any_sequence_of_notifications_keeps_valid_telemetry_or_rejects(
    changes: list[dict[str, object]],
) -> None:
    adapter = _adapter()
    for change in changes:
        try:
            out = adapter.decode(SHELLY_TOPIC, _notify(dict(change)), RECEIVED)
        except PayloadRejected:
            continue
        for telemetry in out:
            assert all(math.isfinite(v) for v in telemetry.metrics.values())
