"""A fleet from a seed: homes, devices, faults, and the messages they send in time order.

:class:`FleetSpec` says which devices exist (explicitly, or drawn from a seed by
:meth:`FleetSpec.random`); :class:`Fleet` simulates them lazily and deterministically,
gives the ground-truth labels, and merges every device's deliveries into one
time-ordered stream (:meth:`Fleet.messages`), the source of both the export and the
live publisher.

Random streams are keyed by (seed, purpose, number), never drawn in sequence across
devices, so a device's signals do not change when another device is added, and a faulty
device and its healthy twin (same spec without the fault) share weather, usage and
manufacturing spread.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

import numpy as np

from aftercare.catalog import Catalog, default_catalog
from aftercare.clock import ensure_utc
from device_adapters import native_topic
from firmware_sim.core import DAY, IntArray, Series
from firmware_sim.devices import KIND_PREFIX, MODELS
from firmware_sim.faults import FaultPlan, plan_random_fault
from firmware_sim.formats import ENCODERS, FormatEncoder
from firmware_sim.sensors import STUCK_CANDIDATES, measure
from firmware_sim.spec import DeviceSpec, Profile, SimContext, WireFormat
from firmware_sim.usage import Household
from firmware_sim.weather import Climate, Weather
from firmware_sim.wire import Artefacts, Deliveries, NativeEncoder, deliveries

__all__ = ["DEFAULT_START", "Fleet", "FleetSpec", "Recording", "SimMessage", "SimPublication"]

DEFAULT_START: Final = datetime(2026, 6, 1, tzinfo=UTC)
_UNUSUAL: Final[dict[str, tuple[Profile, ...]]] = {
    "air_conditioner": (Profile.HOT_ATTIC, Profile.ODD_SETPOINT),
    "refrigerator": (Profile.HEAVY_USER, Profile.ODD_SETPOINT, Profile.GARAGE),
    "washing_machine": (Profile.HEAVY_USER,),
    "water_purifier": (Profile.HEAVY_USER,),
    "water_heater": (Profile.HEAVY_USER, Profile.ODD_SETPOINT),
    "robot_vacuum": (Profile.HEAVY_USER,),
}
# stream purposes for np.random.default_rng([seed, purpose, number])
_HOME, _DEVICE, _NETWORK, _SENSOR, _PLAN = 1, 2, 3, 4, 5


class SimMessage(NamedTuple):
    """One MQTT message: where, what, and when it is delivered."""

    topic: str
    payload: bytes
    ts: datetime


class SimPublication(NamedTuple):
    """A :class:`SimMessage` with the device that sends it and its retain flag."""

    topic: str
    payload: bytes
    ts: datetime
    retain: bool
    device_id: str


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """Which devices exist and the window they are simulated over.

    Attributes:
        devices: the devices.
        start: window start (UTC).
        days: window length.
        seed: the seed of every random stream.
        artefacts: network artefact rates (missing, duplicate, out-of-order samples).
    """

    devices: tuple[DeviceSpec, ...]
    start: datetime = DEFAULT_START
    days: float = 60.0
    seed: int = 0
    artefacts: Artefacts = field(default_factory=Artefacts)

    @classmethod
    def random(
        cls,
        n_devices: int,
        *,
        days: float = 60.0,
        seed: int = 0,
        start: datetime = DEFAULT_START,
        fault_share: float = 0.375,
        unusual_share: float = 0.15,
        formats: Sequence[WireFormat] = (WireFormat.NATIVE,),
        catalog: Catalog | None = None,
    ) -> FleetSpec:
        """A fleet drawn from ``seed``: all six kinds, homes of 1-4 devices, faults spread.

        ``fault_share`` of the devices get a fault, cycling through every fault code of
        their kind plus ``SENSOR_STUCK`` and ``DEVICE_OFFLINE``; onsets are spread so
        that many failures land inside the window. ``formats`` are assigned round-robin.
        """
        catalog = catalog or default_catalog()
        rng = np.random.default_rng([seed, _PLAN, 0])
        start = ensure_utc(start)
        t0 = start.timestamp()
        kinds = list(MODELS)
        order = [kinds[i % len(kinds)] for i in range(n_devices)]
        rng.shuffle(order)
        n_faulty = round(n_devices * fault_share)
        faulty = set(rng.permutation(n_devices)[:n_faulty].tolist())
        next_code: dict[str, int] = {}
        devices: list[DeviceSpec] = []
        home = 0
        left_in_home = 0
        for i, kind in enumerate(order):
            if left_in_home == 0:
                home += 1
                left_in_home = int(rng.integers(1, 5))
            left_in_home -= 1
            models = catalog.models_for(kind)
            model = models[int(rng.integers(0, len(models)))]
            fault: FaultPlan | None = None
            profile = Profile.NORMAL
            if i in faulty:
                codes = [f.code for f in catalog.faults_for(kind)]
                k = next_code.get(kind, int(rng.integers(0, len(codes))))
                next_code[kind] = k + 1
                fault = plan_random_fault(catalog, codes[k % len(codes)], t0, days, rng)
            elif rng.random() < unusual_share:
                options = _UNUSUAL[kind]
                profile = options[int(rng.integers(0, len(options)))]
            devices.append(
                DeviceSpec(
                    device_id=f"{KIND_PREFIX[kind]}-{i + 1:06d}",
                    kind=kind,
                    home_id=f"h-{home:06d}",
                    model=model.model,
                    fw=model.firmware[int(rng.integers(0, len(model.firmware)))],
                    profile=profile,
                    fault=fault,
                    purchase_date=(start - timedelta(days=int(rng.integers(20, 1400)))).date(),
                    wire_format=formats[i % len(formats)],
                    index=i + 1,
                )
            )
        return cls(devices=tuple(devices), start=start, days=days, seed=seed)

    @property
    def t0(self) -> float:
        """Window start, epoch seconds."""
        return ensure_utc(self.start).timestamp()

    @property
    def t1(self) -> float:
        """Window end, epoch seconds."""
        return self.t0 + self.days * DAY


@dataclass(slots=True)
class Recording:
    """One simulated device: its true and reported signals and its delivery schedule."""

    spec: DeviceSpec
    true: Series
    reported: Series
    deliveries: Deliveries
    failure_at: float | None


class Fleet:
    """A simulated fleet; devices are simulated on first use and cached.

    Args:
        spec: the fleet.
        catalog: the catalog (default: the shipped one).
    """

    def __init__(self, spec: FleetSpec, catalog: Catalog | None = None) -> None:
        self.spec = spec
        self.catalog = catalog or default_catalog()
        self._by_id = {d.device_id: d for d in spec.devices}
        if len(self._by_id) != len(spec.devices):
            raise ValueError("device ids must be unique")
        self._homes: dict[str, tuple[Weather, Household]] = {}
        self._recordings: dict[str, Recording] = {}

    @property
    def devices(self) -> tuple[DeviceSpec, ...]:
        """The fleet's devices."""
        return self.spec.devices

    def device(self, device_id: str) -> DeviceSpec:
        """The device called ``device_id``."""
        return self._by_id[device_id]

    def _home(self, home_id: str) -> tuple[Weather, Household]:
        cached = self._homes.get(home_id)
        if cached is None:
            number = int("".join(ch for ch in home_id if ch.isdigit()) or "0")
            rng = np.random.default_rng([self.spec.seed, _HOME, number])
            climate = Climate.draw(rng)
            weather = Weather(climate, self.spec.t0, self.spec.t1, rng)
            household = Household.draw(rng, self.spec.t0, self.spec.t1, climate.utc_offset_h)
            cached = (weather, household)
            self._homes[home_id] = cached
        return cached

    def context(self, device: DeviceSpec) -> SimContext:
        """The simulation context of ``device`` (its own streams, its home's weather)."""
        weather, household = self._home(device.home_id)
        purchase = device.purchase_date or (self.spec.start - timedelta(days=365)).date()
        age = max((self.spec.start.date() - purchase).days, 0)
        return SimContext(
            spec=device,
            t0=self.spec.t0,
            t1=self.spec.t1,
            rng=np.random.default_rng([self.spec.seed, _DEVICE, device.index]),
            weather=weather,
            household=household,
            age_days=float(age),
        )

    def recording(self, device_id: str) -> Recording:
        """The simulated recording of one device."""
        cached = self._recordings.get(device_id)
        if cached is None:
            cached = self._simulate(self._by_id[device_id])
            self._recordings[device_id] = cached
        return cached

    def _simulate(self, device: DeviceSpec) -> Recording:
        kind = self.catalog.kind(device.kind)
        true = MODELS[device.kind](self.context(device))
        fault = device.fault
        sensor_rng = np.random.default_rng([self.spec.seed, _SENSOR, device.index])
        stuck_metric: str | None = None
        failure_at = true.failure_at
        offline_from: float | None = None
        candidates = STUCK_CANDIDATES[device.kind]
        pick = int(sensor_rng.integers(0, len(candidates)))
        if fault is not None and fault.code == "SENSOR_STUCK":
            stuck_metric = candidates[pick]
            failure_at = fault.onset
        elif fault is not None and fault.code == "DEVICE_OFFLINE":
            offline_from = fault.onset
            failure_at = fault.onset + kind.offline_after_s
        reported = measure(true, sensor_rng, stuck_metric=stuck_metric, stuck_from=_onset(fault))
        net_rng = np.random.default_rng([self.spec.seed, _NETWORK, device.index])
        schedule = deliveries(
            reported,
            net_rng,
            self.spec.artefacts,
            interval_s=float(kind.interval_s) if kind.interval_s < DAY else 3600.0,
            offline_from=offline_from,
            seq0=int(net_rng.integers(1, 50_000)),
        )
        return Recording(device, true, reported, schedule, failure_at)

    def healthy_twin(self, device_id: str) -> Recording:
        """The same device without its fault: same weather, usage, spread and network."""
        device = replace(self._by_id[device_id], fault=None)
        return self._simulate(device)

    def labels(self) -> dict[str, dict[str, Any]]:
        """Ground truth per device (``labels.json``)."""
        out: dict[str, dict[str, Any]] = {}
        for device in self.devices:
            rec = self.recording(device.device_id)
            fault = device.fault
            failure = rec.failure_at
            if fault is not None and failure is not None and failure > self.spec.t1:
                failure = None
            out[device.device_id] = {
                "kind": device.kind,
                "model": device.model,
                "fw": device.fw,
                "home_id": device.home_id,
                "fault_code": fault.code if fault else None,
                "onset": _rfc3339(fault.onset) if fault else None,
                "failure_at": _rfc3339(failure) if failure is not None else None,
                "sudden": bool(fault.sudden) if fault else False,
                "profile": str(device.profile),
                "stuck_metric": rec.reported.stuck_metric,
                "purchase_date": device.purchase_date.isoformat() if device.purchase_date else None,
            }
        return out

    def messages(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[SimMessage]:
        """Every delivery in ``[start, end)`` in delivery-time order: ``(topic, payload, ts)``."""
        for pub in self.publications(start, end):
            yield SimMessage(pub.topic, pub.payload, pub.ts)

    def publications(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        chunk: int = 50_000,
    ) -> Iterator[SimPublication]:
        """Like :meth:`messages`, with each message's device and retain flag."""
        order, dev, pos, recs = self._merged(start, end)
        encoders: dict[int, _DeviceEncoder] = {}
        for begin in range(0, len(order), chunk):
            part = order[begin : begin + chunk]
            yield from self._encode_chunk(part, dev, pos, recs, encoders)

    def native_payload_batches(self, *, chunk: int = 50_000) -> Iterator[list[bytes]]:
        """Every delivery as a native payload, in delivery order, in batches (the export path).

        Every device is encoded natively here, whatever its live ``wire_format``.
        """
        order, dev, pos, recs = self._merged(None, None)
        encoders: dict[int, NativeEncoder] = {}
        for begin in range(0, len(order), chunk):
            part = order[begin : begin + chunk]
            out: list[bytes] = [b""] * len(part)
            by_dev = np.argsort(dev[part], kind="stable")
            bounds = np.flatnonzero(np.diff(dev[part][by_dev])) + 1
            for group in np.split(by_dev, bounds):
                if not len(group):
                    continue
                d = int(dev[part[group[0]]])
                enc = encoders.get(d)
                if enc is None:
                    enc = NativeEncoder(_identity(recs[d].spec), recs[d].reported)
                    encoders[d] = enc
                sel = pos[part[group]]
                schedule = recs[d].deliveries
                payloads = enc.encode(schedule.row[sel], schedule.seq[sel])
                for slot, payload in zip(group.tolist(), payloads, strict=True):
                    out[slot] = payload
            yield out

    def _merged(
        self, start: datetime | None, end: datetime | None
    ) -> tuple[IntArray, IntArray, IntArray, list[Recording]]:
        """All deliveries in ``[start, end)``: merge order, device number, position."""
        lo = ensure_utc(start).timestamp() if start else -np.inf
        hi = ensure_utc(end).timestamp() if end else np.inf
        at_parts: list[np.ndarray] = [np.zeros(0)]
        dev_parts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        pos_parts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        recs = [self.recording(d.device_id) for d in self.devices]
        for i, rec in enumerate(recs):
            sel = np.flatnonzero((rec.deliveries.at >= lo) & (rec.deliveries.at < hi))
            at_parts.append(rec.deliveries.at[sel])
            dev_parts.append(np.full(len(sel), i, dtype=np.int64))
            pos_parts.append(sel)
        at = np.concatenate(at_parts)
        dev = np.concatenate(dev_parts)
        pos = np.concatenate(pos_parts)
        order = np.lexsort((dev, at)).astype(np.int64)
        return order, dev, pos, recs

    def _encode_chunk(
        self,
        part: IntArray,
        dev: np.ndarray,
        pos: np.ndarray,
        recs: list[Recording],
        encoders: dict[int, _DeviceEncoder],
    ) -> Iterator[SimPublication]:
        payloads: list[list[SimPublication]] = [[] for _ in range(len(part))]
        by_dev = np.argsort(dev[part], kind="stable")
        devs_sorted = dev[part][by_dev]
        bounds = np.flatnonzero(np.diff(devs_sorted)) + 1
        for group in np.split(by_dev, bounds):
            if not len(group):
                continue
            d = int(dev[part[group[0]]])
            enc = encoders.get(d)
            if enc is None:
                enc = _DeviceEncoder(recs[d], self.catalog)
                encoders[d] = enc
            sel = pos[part[group]]
            for slot, msgs in zip(group.tolist(), enc.encode(sel), strict=True):
                payloads[slot] = msgs
        for msgs in payloads:
            yield from msgs


class _DeviceEncoder:
    """Encodes one device's deliveries in its wire format."""

    def __init__(self, rec: Recording, catalog: Catalog) -> None:
        self.rec = rec
        spec = rec.spec
        self.fmt = spec.wire_format
        self.topic = native_topic(spec.home_id, spec.device_id)
        if self.fmt is WireFormat.NATIVE:
            self.native: NativeEncoder | None = NativeEncoder(_identity(spec), rec.reported)
            self.foreign: FormatEncoder | None = None
        else:
            self.native = None
            self.foreign = ENCODERS[self.fmt](catalog)

    def encode(self, sel: IntArray) -> list[list[SimPublication]]:
        d = self.rec.deliveries
        device_id = self.rec.spec.device_id
        rows = d.row[sel]
        times = d.at[sel].tolist()
        if self.native is not None:
            payloads = self.native.encode(rows, d.seq[sel])
            return [
                [SimPublication(self.topic, p, datetime.fromtimestamp(ts, UTC), False, device_id)]
                for p, ts in zip(payloads, times, strict=True)
            ]
        if self.foreign is None:
            raise RuntimeError("a foreign-format device without an encoder")
        out: list[list[SimPublication]] = []
        series = self.rec.reported
        for row, seq, ts in zip(rows.tolist(), d.seq[sel].tolist(), times, strict=True):
            when = datetime.fromtimestamp(ts, UTC)
            measured = datetime.fromtimestamp(float(series.t[row]), UTC)
            out.append(
                [
                    SimPublication(topic, payload, when, retain, device_id)
                    for topic, payload, retain in self.foreign.telemetry(
                        self.rec.spec,
                        measured,
                        series.metrics_at(row),
                        series.states_at(row),
                        seq,
                    )
                ]
            )
        return out


def _identity(spec: DeviceSpec) -> dict[str, str | None]:
    return {
        "device_id": spec.device_id,
        "home_id": spec.home_id,
        "kind": spec.kind,
        "model": spec.model,
        "fw": spec.fw,
    }


def _onset(fault: FaultPlan | None) -> float:
    return fault.onset if fault is not None else float("inf")


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
