"""``aftercare anomaly eval``: how early, how right and how rare the tickets are.

Given a ``sim export`` directory (``telemetry.jsonl`` + ``labels.json``) and the tickets
the gateway pipeline raised over it, per fault code and overall:

- ``episodes``: devices with that fault (its onset before the window's end);
- ``unseen``: episodes whose functional failure came before the device's first report
  (a fleet already in the field: the appliance was broken before it was ever heard of).
  No detector can see those coming, so ``recall`` leaves them out; ``recall_all`` keeps
  them;
- ``recall``: share of the other episodes whose *first* ticket after the onset has the
  right code and comes before the functional failure (or before the end when it did not
  fail); for sudden faults (nothing to see before them) within a day of the onset;
- ``detected``: share with any ticket after the onset (right code or not);
- ``lead_days``: median days from that ticket to the functional failure (failed ones);
- ``delay_days``: median days from the onset to the ticket;
- ``right_fault`` / ``right_part``: share of detected episodes whose first ticket names
  the labelled fault / the catalog's parts for it;
- ``duplicates``: tickets beyond the first with the same device and code, per episode.

Overall it adds ``false_per_1000_device_days``: tickets on healthy devices, plus tickets on
faulty devices before their onset, per 1000 device-days of healthy observation.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aftercare.catalog import Catalog, Course

__all__ = ["EvalRow", "EvalSummary", "evaluate"]

_DAY = 86400.0


def _ts(text: str | None) -> float | None:
    if text is None:
        return None
    return datetime.fromisoformat(text).timestamp()


@dataclass(slots=True)
class EvalRow:
    """Scores of one fault code (or of a group of them)."""

    name: str
    episodes: int = 0
    unseen: int = 0
    failures: int = 0
    detected: int = 0
    right_in_time: int = 0
    right_fault: int = 0
    right_part: int = 0
    duplicates: int = 0
    leads: list[float] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Rates and medians, JSON-ready."""

        def rate(num: int, den: int) -> float | None:
            return round(num / den, 3) if den else None

        def median(values: Sequence[float]) -> float | None:
            return round(statistics.median(values), 2) if values else None

        return {
            "fault": self.name,
            "episodes": self.episodes,
            "unseen": self.unseen,
            "recall": rate(self.right_in_time, self.episodes - self.unseen),
            "recall_all": rate(self.right_in_time, self.episodes),
            "detected": rate(self.detected, self.episodes),
            "lead_days": median(self.leads),
            "delay_days": median(self.delays),
            "right_fault": rate(self.right_fault, self.detected),
            "right_part": rate(self.right_part, self.detected),
            "duplicates": rate(self.duplicates, self.episodes),
        }

    def absorb(self, other: EvalRow) -> None:
        """Add another row's counts (for group totals)."""
        self.episodes += other.episodes
        self.unseen += other.unseen
        self.failures += other.failures
        self.detected += other.detected
        self.right_in_time += other.right_in_time
        self.right_fault += other.right_fault
        self.right_part += other.right_part
        self.duplicates += other.duplicates
        self.leads += other.leads
        self.delays += other.delays


@dataclass(slots=True)
class EvalSummary:
    """Everything ``anomaly eval`` prints."""

    rows: list[EvalRow]
    gradual: EvalRow
    overall: EvalRow
    false_tickets: int
    healthy_device_days: float
    false_by_code: dict[str, int] = field(default_factory=dict)

    @property
    def false_per_1000_device_days(self) -> float:
        """False tickets per 1000 device-days of healthy observation."""
        return 1000.0 * self.false_tickets / max(self.healthy_device_days, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "faults": [r.as_dict() for r in self.rows],
            "gradual": self.gradual.as_dict(),
            "overall": self.overall.as_dict(),
            "false_tickets": self.false_tickets,
            "healthy_device_days": round(self.healthy_device_days, 1),
            "false_per_1000_device_days": round(self.false_per_1000_device_days, 3),
            "false_by_code": dict(sorted(self.false_by_code.items())),
        }


def _score_device(
    row: EvalRow,
    label: Mapping[str, Any],
    tickets: list[dict[str, Any]],
    catalog: Catalog,
    end: float,
    first_seen: float | None,
) -> int:
    """Score one faulty device; return its false tickets (those before the onset)."""
    code = label["fault_code"]
    onset = _ts(label["onset"]) or 0.0
    failure = _ts(label.get("failure_at"))
    row.episodes += 1
    unseen = failure is not None and first_seen is not None and failure <= first_seen
    row.unseen += unseen
    row.failures += failure is not None
    before = [t for t in tickets if t["_ts"] < onset]
    after = [t for t in tickets if t["_ts"] >= onset]
    if after:
        first = after[0]
        row.detected += 1
        row.delays.append((first["_ts"] - onset) / _DAY)
        right = first["fault_code"] == code
        row.right_fault += right
        parts = (
            {(p.sku, p.qty) for p in catalog.fault(code).parts} if code in catalog.faults else set()
        )
        row.right_part += {(p["sku"], p["qty"]) for p in first["parts"]} == parts
        # nothing precedes a sudden fault: in time means within a day of it
        late_limit = failure if failure is not None else end
        deadline = onset + _DAY if label.get("sudden") else late_limit
        if right and first["_ts"] <= deadline and not unseen:
            row.right_in_time += 1
            if failure is not None:
                row.leads.append((failure - first["_ts"]) / _DAY)
        same = [t for t in after if t["fault_code"] == first["fault_code"]]
        row.duplicates += len(same) - 1
    return len(before)


def evaluate(
    labels: Mapping[str, Mapping[str, Any]],
    tickets: Iterable[Mapping[str, Any]],
    catalog: Catalog,
    window: tuple[float, float],
    first_seen: Mapping[str, float] | None = None,
) -> EvalSummary:
    """Score tickets against the labels of a simulated export.

    Args:
        labels: ``labels.json`` (device id -> label).
        tickets: Contract 3 ticket lines.
        catalog: for parts and fault courses.
        window: (first, last) telemetry time of the export, epoch seconds.
        first_seen: device id -> time of its first report; episodes that failed before
            it are ``unseen`` (left out of ``recall``). None: every device is seen from
            the window's start.
    """
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ticket in tickets:
        item = dict(ticket)
        item["_ts"] = _ts(str(ticket["detected_at"]))
        by_device[str(ticket["device_id"])].append(item)
    for items in by_device.values():
        items.sort(key=lambda t: t["_ts"])
    rows: dict[str, EvalRow] = {}
    false_by_code: dict[str, int] = defaultdict(int)
    false_tickets = 0
    healthy_days = 0.0
    start, end = window
    for device, label in labels.items():
        device_tickets = by_device.get(device, [])
        code = label.get("fault_code")
        onset = _ts(label.get("onset"))
        if code is None or onset is None or onset >= end:
            false_tickets += len(device_tickets)
            for ticket in device_tickets:
                false_by_code[str(ticket["fault_code"])] += 1
            healthy_days += (end - start) / _DAY
            continue
        row = rows.setdefault(code, EvalRow(code))
        seen = first_seen.get(device, end) if first_seen is not None else start
        early = _score_device(row, label, device_tickets, catalog, end, seen)
        false_tickets += early
        for ticket in device_tickets[:early]:
            false_by_code[str(ticket["fault_code"])] += 1
        healthy_days += max(0.0, onset - start) / _DAY
    ordered = [rows[c] for c in sorted(rows)]
    gradual, overall = EvalRow("gradual"), EvalRow("overall")
    for row in ordered:
        overall.absorb(row)
        spec = catalog.faults.get(row.name)
        if spec is not None and spec.course is Course.GRADUAL:
            gradual.absorb(row)
    return EvalSummary(ordered, gradual, overall, false_tickets, healthy_days, dict(false_by_code))
