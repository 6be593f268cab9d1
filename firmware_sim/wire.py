"""What the network does to the reports, and the native encoder.

Real fleets lose a sample now and then, drop off Wi-Fi for a few minutes, deliver a
message twice (a QoS 1 retry after a lost PUBACK) and deliver one late, after newer
ones. :func:`deliveries` turns a device's series into a delivery schedule with those
artefacts at configured rates; ``DEVICE_OFFLINE`` ends the schedule at its onset.

:class:`NativeEncoder` writes Contract 1 messages byte-identical to
:func:`device_adapters.encode_native`, but builds the constant part once per device so
that an export of millions of messages stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import orjson

from firmware_sim.core import FloatArray, IntArray, Series

__all__ = ["Artefacts", "Deliveries", "NativeEncoder", "deliveries"]


@dataclass(frozen=True, slots=True)
class Artefacts:
    """Rates of network artefacts (per message unless stated).

    Attributes:
        missing: a sample is lost.
        blips_per_day: short Wi-Fi drops (1-5 consecutive samples lost).
        duplicate: a message is delivered twice (same ``seq``), 1-10 s apart.
        out_of_order: a message is delivered late, after 1-3 newer ones.
    """

    missing: float = 0.004
    blips_per_day: float = 0.3
    duplicate: float = 0.002
    out_of_order: float = 0.001

    @classmethod
    def none(cls) -> Artefacts:
        """A perfect network (for tests and plots)."""
        return cls(missing=0.0, blips_per_day=0.0, duplicate=0.0, out_of_order=0.0)


@dataclass(frozen=True, slots=True)
class Deliveries:
    """A device's delivery schedule.

    Attributes:
        at: delivery times, epoch seconds (not sorted: late messages come later).
        row: the series row each delivery carries (a duplicate repeats a row).
        seq: the device's message counter of each delivery.
    """

    at: FloatArray
    row: IntArray
    seq: IntArray


def deliveries(
    series: Series,
    rng: np.random.Generator,
    artefacts: Artefacts,
    *,
    interval_s: float,
    offline_from: float | None,
    seq0: int,
) -> Deliveries:
    """The delivery schedule of one device's series."""
    n = len(series.t)
    seq_all = seq0 + np.arange(n, dtype=np.int64)
    keep = rng.random(n) >= artefacts.missing
    if n and artefacts.blips_per_day > 0:
        span_days = max((series.t[-1] - series.t[0]) / 86400.0, 1.0)
        for start in rng.integers(0, n, rng.poisson(artefacts.blips_per_day * span_days)).tolist():
            keep[start : start + int(rng.integers(1, 6))] = False
    if offline_from is not None:
        keep &= series.t < offline_from
    rows = np.flatnonzero(keep).astype(np.int64)
    at = series.t[rows].copy()
    late = rng.random(len(rows)) < artefacts.out_of_order
    at[late] += interval_s * rng.integers(1, 4, int(late.sum())) + rng.uniform(
        1, 20, int(late.sum())
    )
    dup = np.flatnonzero(rng.random(len(rows)) < artefacts.duplicate)
    if len(dup):
        rows = np.concatenate([rows, rows[dup]])
        at = np.concatenate([at, at[dup] + rng.uniform(1.0, 10.0, len(dup))])
    at = np.round(at, 3)
    return Deliveries(at=at, row=rows, seq=seq_all[rows])


_FIELD_ORDER: Final = ("device_id", "home_id", "kind", "model", "fw")


class NativeEncoder:
    """Contract 1 payloads of one device, byte-identical to ``encode_native``.

    Args:
        identity: device_id, home_id, kind, model, fw (``None`` values are left out).
        series: the device's reported series.
    """

    def __init__(self, identity: dict[str, str | None], series: Series) -> None:
        head = {k: identity[k] for k in _FIELD_ORDER if identity.get(k) is not None}
        self.prefix = orjson.dumps(head)[:-1] + b',"ts":"'
        self.names = tuple(series.metrics)
        self.matrix = (
            np.column_stack([series.metrics[k] for k in self.names])
            if len(series.t)
            else np.zeros((0, len(self.names)))
        )
        stamps = np.datetime_as_string(series.t.astype("datetime64[s]"), unit="s")
        self.stamps = np.char.add(stamps, "Z")
        self.state_codes, self.state_bytes = _state_table(series)

    def encode(self, rows: IntArray, seqs: IntArray) -> list[bytes]:
        """The payloads of ``rows`` with their ``seqs``."""
        names = self.names
        prefix = self.prefix
        dumps = orjson.dumps
        values = self.matrix[rows].tolist()
        stamps = self.stamps[rows].tolist()
        states = [self.state_bytes[c] for c in self.state_codes[rows].tolist()]
        return [
            b"".join(
                (
                    prefix,
                    f'{ts}","seq":{seq},"metrics":'.encode(),
                    dumps(dict(zip(names, vals, strict=True))),
                    state,
                )
            )
            for ts, seq, vals, state in zip(stamps, seqs.tolist(), values, states, strict=True)
        ]


def _state_table(series: Series) -> tuple[IntArray, list[bytes]]:
    """Each report's state as an index into prebuilt ``,"state":{...}}`` endings."""
    n = len(series.t)
    if not series.state:
        return np.zeros(n, dtype=np.int64), [b"}"]
    radix = 1
    combined = np.zeros(n, dtype=np.int64)
    for col in series.state:
        combined += col.codes.astype(np.int64) * radix
        radix *= len(col.labels)
    endings: list[bytes] = []
    for code in range(radix):
        state: dict[str, str] = {}
        rest = code
        for col in series.state:
            state[col.key] = col.labels[rest % len(col.labels)]
            rest //= len(col.labels)
        endings.append(b',"state":' + orjson.dumps(state) + b"}")
    return combined, endings
