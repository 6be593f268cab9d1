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


def test_reports_without_seq_at_one_instant_are_duplicates_only_when_their_values_repeat() -> None:
    # formats without a device timestamp are stamped with the batch's receipt time
    detector = RecordingDetector()
    pipeline = Pipeline([NativeAdapter()], detector)

    def unsequenced(temp: float) -> tuple[str, bytes]:
        topic, payload = _message(0, 0)
        body = orjson.loads(payload)
        del body["seq"]
        body["metrics"] = {"fridge_temp_c": temp}
        return topic, orjson.dumps(body)

    assert fire_message(pipeline, *unsequenced(4.0)) == "ok"
    assert fire_message(pipeline, *unsequenced(5.0)) == "ok"
    assert fire_message(pipeline, *unsequenced(5.0)) == "duplicate"
    assert [t.metrics["fridge_temp_c"] for t in detector.seen] == [4.0, 5.0]


def test_state_topics_learned_from_discovery_route_to_the_discovery_adapter() -> None:
    from device_adapters import HaDiscoveryAdapter
    from device_adapters.ha_announce import discovery_messages, removal_messages

    detector = RecordingDetector()
    pipeline = Pipeline([NativeAdapter(), HaDiscoveryAdapter(home_id="h-000001")], detector)
    state = ("bridge/fr-000009/state", orjson.dumps({"fridge_temp_c": 3.5}))
    assert fire_message(pipeline, *state) == "unknown_topic"
    assert pipeline.learned_version == 0
    configs = discovery_messages(
        device_id="fr-000009",
        kind="refrigerator",
        model=_fridge_model(),
        state_topic=state[0],
        value_path=(),
    )
    assert {fire_message(pipeline, *c) for c in configs} == {"ok"}
    assert pipeline.learned_topics == {state[0]}
    assert pipeline.learned_version == 1  # changed once, not once per config
    assert fire_message(pipeline, *state) == "ok"  # the cached "unknown" was forgotten
    assert [t.metrics for t in detector.seen] == [{"fridge_temp_c": 3.5}]
    for topic, payload in removal_messages(device_id="fr-000009", kind="refrigerator"):
        fire_message(pipeline, topic, payload)
    assert pipeline.learned_topics == frozenset()
    assert fire_message(pipeline, *state) == "unknown_topic"


def _fridge_model() -> str:
    from aftercare.catalog import default_catalog

    return default_catalog().models_for("refrigerator")[0].model
