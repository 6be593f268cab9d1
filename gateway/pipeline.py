"""The gateway's pipeline: bytes → telemetry → fault reports, sans-IO.

The same object runs behind live MQTT and serial ingest, ``aftercare replay`` and the
demo, so what a recording produces is what the hub would have done. It does no I/O and
reads no clock: the caller passes the time of receipt, and ``sweep(now)`` for the
time-driven rules (a device falling silent).

Per message it:
1. routes the topic to an adapter (exact topics in a dict, wildcard filters in a list,
   matched once and cached, as Home Assistant's MQTT client does). Adapters that learn
   topics at run time (Home Assistant discovery: a config names its state topic) are
   asked for them after each message they claim through a static filter; a learned topic
   routes after the static exact topics and before the wildcard filters, and
   :attr:`Pipeline.learned_version` changes so the MQTT ingest subscribes to it;
2. decodes and validates (adapters raise :class:`PayloadRejected`);
3. drops duplicates (same device and ``seq``, or without one the same device, timestamp
   and values);
4. flags late telemetry (older than the device's newest by more than ``lateness_s``):
   it is kept for the store but not shown to the detectors, which need causal order;
5. feeds the detectors and returns what they diagnosed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

from anomaly.fault_report import FaultReport
from device_adapters import DeviceAdapter, PayloadRejected, RejectReason, Telemetry, topic_matches

__all__ = ["FaultDetector", "LearnsTopics", "Outcome", "Pipeline"]

_OK: Final = "ok"


class FaultDetector(Protocol):
    """What the pipeline needs from detection (``anomaly`` provides it)."""

    def observe(self, telemetry: Telemetry) -> list[FaultReport]:
        """Learn from and score one in-order report; return newly diagnosed faults."""
        ...

    def sweep(self, now: datetime) -> list[FaultReport]:
        """Apply time-driven rules (silence) at ``now``; return newly diagnosed faults."""
        ...


@runtime_checkable
class LearnsTopics(Protocol):
    """An adapter whose topics are only known at run time (``HaDiscoveryAdapter``)."""

    def state_topics(self) -> frozenset[str]:
        """Every topic learned so far: what the gateway must also subscribe to."""
        ...


@dataclass(slots=True)
class Outcome:
    """What became of one message.

    Attributes:
        adapter: the adapter that claimed the topic (``none`` when none did).
        result: ``ok`` or the reject reason (the ``result`` label of the message counter).
        telemetry: accepted telemetry, late ones included (the store wants them).
        late: how many of those were late and were not shown to the detectors.
        faults: faults diagnosed because of this message.
        error: the rejection, when the message was refused.
    """

    adapter: str
    result: str = _OK
    telemetry: list[Telemetry] = field(default_factory=list)
    late: int = 0
    faults: list[FaultReport] = field(default_factory=list)
    error: PayloadRejected | None = None


class _SeenWindow:
    """The last ``size`` message identities of one device, for duplicate detection."""

    __slots__ = ("keys", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.keys: OrderedDict[object, None] = OrderedDict()

    def seen_before(self, key: object) -> bool:
        if key in self.keys:
            return True
        self.keys[key] = None
        if len(self.keys) > self.size:
            self.keys.popitem(last=False)
        return False


class Pipeline:
    """Routes, decodes, de-duplicates and detects.

    Args:
        adapters: the configured adapters; each claims its ``topic_filters``.
        detector: the detection engine.
        lateness_s: telemetry older than a device's newest by more than this is late.
        dedup_window: how many recent message identities are remembered per device.
        max_devices: bound on per-device bookkeeping; the least recently seen is evicted.
    """

    def __init__(
        self,
        adapters: Sequence[DeviceAdapter],
        detector: FaultDetector,
        *,
        lateness_s: float = 600.0,
        dedup_window: int = 64,
        max_devices: int = 100_000,
    ) -> None:
        self.adapters = {a.name: a for a in adapters}
        self.detector = detector
        self.lateness = timedelta(seconds=lateness_s)
        self.dedup_window = dedup_window
        self.max_devices = max_devices
        self._exact: dict[str, DeviceAdapter] = {}
        self._wildcards: list[tuple[str, DeviceAdapter]] = []
        for adapter in adapters:
            for topic_filter in adapter.topic_filters:
                if "+" in topic_filter or "#" in topic_filter:
                    self._wildcards.append((topic_filter, adapter))
                else:
                    self._exact[topic_filter] = adapter
        self._learners: list[tuple[DeviceAdapter, LearnsTopics]] = [
            (a, a) for a in adapters if isinstance(a, LearnsTopics)
        ]
        self._learner_ids = frozenset(id(a) for a, _ in self._learners)
        self._learned: dict[str, DeviceAdapter] = {}
        self.learned_version = 0
        self._route_cache: OrderedDict[str, DeviceAdapter | None] = OrderedDict()
        self._seen: OrderedDict[str, _SeenWindow] = OrderedDict()
        self._newest: dict[str, datetime] = {}

    @property
    def topic_filters(self) -> list[str]:
        """Every filter the adapters claim: what the MQTT ingest subscribes to."""
        return [*self._exact, *(f for f, _ in self._wildcards)]

    @property
    def learned_topics(self) -> frozenset[str]:
        """Topics the adapters learned at run time (see :attr:`learned_version`)."""
        return frozenset(self._learned)

    def route(self, topic: str) -> DeviceAdapter | None:
        """The adapter that claims ``topic``, or ``None``."""
        cached = self._route_cache.get(topic, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]  # _MISSING is never stored
        adapter = self._exact.get(topic) or self._learned.get(topic)
        if adapter is None:
            adapter = next((a for f, a in self._wildcards if topic_matches(f, topic)), None)
        self._route_cache[topic] = adapter
        if len(self._route_cache) > self.max_devices * 4:
            self._route_cache.popitem(last=False)
        return adapter

    def handle(self, topic: str, payload: bytes, received_at: datetime) -> Outcome:
        """Process one MQTT message (or one serial frame, with ``topic`` its channel)."""
        adapter = self.route(topic)
        if adapter is None:
            error = PayloadRejected(RejectReason.UNKNOWN_TOPIC, f"no adapter for {topic!r}")
            return Outcome("none", error.reason.value, error=error)
        return self.handle_with(adapter, topic, payload, received_at)

    def handle_with(
        self, adapter: DeviceAdapter, topic: str, payload: bytes, received_at: datetime
    ) -> Outcome:
        """Process one message with a known adapter (serial ingest knows its protocol)."""
        outcome = Outcome(adapter.name)
        try:
            decoded = adapter.decode(topic, payload, received_at)
        except PayloadRejected as exc:
            outcome.result, outcome.error = exc.reason.value, exc
            return outcome
        finally:
            # a discovery config arrives on a static filter and may add or remove topics,
            # even when it is then refused (the old entity is forgotten first)
            if id(adapter) in self._learner_ids and topic not in self._learned:
                self._refresh_learned()
        duplicates = 0
        for telemetry in decoded:
            if self._is_duplicate(telemetry):
                duplicates += 1
                continue
            outcome.telemetry.append(telemetry)
            if self._is_late(telemetry):
                outcome.late += 1
                continue
            outcome.faults.extend(self.detector.observe(telemetry))
        if decoded and duplicates == len(decoded):
            device = decoded[0].device_id
            outcome.error = PayloadRejected(
                RejectReason.DUPLICATE, "already seen (same seq or timestamp)", device_id=device
            )
            outcome.result = RejectReason.DUPLICATE.value
        return outcome

    def sweep(self, now: datetime) -> list[FaultReport]:
        """Run the detectors' time-driven rules at ``now``."""
        return self.detector.sweep(now)

    def replay(self, messages: Iterable[tuple[str, bytes, datetime]]) -> Iterable[Outcome]:
        """Process messages in order, sweeping with each message's time as the clock."""
        for topic, payload, received_at in messages:
            outcome = self.handle(topic, payload, received_at)
            outcome.faults.extend(self.sweep(received_at))
            yield outcome

    def _refresh_learned(self) -> None:
        learned: dict[str, DeviceAdapter] = {}
        for adapter, learner in self._learners:
            for topic in learner.state_topics():
                learned.setdefault(topic, adapter)
        if learned.keys() != self._learned.keys():
            self._learned = learned
            self._route_cache.clear()  # a topic refused as unknown may be claimed now
            self.learned_version += 1

    def _is_duplicate(self, telemetry: Telemetry) -> bool:
        window = self._seen.get(telemetry.device_id)
        if window is None:
            window = self._seen[telemetry.device_id] = _SeenWindow(self.dedup_window)
            if len(self._seen) > self.max_devices:
                evicted, _ = self._seen.popitem(last=False)
                self._newest.pop(evicted, None)
        else:
            self._seen.move_to_end(telemetry.device_id)
        if telemetry.seq is not None:
            key: object = telemetry.seq
        else:
            # without a seq the identity is the instant and the values: formats that carry
            # no timestamp are stamped with the batch's receipt time, and two different
            # reports in one batch must not look like a repeat of each other
            key = (telemetry.ts, tuple(telemetry.metrics.items()), tuple(telemetry.state.items()))
        return window.seen_before(key)

    def _is_late(self, telemetry: Telemetry) -> bool:
        newest = self._newest.get(telemetry.device_id)
        if newest is None or telemetry.ts >= newest:
            self._newest[telemetry.device_id] = telemetry.ts
            return False
        # slightly out-of-order telemetry still reaches the detectors (they tolerate it);
        # beyond the window it would distort causal state, so it only goes to the store
        return newest - telemetry.ts > self.lateness


_MISSING: Final = object()
