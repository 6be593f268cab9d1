"""Anomaly detection, fault diagnosis and prognosis.

Streaming detectors (River's ``learn_one``/``score_one``, higher = worse) are registered
in :data:`DETECTORS`; :class:`FaultEngine` puts the per-device baseline, drift, physics
diagnosis, stuck-sensor and silence rules and prognosis together for the gateway;
:mod:`anomaly.fleet` holds the fleet models trained with scikit-learn and saved with
skops. Heavy imports (scikit-learn, skops) happen only where models are trained or
loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from anomaly.base import DetectorBase, StreamingDetector
from anomaly.config import EngineConfig
from anomaly.detectors import ContextResidual, Cusum, FrozenSignal, PageHinkley, RobustZScore
from anomaly.engine import FaultEngine
from anomaly.exceptions import (
    ArtifactCorruptError,
    ArtifactError,
    ArtifactMismatchError,
    DetectorError,
    InputError,
    InvalidParameterError,
)
from anomaly.fault_report import FaultReport
from anomaly.series import MultiScaleDetector
from anomaly.thresholds import AnomalyFilter, FixedThreshold, QuantileThreshold, Threshold

__all__ = [
    "DETECTORS",
    "AnomalyFilter",
    "ArtifactCorruptError",
    "ArtifactError",
    "ArtifactMismatchError",
    "ContextResidual",
    "Cusum",
    "DetectorBase",
    "DetectorError",
    "EngineConfig",
    "FaultEngine",
    "FaultReport",
    "FixedThreshold",
    "FrozenSignal",
    "InputError",
    "InvalidParameterError",
    "MultiScaleDetector",
    "PageHinkley",
    "QuantileThreshold",
    "RobustZScore",
    "StreamingDetector",
    "Threshold",
]

DETECTORS: Final[Mapping[str, type[DetectorBase]]] = MappingProxyType(
    {
        "robust_zscore": RobustZScore,
        "context_residual": ContextResidual,
        "page_hinkley": PageHinkley,
        "cusum": Cusum,
        "frozen_signal": FrozenSignal,
        "multiscale": MultiScaleDetector,
    }
)
