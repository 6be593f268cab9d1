"""Peer reference: a device against the other devices of its model, online, untrained.

A device's own baseline cannot see a fault that was already there when the device was
first heard of, nor learn a normal from the handful of cycles a washing machine runs in
a month. Its peers can: appliances of one model, in one working mode, share a design
point. Per feature the reference keeps each device's typical level (the median of its
last few buckets) and compares it with the median and MAD of its peers' levels. While
fewer than half the peers are faulty, the faulty ones move neither statistic much.

Only features that physics makes comparable across homes belong here (a drain time, a
drum's vibration, a normalised airflow index), never ones the weather or the household
sets (a compressor's duty). Memory is bounded: ``window`` floats per device and feature,
``max_devices`` devices per group (the least recently added is forgotten).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping
from statistics import median

import numpy as np

__all__ = ["PeerReference"]

_MAD_TO_SD = 1.4826


class _Group:
    __slots__ = ("levels", "recent", "since_refresh", "stats")

    def __init__(self) -> None:
        self.recent: dict[str, dict[str, deque[float]]] = {}
        self.levels: dict[str, dict[str, float]] = {}
        self.stats: dict[str, tuple[float, float, int]] = {}
        self.since_refresh = 0


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
        rel_floor: float = 0.03,
        max_devices: int = 100_000,
    ) -> None:
        self.window = window
        self.min_own = min_own
        self.min_peers = min_peers
        self.refresh = refresh
        self.rel_floor = rel_floor
        self.max_devices = max_devices
        self._groups: dict[Hashable, _Group] = {}

    def update(
        self, group: Hashable, device_id: str, values: Mapping[str, float]
    ) -> dict[str, float]:
        """Record one bucket of ``device_id``; return its robust deviation per feature.

        The deviation is ``(level - peer median) / peer spread``; a feature is left out
        while the device has fewer than ``min_own`` buckets or the group fewer than
        ``min_peers`` devices with a level.
        """
        g = self._groups.get(group)
        if g is None:
            g = self._groups[group] = _Group()
        recent = g.recent.get(device_id)
        if recent is None:
            if len(g.recent) >= self.max_devices:
                gone = next(iter(g.recent))
                del g.recent[gone]
                g.levels.pop(gone, None)
            recent = g.recent[device_id] = {}
        levels = g.levels.setdefault(device_id, {})
        for name, value in values.items():
            buf = recent.get(name)
            if buf is None:
                buf = recent[name] = deque(maxlen=self.window)
            buf.append(value)
            if len(buf) >= self.min_own:
                levels[name] = median(buf)
        g.since_refresh += 1
        if g.since_refresh >= self.refresh or not g.stats:
            self._refresh(g)
        out: dict[str, float] = {}
        for name, level in levels.items():
            stat = g.stats.get(name)
            if stat is None or name not in values:
                continue
            center, spread, peers = stat
            if peers >= self.min_peers:
                out[name] = (level - center) / spread
        return out

    def _refresh(self, g: _Group) -> None:
        g.since_refresh = 0
        by_feature: dict[str, list[float]] = {}
        for levels in g.levels.values():
            for name, level in levels.items():
                by_feature.setdefault(name, []).append(level)
        stats: dict[str, tuple[float, float, int]] = {}
        for name, items in by_feature.items():
            arr = np.asarray(items, dtype=float)
            center = float(np.median(arr))
            mad = float(np.median(np.abs(arr - center)))
            spread = max(_MAD_TO_SD * mad, self.rel_floor * abs(center), 1e-9)
            stats[name] = (center, spread, len(items))
        g.stats = stats

    def peer_level(self, group: Hashable, name: str) -> float | None:
        """The peers' median level of ``name`` in ``group`` (for evidence)."""
        g = self._groups.get(group)
        stat = g.stats.get(name) if g is not None else None
        return stat[0] if stat is not None else None
