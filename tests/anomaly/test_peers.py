"""The peer reference: a device against the others of its model and mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from anomaly.engine import FaultEngine
from anomaly.peers import PeerReference
from device_adapters import NativeAdapter
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.spec import DeviceSpec, fault_plan
from gateway.pipeline import Pipeline
from tests.anomaly.conftest import run_fleet

GROUP = ("washing_machine", "XQG100-B14", None)


def _feed(peers: PeerReference, device: str, values: list[float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for value in values:
        out = peers.update(GROUP, device, {"drain_time_s": value})
    return out


def test_device_far_from_its_peers_deviates_and_the_others_do_not() -> None:
    rng = np.random.default_rng(3)
    peers = PeerReference(min_peers=8)
    for i in range(12):
        _feed(peers, f"wm-{i}", list(70.0 + rng.normal(0.0, 3.0, 4)))
    clogged = _feed(peers, "wm-clogged", [140.0, 150.0, 145.0])
    healthy = _feed(peers, "wm-0", [71.0])
    assert clogged["drain_time_s"] > 10.0
    assert abs(healthy["drain_time_s"]) < 2.0


def test_a_sparse_machines_first_cycles_speak_only_where_they_agree() -> None:
    rng = np.random.default_rng(3)
    peers = PeerReference(min_peers=8)
    for i in range(12):
        _feed(peers, f"wm-{i}", list(70.0 + rng.normal(0.0, 3.0, 4)))

    def first(device: str, values: list[float]) -> list[float | None]:
        return [
            peers.update(GROUP, device, {"drain_time_s": v}, scored=2).get("drain_time_s")
            for v in values
        ]

    slow = first("wm-slow", [140.0, 120.0])
    odd = first("wm-odd", [140.0, 70.0])
    # one cycle says nothing; two slow cycles agree on the less slow one
    assert slow[0] is None
    assert slow[1] is not None
    assert slow[1] > 10.0
    # one slow cycle, then a normal one: the normal one speaks
    assert odd[1] is not None
    assert abs(odd[1]) < 1.0
    # without ``scored`` a first cycle waits for a level
    assert peers.update(GROUP, "wm-new", {"drain_time_s": 140.0}) == {}


def test_too_few_peers_say_nothing() -> None:
    peers = PeerReference(min_peers=8)
    for i in range(5):
        _feed(peers, f"wm-{i}", [70.0, 71.0, 69.0])
    assert _feed(peers, "wm-odd", [200.0, 210.0, 205.0]) == {}


def test_identical_peers_do_not_turn_a_tiny_difference_into_a_fault() -> None:
    peers = PeerReference(min_peers=4)
    for i in range(8):
        _feed(peers, f"wm-{i}", [70.0, 70.0, 70.0])
    deviation = _feed(peers, "wm-x", [70.5, 70.5, 70.5])
    assert abs(deviation["drain_time_s"]) < 1.0  # the spread has a floor (1% of the level)


def test_device_that_alternates_modes_is_judged_on_its_latest_runs() -> None:
    rng = np.random.default_rng(7)
    peers = PeerReference(min_peers=8)
    quiet, turbo = ("robot_vacuum", "M1", "quiet"), ("robot_vacuum", "M1", "turbo")
    for i in range(10):
        for value in 6000.0 * rng.normal(1.0, 0.01, 3):
            peers.update(quiet, f"rv-{i}", {"fan": float(value)})
        for value in 12000.0 * rng.normal(1.0, 0.01, 3):
            peers.update(turbo, f"rv-{i}", {"fan": float(value)})
    for value in (12000.0, 12050.0, 11950.0):  # weeks of healthy turbo runs
        peers.update(turbo, "rv-x", {"fan": value})
    # then the filter clogs: two quiet runs and one turbo run, all 20% fast
    peers.update(quiet, "rv-x", {"fan": 7200.0})
    peers.update(quiet, "rv-x", {"fan": 7200.0})
    deviation = peers.update(turbo, "rv-x", {"fan": 14400.0})
    # its last three turbo runs alone have a healthy median; its last three runs do not
    assert deviation["fan"] > 10.0


def _pack(cycles: float, fade_extra: float = 0.0, noise: float = 1.0) -> dict[str, float]:
    return {"capacity": 5200.0 * (1.0 - 0.00012 * cycles) * (1.0 - fade_extra) * noise}


def test_aged_feature_is_compared_with_peers_of_the_same_age() -> None:
    rng = np.random.default_rng(11)
    peers = PeerReference(min_peers=8)
    group = ("robot_vacuum", "M1", None)
    aged = frozenset({"capacity"})
    for i, cycles in enumerate(np.linspace(50.0, 1200.0, 14)):
        for _ in range(3):
            peers.update(
                group,
                f"rv-{i}",
                _pack(cycles, noise=float(rng.normal(1.0, 0.02))),
                age=float(cycles),
                aged=aged,
            )
    old_and_healthy = {}
    young_and_fading = {}
    for _ in range(3):
        old_and_healthy = peers.update(group, "rv-old", _pack(1150.0), age=1150.0, aged=aged)
        young_and_fading = peers.update(
            group, "rv-young", _pack(200.0, fade_extra=0.15), age=200.0, aged=aged
        )
    assert abs(old_and_healthy["capacity"]) < 2.0
    assert young_and_fading["capacity"] < -5.0
    # without the age line the young pack's fading hides in the spread of ages
    blind = PeerReference(min_peers=8)
    for i, cycles in enumerate(np.linspace(50.0, 1200.0, 14)):
        for _ in range(3):
            blind.update(group, f"rv-{i}", _pack(cycles))
    naive_young = {}
    for _ in range(3):
        naive_young = blind.update(group, "rv-young", _pack(200.0, fade_extra=0.15))
    assert naive_young["capacity"] > -5.0


def test_memory_is_bounded_per_group() -> None:
    peers = PeerReference(max_devices=10)
    for i in range(50):
        _feed(peers, f"wm-{i}", [70.0])
    group = peers._groups[GROUP]
    assert len(group.recent) == 10
    assert len(group.levels) <= 10


def test_machine_already_worn_when_first_heard_is_found_against_its_peers() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    devices = tuple(
        DeviceSpec(
            device_id=f"wm-{i:06d}",
            kind="washing_machine",
            home_id=f"h-{i:06d}",
            model="XQG100-B14",
            fw="1.0.0",
            index=i,
            # worn for two months before the window opens: no baseline of its own can
            # hold the healthy drum
            fault=fault_plan("WM_DRUM_BEARING_WEAR", start - timedelta(days=60), 110)
            if i == 1
            else None,
        )
        for i in range(1, 21)
    )
    # households wash from twice a month to daily: 45 days gives most machines the
    # three cycles a level needs (seed 5: the worn one washes 22 times)
    fleet = Fleet(FleetSpec(devices=devices, start=start, days=45, seed=5))
    reports = run_fleet(fleet, Pipeline([NativeAdapter()], FaultEngine()))
    worn = [r for r in reports if r.device_id == "wm-000001"]
    assert [r.fault_code for r in worn] == ["WM_DRUM_BEARING_WEAR"]
    assert worn[0].evidence["detector"] == "peer_reference"
    assert worn[0].evidence["peer_deviation"]["drum_vibration_rms_g"] >= 5.0
    failure_at = fleet.labels()["wm-000001"]["failure_at"]
    assert failure_at is not None
    assert worn[0].detected_at < datetime.fromisoformat(failure_at)
    assert [r for r in reports if r.device_id != "wm-000001"] == []
