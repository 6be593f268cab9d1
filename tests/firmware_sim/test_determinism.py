"""The simulator is deterministic by seed, and each device independent of the others."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from aftercare.cli import app
from firmware_sim.fleet import Fleet, FleetSpec


def _digest(fleet: Fleet) -> str:
    h = hashlib.sha256()
    for message in fleet.messages():
        h.update(message.topic.encode())
        h.update(message.payload)
    return h.hexdigest()


def test_same_seed_gives_identical_messages_and_labels() -> None:
    a = Fleet(FleetSpec.random(18, days=3, seed=42))
    b = Fleet(FleetSpec.random(18, days=3, seed=42))
    assert _digest(a) == _digest(b)
    assert a.labels() == b.labels()


def test_another_seed_gives_another_fleet() -> None:
    a = Fleet(FleetSpec.random(18, days=3, seed=42))
    b = Fleet(FleetSpec.random(18, days=3, seed=43))
    assert _digest(a) != _digest(b)


def test_a_device_does_not_change_when_the_fleet_grows() -> None:
    small = Fleet(FleetSpec.random(12, days=2, seed=9))
    device = small.devices[0]
    big_spec = FleetSpec.random(12, days=2, seed=9)
    big = Fleet(
        FleetSpec(
            devices=(*big_spec.devices, *FleetSpec.random(30, days=2, seed=1).devices[12:]),
            start=big_spec.start,
            days=2,
            seed=9,
        )
    )
    a = small.recording(device.device_id).reported
    b = big.recording(device.device_id).reported
    assert all((a.metrics[k] == b.metrics[k]).all() for k in a.metrics)


def test_export_command_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    runner = CliRunner()
    outs = []
    for name in ("one", "two"):
        out = tmp_path / name
        result = runner.invoke(
            app,
            ["sim", "export", "--devices", "10", "--days", "2", "--seed", "4", "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
        outs.append(out)
    for file in ("telemetry.jsonl", "labels.json"):
        assert (outs[0] / file).read_bytes() == (outs[1] / file).read_bytes()
