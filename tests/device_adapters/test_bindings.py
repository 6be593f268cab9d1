"""Configuration readers and timestamp parsing shared by the adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from device_adapters import AdapterConfigError, DeviceBinding, PayloadRejected, RejectReason
from device_adapters.bindings import check_keys, kind_of_model, read_bindings, read_int
from device_adapters.timestamps import parse_timestamp


def test_kind_of_model_follows_the_catalog() -> None:
    assert kind_of_model("KFR-35GW") == "air_conditioner"
    assert kind_of_model("LED1545G12") is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"devices": "tasmota_1"}, "expected a list of tables"),
        ({"devices": ["tasmota_1"]}, r"devices\[0\]: expected a table"),
        ({"devices": [{"source": 1, "device_id": "a-1", "kind": "refrigerator"}]}, "source"),
        (
            {
                "devices": [
                    {"source": "s", "device_id": "a-1", "kind": "refrigerator"},
                    {"source": "s", "device_id": "a-2", "kind": "refrigerator"},
                ]
            },
            "bound twice",
        ),
        (
            {
                "devices": [
                    {"source": "s", "device_id": "a-1", "kind": "refrigerator", "home_id": "h/1"}
                ]
            },
            "home_id",
        ),
    ],
)
def test_bad_bindings_name_the_bad_entry(settings: dict[str, object], message: str) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        read_bindings(settings, "x")


def test_bindings_are_keyed_by_source() -> None:
    settings = {"devices": [{"source": "s", "device_id": "a-1", "kind": "refrigerator"}]}
    assert read_bindings(settings, "x") == {
        "s": DeviceBinding(source="s", device_id="a-1", kind="refrigerator")
    }


def test_readers_refuse_wrong_types_and_ranges() -> None:
    with pytest.raises(AdapterConfigError, match="expected a table"):
        check_keys(["a"], frozenset(), "x")  # type: ignore[arg-type]
    with pytest.raises(AdapterConfigError, match=r"x\.n: expected int"):
        read_int({"n": True}, "n", "x", 1, 0, 5)
    with pytest.raises(AdapterConfigError, match=r"outside 0\.\.5"):
        read_int({"n": 6}, "n", "x", 1, 0, 5)


def test_naive_timestamps_are_read_in_the_given_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert parse_timestamp("2026-11-23T16:00:00", naive_tz=shanghai) == datetime(
        2026, 11, 23, 8, 0, tzinfo=UTC
    )
    assert parse_timestamp("2026-11-23T08:00:00", naive_as_utc=True) == datetime(
        2026, 11, 23, 8, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("value", [10**400, float("nan"), -5, "2026-13-01T00:00:00Z", [1], None])
def test_impossible_timestamps_are_bad_timestamp(value: object) -> None:
    with pytest.raises(PayloadRejected) as caught:
        parse_timestamp(value)
    assert caught.value.reason is RejectReason.BAD_TIMESTAMP
