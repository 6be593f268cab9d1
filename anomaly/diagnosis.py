"""Diagnosis: from the pattern of drifts to a catalog fault code.

Scoring (the detectors) and deciding (the thresholds) happen before this step; here a
drift vector is matched against the kind's :mod:`~anomaly.signatures`. A fault matches
when every required feature drifts its way beyond the threshold and no ``against``
feature drifts the excluded way; among matches the one whose whole pattern agrees best
wins. A fleet classifier, when one is loaded, can re-rank (see :mod:`anomaly.fleet`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from anomaly.signatures import Signature

__all__ = ["Match", "match_signatures"]

_CAP = 8.0


@dataclass(frozen=True, slots=True)
class Match:
    """A signature that fits the current drifts.

    Attributes:
        signature: the matching signature.
        score: how well the whole pattern agrees (higher is better).
    """

    signature: Signature
    score: float


def _agree(direction: int, drift: float) -> float:
    return abs(drift) if direction == 0 else direction * drift


def match_signatures(
    signatures: Sequence[Signature],
    drift: Mapping[str, float],
    threshold: float,
    excluded: frozenset[str] = frozenset(),
) -> list[Match]:
    """Signatures that fit ``drift``, best first.

    Args:
        signatures: the kind's signatures.
        drift: feature -> signed drift.
        threshold: what a required feature must reach in its direction.
        excluded: features not to trust (a stuck sensor feeds them).
    """
    out: list[Match] = []
    for sig in signatures:
        score = 0.0
        ok = True
        needed = threshold * sig.threshold_scale
        for name, direction in sig.required.items():
            d = drift.get(name)
            if d is None or name in excluded or _agree(direction, d) < needed:
                ok = False
                break
            score += min(_agree(direction, d), _CAP)
        if not ok:
            continue
        for name, direction in sig.against.items():
            d = drift.get(name)
            if d is not None and name not in excluded and _agree(direction, d) >= threshold / 2:
                ok = False
                break
        if not ok:
            continue
        for name, direction in sig.support.items():
            d = drift.get(name)
            if d is not None and name not in excluded:
                score += 0.5 * max(-_CAP, min(_agree(direction, d), _CAP))
        out.append(Match(sig, score / max(len(sig.required), 1)))
    out.sort(key=lambda m: -m.score)
    return out
