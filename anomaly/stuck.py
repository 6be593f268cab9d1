"""Stuck sensors: a metric repeating one value far longer than it ever did while healthy.

To keep per-message work small, metrics are looked at every ``check_every`` messages
(every message for kinds that report once per cycle): per metric a device keeps the value
at the last check, the check count when it last differed, how many checks differed during
the warm-up, and the longest run (in checks) it showed without being flagged. The warm-up
gives the probability ``p`` that a check repeats the previous one. A metric is stuck when
its current run of ``r`` equal checks

- spans at least ``min_run`` messages and ``run_factor`` times its longest healthy run (a
  water purifier's litre counter rests all night; that is not a fault), and
- is improbable: ``-r·log10(p) >= surprise``.

Metrics that repeat most of the time while healthy (setpoints, counters at rest) cannot
tell stuck from steady and are never flagged; zero is never stuck (it is how appliances
report a part that is switched off).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["StuckTracker"]

_P_FLOOR = 0.001
_P_ELIGIBLE = 0.7


class StuckTracker:
    """Run lengths and repeat rates of one device's metrics.

    Args:
        min_run: identical consecutive messages before a metric can be stuck.
        surprise: log10 improbability of the run needed.
        warm: messages that define the repeat probability; nothing is stuck before.
        run_factor: a stuck run is this many times longer than any healthy run seen.
        check_every: messages between looks at the metrics (default: ``min_run // 12``).
    """

    __slots__ = (
        "check_every",
        "checks",
        "last",
        "min_checks",
        "n",
        "run_factor",
        "stuck",
        "surprise",
        "warm_checks",
    )

    def __init__(
        self,
        min_run: int,
        surprise: float,
        warm: int,
        *,
        run_factor: float = 2.0,
        check_every: int | None = None,
    ) -> None:
        self.check_every = max(1, check_every if check_every is not None else min_run // 12)
        self.min_checks = max(1, min_run // self.check_every)
        self.warm_checks = max(1, warm // self.check_every)
        self.surprise = surprise
        self.run_factor = run_factor
        # metric -> [value at last check, check count at last change, warm-up changes,
        #            longest healthy run in checks]
        self.last: dict[str, list[float]] = {}
        self.stuck: dict[str, float] = {}
        self.n = 0
        self.checks = 0

    def observe(self, metrics: Mapping[str, float]) -> list[str]:
        """Count one message; every ``check_every`` messages, look at the metrics.

        Returns the metrics that became stuck with this message.
        """
        self.n += 1
        if self.n % self.check_every:
            return []
        c = self.checks = self.checks + 1
        warm = c <= self.warm_checks
        last = self.last
        newly: list[str] = []
        for key, value in metrics.items():
            s = last.get(key)
            if s is None:
                last[key] = [value, c, 0.0, 0.0]
            elif s[0] != value or value == 0.0:
                run = c - s[1] - 1
                if run > 0 and self.stuck.pop(key, None) is None and run > s[3]:
                    s[3] = run
                if warm:
                    s[2] += 1.0
                s[0], s[1] = value, c
            elif not warm and key not in self.stuck and self._is_stuck(s, c):
                self.stuck[key] = value
                newly.append(key)
        return newly

    def _is_stuck(self, s: list[float], c: int) -> bool:
        run = c - s[1]
        if run < self.min_checks or run < self.run_factor * s[3]:
            return False
        p = 1.0 - s[2] / self.warm_checks
        return p <= _P_ELIGIBLE and -run * math.log10(max(p, _P_FLOOR)) >= self.surprise

    def repeat_probability(self, metric: str) -> float:
        """The warm-up probability that ``metric`` repeats between two checks."""
        s = self.last.get(metric)
        if s is None:
            return 0.0
        return max(0.0, 1.0 - s[2] / min(max(self.checks, 1), self.warm_checks))

    def run_of(self, metric: str) -> int:
        """The current run length of ``metric``, in messages."""
        s = self.last.get(metric)
        return 0 if s is None else (self.checks - int(s[1])) * self.check_every
