"""Every registered adapter against one table of checks (STYLE 10.2 / 10.8, issue 4 point 4).

The registry is the one place adapters are named; these tests make sure every adapter
module is registered, names and topic filters do not collide, and each adapter keeps the
promise of :class:`~device_adapters.base.DeviceAdapter`: whatever bytes arrive, the only
exception that escapes is :class:`PayloadRejected`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import pkgutil
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import device_adapters
from device_adapters import (
    ADAPTERS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DeviceAdapter,
    PayloadRejected,
    RejectReason,
    Telemetry,
    adapter_class,
    build_adapter,
    topic_matches,
)
from device_adapters.exceptions import AdapterConfigError
from tests.device_adapters.samples import RECEIVED, SAMPLES

NAMES = sorted(ADAPTERS)
PACKAGE_DIR = Path(device_adapters.__file__).parent
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_or_reject(adapter: DeviceAdapter, topic: str, payload: bytes) -> None:
    """Decode; the only allowed exception is PayloadRejected, and output must be valid."""
    try:
        out = adapter.decode(topic, payload, RECEIVED)
    except PayloadRejected as exc:
        reason = exc.reason
        assert isinstance(reason, RejectReason)
        return
    assert isinstance(out, list)
    for telemetry in out:
        assert isinstance(telemetry, Telemetry)
        assert telemetry.ts.tzinfo is not None
        assert all(math.isfinite(v) for v in telemetry.metrics.values())
        assert telemetry.source == adapter.name


def _modules_defining_adapters() -> set[str]:
    """Modules defining a concrete class with ``name``, ``topic_filters`` and ``decode``."""
    found = set()
    for info in pkgutil.iter_modules([str(PACKAGE_DIR)]):
        tree = ast.parse((PACKAGE_DIR / f"{info.name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            is_protocol = isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases
            )
            if isinstance(node, ast.ClassDef) and not is_protocol:
                members = {getattr(n, "name", None) for n in node.body} | {
                    t.id
                    for n in node.body
                    if isinstance(n, ast.AnnAssign)
                    for t in [n.target]
                    if isinstance(t, ast.Name)
                }
                if {"decode", "name", "topic_filters"} <= members:
                    found.add(info.name)
    return found


def _module_of(cls: object) -> str:
    module = inspect.getmodule(cls)
    assert module is not None
    return module.__name__


def test_every_module_that_defines_an_adapter_is_registered() -> None:
    registered = {_module_of(cls).rsplit(".", 1)[1] for cls in ADAPTERS.values()}
    assert _modules_defining_adapters() == registered


def test_registry_names_match_the_class_names_and_one_module_per_format() -> None:
    for name, cls in ADAPTERS.items():
        assert cls.name == name
    modules = [_module_of(cls) for cls in ADAPTERS.values()]
    assert len(modules) == len(set(modules))


DEFAULT_FILTERS = {name: build_adapter(name, {}).topic_filters for name in NAMES}


def test_topic_filters_are_unique_across_adapters() -> None:
    filters = [f for name in NAMES for f in DEFAULT_FILTERS[name]]
    assert len(filters) == len(set(filters))


def test_every_registered_adapter_has_contract_samples() -> None:
    assert sorted(SAMPLES) == NAMES


def test_unknown_adapter_name_fails_with_the_valid_names() -> None:
    with pytest.raises(AdapterConfigError, match="valid: ha_discovery, modbus_rtu, native"):
        adapter_class("zwave")
    assert adapter_class("tasmota") is ADAPTERS["tasmota"]


def test_package_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name in vars(device_adapters)
        if not name.startswith("_") and not isinstance(getattr(device_adapters, name), type(ast))
    }
    public -= {"annotations", "Any", "Final", "Mapping", "MappingProxyType"}
    assert set(device_adapters.__all__) == public


@pytest.mark.parametrize("module", sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)])))
def test_every_module_declares_all_and_it_resolves(module: str) -> None:
    mod = importlib.import_module(f"device_adapters.{module}")
    assert all(hasattr(mod, name) for name in mod.__all__)


@pytest.mark.parametrize("name", NAMES)
def test_adapter_satisfies_the_protocol_and_decodes_its_samples(name: str) -> None:
    sample = SAMPLES[name]
    adapter = sample.make()
    assert isinstance(adapter, DeviceAdapter)
    decoded = [
        t for topic, payload in sample.messages for t in adapter.decode(topic, payload, RECEIVED)
    ]
    assert decoded
    assert all(t.source == name for t in decoded)


@pytest.mark.parametrize("name", NAMES)
def test_every_adapter_is_built_from_an_empty_table_or_refuses_unknown_keys(name: str) -> None:
    adapter = build_adapter(name, {})
    assert adapter.name == name
    with pytest.raises(AdapterConfigError, match="unknown key 'no_such_key'"):
        build_adapter(name, {"no_such_key": 1})


@pytest.mark.parametrize("name", NAMES)
def test_oversized_payload_is_rejected_as_too_large(name: str) -> None:
    topic, _ = SAMPLES[name].messages[0]
    adapter = SAMPLES[name].make()
    with pytest.raises(PayloadRejected) as caught:
        adapter.decode(topic, b"{" + b" " * DEFAULT_MAX_PAYLOAD_BYTES + b"}", RECEIVED)
    assert caught.value.reason is RejectReason.TOO_LARGE


@pytest.mark.parametrize("name", NAMES)
def test_empty_payload_on_a_data_topic_is_rejected(name: str) -> None:
    topic, _ = SAMPLES[name].messages[0]
    with pytest.raises(PayloadRejected) as caught:
        SAMPLES[name].make().decode(topic, b"", RECEIVED)
    assert caught.value.reason in (RejectReason.BAD_JSON, RejectReason.FRAMING)


@pytest.mark.parametrize("name", [n for n in NAMES if SAMPLES[n].non_finite is not None])
def test_non_finite_metric_is_rejected_as_non_finite(name: str) -> None:
    non_finite = SAMPLES[name].non_finite
    assert non_finite is not None
    with pytest.raises(PayloadRejected) as caught:
        SAMPLES[name].make().decode(*non_finite, RECEIVED)
    assert caught.value.reason is RejectReason.NON_FINITE


def test_only_tuya_cannot_express_a_non_finite_value() -> None:
    # Tuya VALUE datapoints are 32-bit integers: NaN has no encoding to test.
    assert [n for n in NAMES if SAMPLES[n].non_finite is None] == ["tuya_mcu"]


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(payload=st.binary(max_size=300))
def test_random_bytes_raise_nothing_but_payload_rejected(name: str, payload: bytes) -> None:
    sample = SAMPLES[name]
    adapter = sample.make()
    for topic, _ in sample.messages:
        _decode_or_reject(adapter, topic, payload)


def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Byte-level damage to a valid payload: flips, cuts, insertions."""
    n = len(valid)

    def flip(args: tuple[int, int]) -> bytes:
        i, b = args
        return valid[:i] + bytes((b,)) + valid[i + 1 :]

    def cut(args: tuple[int, int]) -> bytes:
        i, j = sorted(args)
        return valid[:i] + valid[j:]

    def insert(args: tuple[int, bytes]) -> bytes:
        i, extra = args
        return valid[:i] + extra + valid[i:]

    index = st.integers(0, max(n - 1, 0))
    return st.one_of(
        st.tuples(index, st.integers(0, 255)).map(flip),
        st.tuples(index, index).map(cut),
        st.tuples(index, st.binary(min_size=1, max_size=8)).map(insert),
    )


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(data=st.data())
def test_mutated_valid_payloads_raise_nothing_but_payload_rejected(
    name: str, data: st.DataObject
) -> None:
    sample = SAMPLES[name]
    adapter = sample.make()
    for topic, valid in sample.messages:
        _decode_or_reject(adapter, topic, data.draw(_mutations(valid)))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _replace_somewhere(tree: object, draw: st.DataObject) -> object:
    """The JSON tree with one value (chosen by hypothesis) replaced by a random one."""
    if isinstance(tree, dict) and tree and draw.draw(st.booleans()):
        key = draw.draw(st.sampled_from(sorted(tree)))
        return {**tree, key: _replace_somewhere(tree[key], draw)}
    if isinstance(tree, list) and tree and draw.draw(st.booleans()):
        i = draw.draw(st.integers(0, len(tree) - 1))
        return [*tree[:i], _replace_somewhere(tree[i], draw), *tree[i + 1 :]]
    return draw.draw(JSON_VALUES)


JSON_NAMES = [n for n in NAMES if n not in ("modbus_rtu", "tuya_mcu")]


@pytest.mark.parametrize("name", JSON_NAMES)
@FAST
@given(data=st.data())
def test_structurally_mutated_json_raises_nothing_but_payload_rejected(
    name: str, data: st.DataObject
) -> None:
    sample = SAMPLES[name]
    adapter = sample.make()
    for topic, valid in sample.messages:
        mutated = _replace_somewhere(orjson.loads(valid), data)
        try:
            payload = orjson.dumps(mutated)
        except TypeError:  # integers beyond 64 bits: orjson cannot write them
            payload = str(mutated).encode()
        _decode_or_reject(adapter, topic, payload)


def test_each_sample_topic_is_claimed_by_exactly_its_own_adapter() -> None:
    for name, sample in SAMPLES.items():
        for topic, _ in sample.messages:
            claimants = [
                other
                for other, filters in DEFAULT_FILTERS.items()
                if any(topic_matches(f, topic) for f in filters)
            ]
            if DEFAULT_FILTERS[name] and not topic.startswith("appliances/"):
                assert claimants == [name], topic
            else:  # serial frames and HA's learned state topics are routed by the gateway
                assert claimants == [], topic
