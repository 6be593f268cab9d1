"""The default per-kind maps cover the catalog and encode/decode symmetrically."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercare.catalog import default_catalog
from device_adapters.profiles import (
    PROFILES,
    Datapoint,
    DpType,
    FieldMap,
    Register,
    RegisterMap,
    RegisterType,
    WordOrder,
    z2m_fields,
)

KINDS = sorted(default_catalog().kinds)


def test_every_catalog_kind_has_a_profile() -> None:
    assert sorted(PROFILES) == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_profile_maps_every_metric_of_its_kind_exactly_once(kind: str) -> None:
    metrics = sorted(default_catalog().kind(kind).metric_names)
    profile = PROFILES[kind]
    assert sorted(f.metric for f in profile.tasmota) == metrics
    assert sorted(f.metric for f in profile.shelly) == metrics
    assert sorted(r.metric for r in profile.modbus.registers) == metrics
    assert sorted(d.name for d in profile.tuya if d.is_metric) == metrics
    assert sorted(f.metric for f in z2m_fields(kind)) == metrics


@pytest.mark.parametrize("kind", KINDS)
def test_profile_ids_are_unique(kind: str) -> None:
    profile = PROFILES[kind]
    dp_ids = [d.dp_id for d in profile.tuya]
    assert len(dp_ids) == len(set(dp_ids))
    assert len({f.source for f in profile.tasmota}) == len(profile.tasmota)
    assert len({f.source for f in profile.shelly}) == len(profile.shelly)


def test_tenths_decode_exactly() -> None:
    reg = Register(address=0, type=RegisterType.INT16, scale=0.1, metric="indoor_temp_c")
    assert reg.decode([253], WordOrder.BIG) == 25.3
    assert reg.encode(25.3, WordOrder.BIG) == (253,)
    assert reg.encode(-4.2, WordOrder.BIG) == (0xFFD6,)
    assert reg.decode([0xFFD6], WordOrder.BIG) == -4.2


@pytest.mark.parametrize(
    ("type_", "order", "value", "words"),
    [
        (RegisterType.UINT32, WordOrder.BIG, 0x12345678, (0x1234, 0x5678)),
        (RegisterType.UINT32, WordOrder.LITTLE, 0x12345678, (0x5678, 0x1234)),
        (RegisterType.INT32, WordOrder.BIG, -2, (0xFFFF, 0xFFFE)),
        (RegisterType.FLOAT32, WordOrder.BIG, 1.5, (0x3FC0, 0x0000)),
        (RegisterType.FLOAT32, WordOrder.LITTLE, 1.5, (0x0000, 0x3FC0)),
    ],
)
def test_32_bit_registers_follow_the_word_order(
    type_: RegisterType, order: WordOrder, value: float, words: tuple[int, int]
) -> None:
    reg = Register(address=10, type=type_, metric="m")
    assert reg.encode(value, order) == words
    assert reg.decode(words, order) == value


def test_integer_registers_clamp_on_encode() -> None:
    reg = Register(address=0, type=RegisterType.UINT16, metric="m")
    assert reg.encode(-5, WordOrder.BIG) == (0,)
    assert reg.encode(70000, WordOrder.BIG) == (0xFFFF,)


def test_overlapping_registers_are_refused() -> None:
    with pytest.raises(ValueError, match="register 1"):
        RegisterMap(
            registers=(
                Register(address=0, type=RegisterType.UINT32, metric="a"),
                Register(address=1, type=RegisterType.UINT16, metric="b"),
            )
        )


def test_bad_scale_and_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        FieldMap(source="a.b", metric="m", scale=0.0)
    with pytest.raises(ValueError, match="empty segment"):
        FieldMap(source="a..b", metric="m")
    with pytest.raises(ValueError, match="options"):
        Datapoint(dp_id=4, type=DpType.ENUM, name="mode")


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)
@given(data=st.data())
def test_register_block_round_trips_within_resolution(kind: str, data: st.DataObject) -> None:
    rmap = PROFILES[kind].modbus
    metrics = {
        r.metric: data.draw(
            st.floats(min_value=max(r.limits[0], -300), max_value=min(r.limits[1], 300))
        )
        for r in rmap.registers
    }
    decoded = rmap.decode(rmap.encode(metrics))
    for reg in rmap.registers:
        tolerance = 1e-4 if reg.type is RegisterType.FLOAT32 else reg.scale / 2 + 1e-9
        assert decoded[reg.metric] == pytest.approx(metrics[reg.metric], abs=tolerance, rel=1e-6)


@settings(deadline=None)
@given(value=st.floats(min_value=-1e5, max_value=1e5, allow_nan=False))
def test_datapoint_value_round_trips_within_resolution(value: float) -> None:
    dp = Datapoint(dp_id=101, type=DpType.VALUE, name="m", scale=0.1)
    assert dp.decode_value(dp.encode_value(value)) == pytest.approx(value, abs=0.05 + 1e-9)
