"""Deciding from scores: threshold objects, kept apart from the detectors that score.

A detector says how unusual a sample is; a threshold says whether that is an anomaly;
:class:`AnomalyFilter` joins the two and, with ``protect_detector``, stops the detector
learning from the anomalies it flags (River's ``AnomalyFilter``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Protocol

from anomaly.base import StreamingDetector
from anomaly.exceptions import InvalidParameterError

__all__ = ["AnomalyFilter", "FixedThreshold", "QuantileThreshold", "Threshold"]


class Threshold(Protocol):
    """Decides whether a score is anomalous."""

    def classify(self, score: float) -> bool:
        """True when ``score`` is anomalous."""
        ...

    def learn_one(self, score: float) -> None:
        """Observe a score (adaptive thresholds learn the score distribution)."""
        ...


class FixedThreshold:
    """Anomalous when the score reaches ``level``.

    Examples:
        >>> FixedThreshold(3.0).classify(3.5)
        True
    """

    def __init__(self, level: float) -> None:
        self.level = level

    def classify(self, score: float) -> bool:
        """True when ``score >= level``."""
        return score >= self.level

    def learn_one(self, score: float) -> None:
        """A fixed threshold learns nothing."""
        del score


class QuantileThreshold:
    """Anomalous when the score exceeds the ``q`` quantile of the last ``window`` scores.

    Until ``warmup`` scores have been seen nothing is anomalous.

    Examples:
        >>> th = QuantileThreshold(q=0.9, window=100, warmup=10)
        >>> for s in range(100):
        ...     th.learn_one(float(s % 10))
        >>> th.classify(9.5), th.classify(5.0)
        (True, False)
    """

    def __init__(self, *, q: float = 0.99, window: int = 1000, warmup: int = 50) -> None:
        if not 0.0 < q < 1.0:
            raise InvalidParameterError("QuantileThreshold", "q", q, "in (0, 1)")
        self.q = q
        self.window = window
        self.warmup = warmup
        self._recent: list[float] = []
        self._sorted: list[float] = []

    def classify(self, score: float) -> bool:
        """True when ``score`` is above the learned quantile."""
        if len(self._sorted) < self.warmup:
            return False
        index = min(len(self._sorted) - 1, int(self.q * len(self._sorted)))
        return score > self._sorted[index]

    def learn_one(self, score: float) -> None:
        """Add a score to the window (the oldest leaves)."""
        self._recent.append(score)
        bisect.insort(self._sorted, score)
        if len(self._recent) > self.window:
            old = self._recent.pop(0)
            del self._sorted[bisect.bisect_left(self._sorted, old)]


class AnomalyFilter:
    """A detector and a threshold: scores, decides, and learns only from normal samples.

    Args:
        detector: the streaming detector.
        threshold: the decision rule.
        protect_detector: when True the detector does not learn flagged samples.

    Examples:
        >>> from anomaly.detectors import RobustZScore
        >>> f = AnomalyFilter(RobustZScore(warmup=3), FixedThreshold(5.0))
        >>> [f.process({"t": v}) for v in [1.0, 1.1, 0.9, 1.0, 1.05, 9.0]]
        [False, False, False, False, False, True]
    """

    def __init__(
        self, detector: StreamingDetector, threshold: Threshold, *, protect_detector: bool = True
    ) -> None:
        self.detector = detector
        self.threshold = threshold
        self.protect_detector = protect_detector

    def process(self, x: Mapping[str, float]) -> bool:
        """Score, decide, then learn (unless protected from this anomaly)."""
        score = self.detector.score_one(x)
        anomalous = self.threshold.classify(score)
        self.threshold.learn_one(score)
        if not (anomalous and self.protect_detector):
            self.detector.learn_one(x)
        return anomalous
