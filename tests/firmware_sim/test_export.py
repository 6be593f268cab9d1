"""The export: native messages the gateway's own adapter reads, labels that agree."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import orjson

from aftercare.catalog import default_catalog
from device_adapters import NativeAdapter, encode_native
from firmware_sim.export import export_fleet
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.wire import Artefacts

RECEIVED = datetime(2026, 6, 1, tzinfo=UTC)


def test_export_lines_decode_with_the_native_adapter_and_reencode_byte_identical(
    tmp_path: Path,
) -> None:
    fleet = Fleet(FleetSpec.random(12, days=2, seed=3))
    result = export_fleet(fleet, tmp_path)
    adapter = NativeAdapter()
    catalog = default_catalog()
    lines = result.telemetry.read_bytes().splitlines()
    assert len(lines) == result.messages > 2000
    for line in lines:
        body = orjson.loads(line)
        topic = f"aftercare/{body['home_id']}/{body['device_id']}/telemetry"
        (telemetry,) = adapter.decode(topic, line, RECEIVED)
        assert encode_native(telemetry) == line
        assert set(telemetry.metrics) == set(catalog.kind(body["kind"]).metric_names)


def test_export_is_in_delivery_order_with_few_late_messages(tmp_path: Path) -> None:
    fleet = Fleet(FleetSpec.random(12, days=3, seed=8))
    export_fleet(fleet, tmp_path)
    stamps = [
        datetime.fromisoformat(orjson.loads(line)["ts"])
        for line in (tmp_path / "telemetry.jsonl").read_bytes().splitlines()
    ]
    backwards = sum(1 for a, b in itertools.pairwise(stamps) if b < a)
    # only the network's late deliveries go back in time (plus their neighbours)
    assert 0 < backwards < 0.01 * len(stamps)


def test_labels_describe_every_device_and_onset_precedes_failure(tmp_path: Path) -> None:
    fleet = Fleet(FleetSpec.random(60, days=30, seed=2))
    result = export_fleet(fleet, tmp_path)
    labels = orjson.loads(result.labels.read_bytes())
    catalog = default_catalog()
    assert set(labels) == {d.device_id for d in fleet.devices}
    faulty = 0
    for device_id, label in labels.items():
        assert set(label) >= {
            "kind",
            "model",
            "fw",
            "home_id",
            "fault_code",
            "onset",
            "failure_at",
            "sudden",
            "profile",
        }
        code = label["fault_code"]
        if code is None:
            assert label["onset"] is None
            assert label["failure_at"] is None
            assert label["sudden"] is False
            continue
        faulty += 1
        fault = catalog.fault(code)
        assert fault.applies_to(label["kind"]), device_id
        assert label["sudden"] == (fault.course.value == "sudden")
        if label["failure_at"] is not None:
            onset = datetime.fromisoformat(label["onset"])
            failure = datetime.fromisoformat(label["failure_at"])
            assert onset <= failure <= datetime.fromtimestamp(fleet.spec.t1, UTC)
    assert 0.3 * len(labels) <= faulty <= 0.45 * len(labels)
    with_failure = sum(1 for v in labels.values() if v["failure_at"])
    assert with_failure >= 0.6 * faulty


def test_random_fleet_covers_every_fault_code_and_unusual_profiles() -> None:
    spec = FleetSpec.random(240, days=60, seed=1)
    catalog = default_catalog()
    codes = {d.fault.code for d in spec.devices if d.fault is not None}
    assert codes == set(catalog.faults)
    profiles = {d.profile.value for d in spec.devices if d.fault is None}
    assert {"hot_attic", "heavy_user", "odd_setpoint", "garage"} <= profiles
    assert {d.kind for d in spec.devices} == set(catalog.kinds)


def test_network_artefacts_appear_at_their_configured_rates() -> None:
    spec = FleetSpec.random(10, days=20, seed=6)
    artefacts = Artefacts(missing=0.02, blips_per_day=0.0, duplicate=0.01, out_of_order=0.01)
    fleet = Fleet(FleetSpec(spec.devices, spec.start, spec.days, spec.seed, artefacts))
    total = dups = late = expected = 0
    for device in fleet.devices:
        if device.fault is not None and device.fault.code == "DEVICE_OFFLINE":
            continue
        rec = fleet.recording(device.device_id)
        expected += len(rec.reported.t)
        d = rec.deliveries
        total += len(d.row)
        dups += len(d.row) - len(set(d.row.tolist()))
        late += int((d.at - rec.reported.t[d.row] > 60).sum())
    delivered_unique = total - dups
    assert 0.01 < 1 - delivered_unique / expected < 0.03
    assert 0.006 < dups / total < 0.014
    assert 0.006 < late / total < 0.014
