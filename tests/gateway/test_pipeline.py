"""The sans-IO gateway pipeline: routing, rejection, de-duplication, lateness, detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from anomaly.fault_report import FaultReport
from device_adapters import NativeAdapter, Telemetry
from gateway.pipeline import Pipeline

T0 = datetime(2026, 6, 1, tzinfo=UTC)


class RecordingDetector:
    """Remembers what it was shown; raises nothing."""

    def __init__(self) -> None:
        self.seen: list[Telemetry] = []
        self.swept: list[datetime] = []

    def observe(self, telemetry: Telemetry) -> list[FaultReport]:
        self.seen.append(telemetry)
        return []

    def sweep(self, now: datetime) -> list[FaultReport]:
        self.swept.append(now)
        return []


def _message(seq: int, minutes: float, device: str = "fr-000001") -> tuple[str, bytes]:
    body = {
        "device_id": device,
        "home_id": "h-000001",
        "kind": "refrigerator",
        "ts": (T0 + timedelta(minutes=minutes)).isoformat(),
        "seq": seq,
        "metrics": {"fridge_temp_c": 4.0},
    }
    return f"aftercare/h-000001/{device}/telemetry", orjson.dumps(body)


def fire_message(pipeline: Pipeline, topic: str, payload: bytes) -> str:
    return pipeline.handle(topic, payload, T0).result


def test_native_telemetry_reaches_the_detector() -> None:
    detector = RecordingDetector()
    pipeline = Pipeline([NativeAdapter()], detector)
    assert fire_message(pipeline, *_message(1, 0)) == "ok"
    assert [t.device_id for t in detector.seen] == ["fr-000001"]


def test_topic_filters_are_the_adapters_claims() -> None:
    pipeline = Pipeline([NativeAdapter()], RecordingDetector())
    assert set(pipeline.topic_filters) == set(NativeAdapter.topic_filters)


def test_unclaimed_topic_is_rejected_as_unknown_topic() -> None:
    pipeline = Pipeline([NativeAdapter()], RecordingDetector())
    assert fire_message(pipeline, "zigbee2mqtt/lamp", b"{}") == "unknown_topic"


def test_bad_json_is_rejected_with_its_reason() -> None:
    pipeline = Pipeline([NativeAdapter()], RecordingDetector())
    assert fire_message(pipeline, "aftercare/h-1/fr-1/telemetry", b"{nope") == "bad_json"


def test_repeated_seq_is_a_duplicate_and_not_detected_twice() -> None:
    detector = RecordingDetector()
    pipeline = Pipeline([NativeAdapter()], detector)
    topic, payload = _message(7, 0)
    assert fire_message(pipeline, topic, payload) == "ok"
    assert fire_message(pipeline, topic, payload) == "duplicate"
    assert len(detector.seen) == 1


def test_late_telemetry_is_kept_but_not_detected() -> None:
    detector = RecordingDetector()
    pipeline = Pipeline([NativeAdapter()], detector, lateness_s=600)
    fire_message(pipeline, *_message(2, 60))
    outcome = pipeline.handle(*_message(1, 0), T0)
    assert outcome.result == "ok"
    assert outcome.late == 1
    assert len(outcome.telemetry) == 1
    assert len(detector.seen) == 1


def test_slightly_out_of_order_telemetry_still_reaches_the_detector() -> None:
    detector = RecordingDetector()
    pipeline = Pipeline([NativeAdapter()], detector, lateness_s=600)
    fire_message(pipeline, *_message(2, 5))
    fire_message(pipeline, *_message(1, 0))
    assert len(detector.seen) == 2


def test_replay_sweeps_with_each_message_time() -> None:
    detector = RecordingDetector()
    pipeline = Pipeline([NativeAdapter()], detector)
    messages = [(*_message(i, 5 * i), T0 + timedelta(minutes=5 * i)) for i in range(3)]
    outcomes = list(pipeline.replay(messages))
    assert [o.result for o in outcomes] == ["ok", "ok", "ok"]
    assert detector.swept == [T0 + timedelta(minutes=5 * i) for i in range(3)]
