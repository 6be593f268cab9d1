"""SENSOR_STUCK freezes one metric; DEVICE_OFFLINE stops the messages."""

from __future__ import annotations

import numpy as np
import pytest

from aftercare.catalog import default_catalog
from firmware_sim.sensors import STUCK_CANDIDATES
from tests.firmware_sim.conftest import one_device_fleet

KINDS = sorted(default_catalog().kinds)


@pytest.mark.parametrize("kind", KINDS)
def test_sensor_stuck_freezes_exactly_one_metric_from_the_onset(kind: str) -> None:
    fleet = one_device_fleet(kind, "SENSOR_STUCK", days=14)
    rec = fleet.recording("dev-000001")
    twin = fleet.healthy_twin("dev-000001")
    fault = rec.spec.fault
    assert fault is not None
    assert fault.sudden
    stuck = rec.reported.stuck_metric
    assert stuck in STUCK_CANDIDATES[kind]
    assert rec.failure_at == fault.onset
    after = rec.reported.t >= fault.onset
    frozen = rec.reported.metrics[stuck][after]
    assert len(frozen) >= 3
    assert np.unique(frozen).size == 1
    assert np.unique(twin.reported.metrics[stuck][after]).size > 1
    for name, values in rec.reported.metrics.items():
        if name != stuck:
            assert (values == twin.reported.metrics[name]).all(), name
    assert fleet.labels()["dev-000001"]["stuck_metric"] == stuck


@pytest.mark.parametrize("kind", KINDS)
def test_device_offline_stops_every_delivery_at_the_onset(kind: str) -> None:
    fleet = one_device_fleet(kind, "DEVICE_OFFLINE", days=14)
    rec = fleet.recording("dev-000001")
    fault = rec.spec.fault
    assert fault is not None
    assert len(rec.deliveries.at) > 0
    assert (rec.reported.t[rec.deliveries.row] < fault.onset).all()
    messages = list(fleet.messages())
    assert messages
    assert max(m.ts.timestamp() for m in messages) < fault.onset + 60
    offline_after = default_catalog().kind(kind).offline_after_s
    assert rec.failure_at == fault.onset + offline_after
