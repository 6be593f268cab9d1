"""Peer reference: a device against the other devices of its model, online, untrained.

A device's own baseline cannot see a fault that was already there when the device was
first heard of, nor learn a normal from the handful of cycles a washing machine runs in
a month. Its peers can: appliances of one model, in one working mode, share a design
point. Per feature the reference keeps each device's typical level in each group (the
median of its last few buckets there) and, from those, the group's median and MAD. A
device's deviation is the median of its last few buckets, each standardised by the
statistics of the group it ran in: a vacuum that alternates suction settings is judged
on its latest runs, not on the last three runs of its rarest setting, which may be
weeks old. While fewer than half the peers are faulty, the faulty ones move neither
statistic much.

Only features that physics makes comparable across homes belong here (a drain time, a
drum's vibration, a normalised airflow index), never ones the weather or the household
sets (a compressor's duty). Memory is bounded: ``window`` floats per device, group and feature,
``max_devices`` devices per group (the least recently added is forgotten).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Mapping
from statistics import median
from typing import NamedTuple

import numpy as np

__all__ = ["PeerReference"]

_MAD_TO_SD = 1.4826


class _Stat(NamedTuple):
    """A group's reference for one feature: ``center + slope * (age - age_center)``."""

    center: float
    spread: float
    peers: int
    slope: float = 0.0
    age_center: float = 0.0

    def expected(self, age: float | None) -> float:
        if age is None or not self.slope:
            return self.center
        return self.center + self.slope * (age - self.age_center)


class _Group:
    __slots__ = ("ages", "levels", "recent", "since_refresh", "stats")

    def __init__(self) -> None:
        self.recent: dict[str, dict[str, deque[float]]] = {}
        self.levels: dict[str, dict[str, float]] = {}
        self.ages: dict[str, float] = {}
        self.stats: dict[str, _Stat] = {}
        self.since_refresh = 0


def _theil_sen(x: np.ndarray, y: np.ndarray) -> float:
    """The median of the pairwise slopes: a line that a few faulty peers cannot tilt."""
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx != 0.0
    if not ok.any():
        return 0.0
    return float(np.median((y[j] - y[i])[ok] / dx[ok]))


def _held(scores: deque[float]) -> float:
    """The deviation all of a few scores agree on: the least extreme, or 0 if they disagree."""
    lo, hi = min(scores), max(scores)
    return lo if lo > 0.0 else hi if hi < 0.0 else 0.0


class PeerReference:
    """Robust peer deviations per feature (see the module docstring).

    Args:
        window: a device's level is the median of its last ``window`` buckets.
        min_own: buckets a device needs before it has a level.
        min_peers: devices with a level a group needs before it says anything.
        refresh: group updates between recomputations of the peer statistics.
        rel_floor: the peer spread never counts as less than this share of the median
            (quantised readings can give a MAD of zero).
        max_devices: devices remembered per group.
    """

    def __init__(
        self,
        *,
        window: int = 3,
        min_own: int = 3,
        min_peers: int = 8,
        refresh: int = 8,
        rel_floor: float = 0.01,
        max_devices: int = 100_000,
    ) -> None:
        self.window = window
        self.min_own = min_own
        self.min_peers = min_peers
        self.refresh = refresh
        self.rel_floor = rel_floor
        self.max_devices = max_devices
        self._groups: dict[Hashable, _Group] = {}
        # device -> feature -> its last standardised buckets, whatever their group
        self._scores: dict[str, dict[str, deque[float]]] = {}

    def update(
        self,
        group: Hashable,
        device_id: str,
        values: Mapping[str, float],
        *,
        age: float | None = None,
        aged: frozenset[str] = frozenset(),
        scored: int | None = None,
    ) -> dict[str, float]:
        """Record one bucket of ``device_id``; return its robust deviation per feature.

        The deviation is the median of the device's last ``window`` buckets, each as
        ``(value - peer median) / peer spread`` of the group it ran in; until it has
        ``min_own`` of those, its level in this group stands in. A feature is left out
        while the group has fewer than ``min_peers`` devices with a level, or the device
        neither scored buckets enough nor a level here.

        Args:
            group: the peer group (kind, model, mode).
            device_id: the device.
            values: this bucket's features.
            age: the device's wear counter (charge cycles), for the ``aged`` features.
            aged: features that fade with ``age`` by design (a battery's capacity): they
                are compared with peers of the same age, along a robust line through
                the group's (age, level) points.
            scored: buckets the device needs scored before they speak for it
                (default ``min_own``). An appliance that runs a few cycles a month
                cannot wait for three of them; until it has ``min_own`` (and while it
                has no level), its deviation is what every scored bucket shows: the
                least extreme when all lean one way, else 0. One odd cycle is not a
                level.
        """
        own = self.min_own if scored is None else scored
        g = self._groups.get(group)
        if g is None:
            g = self._groups[group] = _Group()
        levels = self._record(g, device_id, values, age)
        g.since_refresh += 1
        if g.since_refresh >= self.refresh or not g.stats:
            self._refresh(g, aged)
        scores = self._scores.get(device_id)
        if scores is None:
            if len(self._scores) >= self.max_devices:
                del self._scores[next(iter(self._scores))]
            scores = self._scores[device_id] = {}
        out: dict[str, float] = {}
        for name, value in values.items():
            stat = g.stats.get(name)
            if stat is None or stat.peers < self.min_peers:
                continue
            expected = stat.expected(age if name in aged else None)
            buf = scores.get(name)
            if buf is None:
                buf = scores[name] = deque(maxlen=self.window)
            buf.append((value - expected) / stat.spread)
            # until enough of its buckets are scored, the device's level in this group
            # speaks for it (the group may only now have enough peers); without a level
            # yet, what its few scored buckets agree on
            if len(buf) >= self.min_own:
                out[name] = median(buf)
            elif name in levels:
                out[name] = (levels[name] - expected) / stat.spread
            elif len(buf) >= own:
                out[name] = _held(buf)
        return out

    def _record(
        self, g: _Group, device_id: str, values: Mapping[str, float], age: float | None
    ) -> dict[str, float]:
        """Add the bucket to the device's recent values in ``g``; return its levels there."""
        recent = g.recent.get(device_id)
        if recent is None:
            if len(g.recent) >= self.max_devices:
                gone = next(iter(g.recent))
                del g.recent[gone]
                g.levels.pop(gone, None)
                g.ages.pop(gone, None)
            recent = g.recent[device_id] = {}
        if age is not None:
            g.ages[device_id] = age
        levels = g.levels.setdefault(device_id, {})
        for name, value in values.items():
            buf = recent.get(name)
            if buf is None:
                buf = recent[name] = deque(maxlen=self.window)
            buf.append(value)
            if len(buf) >= self.min_own:
                levels[name] = median(buf)
        return levels

    def _refresh(self, g: _Group, aged: frozenset[str]) -> None:
        g.since_refresh = 0
        by_feature: dict[str, list[tuple[float, float]]] = {}
        for device_id, levels in g.levels.items():
            age = g.ages.get(device_id, math.nan)
            for name, level in levels.items():
                by_feature.setdefault(name, []).append((level, age))
        stats: dict[str, _Stat] = {}
        for name, items in by_feature.items():
            pairs = np.asarray(items, dtype=float)
            arr, ages = pairs[:, 0], pairs[:, 1]
            slope = age_center = 0.0
            if name in aged and np.isfinite(ages).all() and len(arr) >= self.min_peers:
                slope = _theil_sen(ages, arr)
                age_center = float(np.median(ages))
                arr = arr - slope * (ages - age_center)
            center = float(np.median(arr))
            mad = float(np.median(np.abs(arr - center)))
            spread = max(_MAD_TO_SD * mad, self.rel_floor * abs(center), 1e-9)
            stats[name] = _Stat(center, spread, len(items), slope, age_center)
        g.stats = stats

    def peer_level(self, group: Hashable, name: str, age: float | None = None) -> float | None:
        """The peers' median level of ``name`` in ``group`` (at ``age``; for evidence)."""
        g = self._groups.get(group)
        stat = g.stats.get(name) if g is not None else None
        return stat.expected(age) if stat is not None else None
