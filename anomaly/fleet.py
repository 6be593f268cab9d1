"""Fleet models: what a whole fleet of one kind says that one device's history cannot.

``aftercare anomaly train`` replays fleet telemetry through the engine, collects every
device-bucket's drift vector (the features of :mod:`anomaly.profiles`, in schema order)
and fits, per kind, a scikit-learn ``IsolationForest`` on the healthy ones (all of them
when there are no labels). With labels it also learns, per fault, the drift of the key
feature at which devices failed: the prognosis's failure level.

Artifacts are saved with ``skops.io`` (never pickle) and carry a format version and a
hash of the feature schema; loading checks both and refuses a mismatch with
:class:`~anomaly.exceptions.ArtifactMismatchError`, and loads only the types listed in
:data:`TRUSTED_TYPES`. :class:`FleetModelLoader` reloads the file when it changes, for
the gateway. Scoring is batched (:meth:`FleetModels.score_batch`): scikit-learn is never
called per row on the hot path (PERF_LIMITS.md: ~150 rows/s one by one, ~74,000 in
batches).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import statistics
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from anomaly.exceptions import ArtifactCorruptError, ArtifactMismatchError
from anomaly.profiles import PROFILES

__all__ = [
    "ARTIFACT_NAME",
    "FORMAT_VERSION",
    "TRUSTED_TYPES",
    "FleetModelLoader",
    "FleetModels",
    "feature_schema",
    "schema_hash",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION: Final = 1
ARTIFACT_NAME: Final = "fleet.skops"
# Every non-builtin type an artifact may hold; anything else is refused unread.
TRUSTED_TYPES: Final[tuple[str, ...]] = (
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.random._generator.Generator",
    "numpy.random._pcg64.PCG64",
    "numpy.random.mtrand.RandomState",
)


def feature_schema() -> dict[str, list[str]]:
    """Per kind, the ordered columns the models are trained on.

    ``d:<feature>`` is a feature's drift, ``v:<feature>`` its bucket mean and
    ``c:<metric>`` a context metric's bucket mean.
    """
    return {
        kind: [
            *(f"d:{n}" for n in profile.feature_names),
            *(f"v:{n}" for n in profile.feature_names),
            *(f"c:{n}" for n in profile.context),
        ]
        for kind, profile in sorted(PROFILES.items())
    }


def schema_hash(schema: Mapping[str, Sequence[str]] | None = None) -> str:
    """A short hash of the feature schema (the artifact must match the code's)."""
    text = json.dumps(schema if schema is not None else feature_schema(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(slots=True)
class FleetModels:
    """Trained fleet models.

    Attributes:
        models: kind -> fitted ``IsolationForest`` on healthy rows.
        classifiers: kind -> fitted ``RandomForestClassifier`` (fault code or ``healthy``)
            on labelled rows, when the training fleet had labels.
        failure_levels: fault code -> key-feature drift at functional failure.
        schema: kind -> feature order (the models' columns).
        trained_rows: kind -> how many rows each model saw.
    """

    models: dict[str, Any] = field(default_factory=dict)
    classifiers: dict[str, Any] = field(default_factory=dict)
    failure_levels: dict[str, float] = field(default_factory=dict)
    schema: dict[str, list[str]] = field(default_factory=feature_schema)
    trained_rows: dict[str, int] = field(default_factory=dict)

    def vector(
        self,
        kind: str,
        drift: Mapping[str, float],
        values: Mapping[str, float],
        context: Mapping[str, float],
    ) -> list[float] | None:
        """The schema-ordered row of one bucket (missing features as NaN).

        The classifier's trees route NaN on their own; the forest sees 0 instead.
        """
        names = self.schema.get(kind)
        if names is None:
            return None
        sources = {"d": drift, "v": values, "c": context}
        return [sources[n[0]].get(n[2:], math.nan) for n in names]

    def classify_batch(self, kind: str, rows: Sequence[Sequence[float]]) -> list[dict[str, float]]:
        """Class probabilities (fault code or ``healthy``) of many rows in one call."""
        model = self.classifiers.get(kind)
        if model is None or not rows:
            return [{} for _ in rows]
        proba = model.predict_proba(np.asarray(rows, dtype=float))
        classes = [str(c) for c in model.classes_]
        return [dict(zip(classes, (float(p) for p in row), strict=True)) for row in proba]

    def score_batch(self, kind: str, rows: Sequence[Sequence[float]]) -> list[float]:
        """Anomaly scores (higher = worse, about 0..1) of many rows in one call.

        This is the one place the forest's ``score_samples`` (lower = more abnormal) is
        turned into "higher = worse".
        """
        model = self.models.get(kind)
        if model is None or not rows:
            return [math.nan] * len(rows)
        x = np.nan_to_num(np.asarray(rows, dtype=float), nan=0.0)
        return [float(v) for v in -model.score_samples(x)]

    def save(self, directory: Path) -> Path:
        """Write the artifact into ``directory``; return its path."""
        import skops.io as sio

        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTIFACT_NAME
        payload = {
            "format_version": FORMAT_VERSION,
            "schema_hash": schema_hash(self.schema),
            "schema": self.schema,
            "models": self.models,
            "classifiers": self.classifiers,
            "failure_levels": self.failure_levels,
            "trained_rows": self.trained_rows,
        }
        tmp = path.with_suffix(".tmp")
        sio.dump(payload, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> FleetModels:
        """Load and check an artifact.

        Raises:
            ArtifactCorruptError: unreadable, or it holds a type not in :data:`TRUSTED_TYPES`.
            ArtifactMismatchError: another format version or feature schema.
        """
        import skops.io as sio

        try:
            data = path.read_bytes()
            untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED_TYPES]
            payload = None if untrusted else sio.loads(data, trusted=list(TRUSTED_TYPES))
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise ArtifactCorruptError(path, f"cannot read artifact: {exc}") from exc
        if untrusted:
            raise ArtifactCorruptError(path, f"untrusted types in artifact: {untrusted}")
        if not isinstance(payload, dict):
            raise ArtifactCorruptError(path, "artifact is not a mapping")
        version = payload.get("format_version")
        if version != FORMAT_VERSION:
            raise ArtifactMismatchError(path, "format version", str(FORMAT_VERSION), str(version))
        found = str(payload.get("schema_hash"))
        if found != schema_hash():
            raise ArtifactMismatchError(path, "feature schema", schema_hash(), found)
        return cls(
            models=dict(payload["models"]),
            classifiers=dict(payload.get("classifiers", {})),
            failure_levels={k: float(v) for k, v in payload["failure_levels"].items()},
            schema={k: list(v) for k, v in payload["schema"].items()},
            trained_rows={k: int(v) for k, v in payload.get("trained_rows", {}).items()},
        )


def fit_fleet_models(
    rows: Mapping[str, Sequence[Sequence[float]]],
    failure_drifts: Mapping[str, Sequence[float]],
    *,
    labelled: Mapping[str, tuple[Sequence[Sequence[float]], Sequence[str]]] | None = None,
    seed: int = 0,
    max_rows: int = 50_000,
) -> FleetModels:
    """Fit one forest per kind, the fault classifiers and the failure levels.

    Args:
        rows: kind -> healthy rows (schema order).
        failure_drifts: fault code -> key drift (in the fault's direction) at failure.
        labelled: kind -> (rows, class per row) for the fault classifiers.
        seed: random state of the forests and the subsampling.
        max_rows: rows per kind kept for fitting (a seeded subsample beyond it).
    """
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(seed)
    models: dict[str, Any] = {}
    trained: dict[str, int] = {}
    for kind, kind_rows in rows.items():
        x = np.nan_to_num(np.asarray(kind_rows, dtype=float), nan=0.0)
        if len(x) < 50:
            continue
        if len(x) > max_rows:
            x = x[rng.choice(len(x), max_rows, replace=False)]
        models[kind] = IsolationForest(n_estimators=100, random_state=seed).fit(x)
        trained[kind] = len(x)
    levels = {
        code: float(min(max(statistics.median(values), 6.0), 40.0))
        for code, values in failure_drifts.items()
        if values
    }
    classifiers = _fit_classifiers(labelled or {}, seed=seed, max_rows=4 * max_rows)
    return FleetModels(
        models=models, classifiers=classifiers, failure_levels=levels, trained_rows=trained
    )


def _fit_classifiers(
    labelled: Mapping[str, tuple[Sequence[Sequence[float]], Sequence[str]]],
    *,
    seed: int,
    max_rows: int,
) -> dict[str, Any]:
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for kind, (kind_rows, classes) in labelled.items():
        x = np.asarray(kind_rows, dtype=float)
        y = np.asarray(classes)
        if len(set(classes)) < 2 or len(x) < 100:
            continue
        if len(x) > max_rows:
            keep = rng.choice(len(x), max_rows, replace=False)
            x, y = x[keep], y[keep]
        out[kind] = RandomForestClassifier(
            n_estimators=60,
            min_samples_leaf=10,
            class_weight="balanced_subsample",
            random_state=seed,
            n_jobs=1,
        ).fit(x, y)
    return out


class FleetModelLoader:
    """Loads the artifact at start and again whenever the file changes.

    Args:
        path: the artifact (``models/fleet.skops``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._models: FleetModels | None = None

    def current(self) -> FleetModels | None:
        """The models, reloaded first if the file changed (None when there is none).

        A changed file that cannot be used is logged and the previous models are kept.
        """
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return self._models
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._models = FleetModels.load(self.path)
                logger.info("fleet models loaded from %s", self.path)
            except (ArtifactCorruptError, ArtifactMismatchError) as exc:
                logger.error("fleet models at %s refused: %s", self.path, exc)  # noqa: TRY400 — the reason is the message
        return self._models
