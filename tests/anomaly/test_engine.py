"""The fault engine on simulated appliances and on hand-made streams."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from anomaly.engine import FaultEngine
from anomaly.fault_report import FaultReport
from device_adapters import Telemetry

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _fridge(i: int, *, temp: float | None = None, device: str = "fr-000001") -> Telemetry:
    ts = T0 + timedelta(minutes=5 * i)
    return Telemetry(
        device_id=device,
        ts=ts,
        metrics={
            "fridge_temp_c": temp
            if temp is not None
            else round(4 + math.sin(i / 7) + 0.1 * (i % 3), 2),
            "freezer_temp_c": round(-18 + 0.5 * math.cos(i / 5), 2),
            "ambient_temp_c": round(24 + 2 * math.sin(i / 100), 2),
            "compressor_duty_pct": round(40 + 5 * math.sin(i / 11), 1),
        },
        home_id="h-000001",
        kind="refrigerator",
        seq=i,
    )


def test_clogged_ac_filter_is_ticketed_before_failure_with_its_part(
    ac_trio_run: tuple[dict[str, Any], list[FaultReport]],
) -> None:
    labels, reports = ac_trio_run
    filter_tickets = [r for r in reports if r.fault_code == "AC_FILTER_CLOGGED"]
    assert [r.device_id for r in filter_tickets] == ["ac-000001"]
    ticket = filter_tickets[0]
    onset = datetime.fromisoformat(labels["ac-000001"]["onset"].replace("Z", "+00:00"))
    assert ticket.detected_at > onset
    if labels["ac-000001"]["failure_at"] is not None:
        failure = datetime.fromisoformat(labels["ac-000001"]["failure_at"].replace("Z", "+00:00"))
        assert ticket.detected_at < failure
    assert [(p.sku, p.qty) for p in ticket.parts] == [("AC-FILTER", 1)]
    assert ticket.predicted_failure_at is not None
    assert ticket.predicted_failure_at > ticket.detected_at


def test_healthy_twins_raise_nothing(ac_trio_run: tuple[dict[str, Any], list[FaultReport]]) -> None:
    _, reports = ac_trio_run
    assert [r for r in reports if r.device_id != "ac-000001"] == []


def test_fault_episode_raises_one_ticket(
    ac_trio_run: tuple[dict[str, Any], list[FaultReport]],
) -> None:
    _, reports = ac_trio_run
    assert len([r for r in reports if r.device_id == "ac-000001"]) == 1


def test_ticket_evidence_is_small_json_with_a_series(
    ac_trio_run: tuple[dict[str, Any], list[FaultReport]],
) -> None:
    _, reports = ac_trio_run
    evidence = reports[0].to_json()["evidence"]
    assert evidence["drift"]["airflow_ratio"] > 0
    assert evidence["series"]["feature"] == "airflow_ratio"
    assert len(evidence["series"]["points"]) >= 5
    assert evidence["trend"]["method"] in {"trend", "course"}


def test_silent_device_raises_device_offline_once() -> None:
    engine = FaultEngine()
    for i in range(20):
        assert engine.observe(_fridge(i)) == []
    last = T0 + timedelta(minutes=5 * 19)
    assert engine.sweep(last + timedelta(minutes=80)) == []
    reports = engine.sweep(last + timedelta(hours=2))
    assert [r.fault_code for r in reports] == ["DEVICE_OFFLINE"]
    assert reports[0].detected_at == last + timedelta(hours=2)
    assert engine.sweep(last + timedelta(hours=5)) == []


def test_device_that_comes_back_briefly_stays_one_offline_episode() -> None:
    engine = FaultEngine()
    for i in range(20):
        engine.observe(_fridge(i))
    assert len(engine.sweep(T0 + timedelta(hours=5))) == 1
    engine.observe(_fridge(60))
    assert engine.sweep(T0 + timedelta(hours=9)) == []


def test_frozen_sensor_raises_sensor_stuck_once() -> None:
    engine = FaultEngine()
    reports: list[FaultReport] = []
    for i in range(600):
        reports += engine.observe(_fridge(i))
    assert reports == []
    for i in range(600, 900):
        reports += engine.observe(_fridge(i, temp=5.55))
    assert [r.fault_code for r in reports] == ["SENSOR_STUCK"]
    assert reports[0].evidence["metric"] == "fridge_temp_c"
    assert reports[0].parts == ()


def test_detected_at_is_the_telemetry_time() -> None:
    engine = FaultEngine()
    reports: list[FaultReport] = []
    for i in range(900):
        reports += engine.observe(_fridge(i, temp=5.55 if i >= 600 else None))
    stuck_at = reports[0].detected_at
    assert T0 + timedelta(minutes=5 * 600) < stuck_at <= T0 + timedelta(minutes=5 * 900)


def test_unknown_kind_is_watched_without_diagnosis() -> None:
    engine = FaultEngine()
    for i in range(400):
        tel = Telemetry("x-1", T0 + timedelta(minutes=5 * i), {"a": float(i % 7)}, kind="toaster")
        assert engine.observe(tel) == []
