"""Tunable settings of the fault engine, with the defaults tuned on simulated fleets."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EngineConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """Settings of :class:`~anomaly.engine.FaultEngine` (see docs/detectors.md).

    Attributes:
        warm_buckets: buckets (hours of work, or cycles) before a device's baseline is
            trusted, for interval kinds.
        warm_cycles: the same for per-cycle kinds.
        learn_buckets: the baseline keeps learning (from normal-looking buckets only)
            until this many buckets, then freezes so slow faults are not absorbed.
        learn_cycles: the same for per-cycle kinds.
        drift_alpha: EWMA weight of the drift statistic per bucket (interval kinds).
        drift_alpha_cycle: the same per cycle.
        threshold: drift (in standard deviations of the drift statistic) a required
            feature needs for a signature to match.
        protect: buckets whose largest drift exceeds this are not learned from.
        confirm: matched buckets needed to raise a gradual fault (interval kinds).
        confirm_cycles: the same for per-cycle kinds.
        confirm_sudden: matched buckets needed for a sudden fault.
        clear_s: a fault that stops matching for this long closes its episode.
        stuck_min_run: identical consecutive values before a sensor can be stuck
            (interval kinds).
        stuck_min_run_cycle: the same for per-cycle kinds.
        stuck_surprise: log10 improbability a run needs to count as stuck.
        offline_clear_s: telemetry must be back this long before a new silence counts
            as a new episode.
        offline_grace: DEVICE_OFFLINE after the kind's ``offline_after_s`` times this
            (a few lost messages on a weak Wi-Fi link are not an engineer's visit).
        offline_gap_factor: per-cycle kinds (one message a wash or a cleaning run) go
            quiet for weeks when the family is away; they are offline only after this
            many times their longest gap so far, and never before ``offline_min_cycle_s``.
        offline_min_cycle_s: the shortest silence that makes a per-cycle device offline.
        classifier_probability: the fleet classifier's smoothed probability for a fault
            that counts as a match (only with trained fleet models).
        ridge: prior precision of the context regression.
        peer_threshold: robust deviation from its peers (peer spreads) a required
            feature needs for a signature to match against the peer reference.
    """

    warm_buckets: int = 48
    warm_cycles: int = 10
    learn_buckets: int = 120
    learn_cycles: int = 30
    drift_alpha: float = 1.0 / 24.0
    drift_alpha_cycle: float = 0.2
    threshold: float = 5.0
    protect: float = 2.5
    confirm: float = 12.0
    confirm_cycles: float = 3.0
    confirm_sudden: float = 4.0
    clear_s: float = 14 * 86400.0
    stuck_min_run: int = 72
    stuck_min_run_cycle: int = 4
    stuck_surprise: float = 12.0
    offline_clear_s: float = 6 * 3600.0
    offline_grace: float = 3.0
    offline_gap_factor: float = 3.0
    offline_min_cycle_s: float = 45 * 86400.0
    classifier_probability: float = 0.8
    ridge: float = 0.1
    peer_threshold: float = 5.0
