"""Fleet models: trained from telemetry, saved with skops, checked on load, reloaded."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from typer.testing import CliRunner

from aftercare.cli import app
from anomaly.engine import FaultEngine
from anomaly.exceptions import ArtifactCorruptError, ArtifactMismatchError
from anomaly.fleet import ARTIFACT_NAME, FleetModelLoader, FleetModels, fit_fleet_models
from device_adapters import NativeAdapter
from firmware_sim.export import export_fleet
from firmware_sim.fleet import Fleet, FleetSpec
from gateway.pipeline import Pipeline
from tests.anomaly.conftest import START, ac_trio, run_fleet


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    spec = FleetSpec.random(12, days=12, seed=5, start=START)
    export_fleet(Fleet(spec), out)
    return out


def _small_models() -> FleetModels:
    rng = np.random.default_rng(0)
    schema = FleetModels().schema["air_conditioner"]
    rows = {"air_conditioner": rng.normal(size=(200, len(schema))).tolist()}
    return fit_fleet_models(rows, {"AC_FILTER_CLOGGED": [12.0, 14.0, 30.0]}, seed=0)


def test_artifact_round_trip_keeps_scores_and_levels(tmp_path: Path) -> None:
    models = _small_models()
    path = models.save(tmp_path)
    loaded = FleetModels.load(path)
    row = [[0.5] * len(models.schema["air_conditioner"])]
    assert loaded.score_batch("air_conditioner", row) == models.score_batch("air_conditioner", row)
    assert loaded.failure_levels == {"AC_FILTER_CLOGGED": 14.0}


def test_artifact_with_another_schema_is_refused(tmp_path: Path) -> None:
    models = _small_models()
    models.schema = {**models.schema, "air_conditioner": ["something_else"]}
    path = models.save(tmp_path)
    with pytest.raises(ArtifactMismatchError, match="feature schema"):
        FleetModels.load(path)


def test_artifact_with_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ARTIFACT_NAME
    sio.dump({"format_version": 999, "schema_hash": "x"}, path)
    with pytest.raises(ArtifactMismatchError, match="format version"):
        FleetModels.load(path)


def test_artifact_with_untrusted_types_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / ARTIFACT_NAME
    sio.dump({"format_version": 1, "x": Path("/etc")}, path)
    with pytest.raises(ArtifactCorruptError, match="untrusted"):
        FleetModels.load(path)


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ARTIFACT_NAME
    path.write_bytes(b"not a zip")
    with pytest.raises(ArtifactCorruptError):
        FleetModels.load(path)


def test_loader_reloads_when_the_file_changes_and_keeps_the_last_good(tmp_path: Path) -> None:
    loader = FleetModelLoader(tmp_path / ARTIFACT_NAME)
    assert loader.current() is None
    first = _small_models()
    path = first.save(tmp_path)
    one = loader.current()
    assert one is not None
    assert loader.current() is one
    second = _small_models()
    second.failure_levels = {"AC_FILTER_CLOGGED": 20.0}
    second.save(tmp_path)
    os.utime(path, ns=(1, 1))
    two = loader.current()
    assert two is not None
    assert two.failure_levels == {"AC_FILTER_CLOGGED": 20.0}
    path.write_bytes(b"broken")
    assert loader.current() is two


def test_train_command_fits_and_saves_models(export_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "anomaly",
            "train",
            "--input",
            str(export_dir / "telemetry.jsonl"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    models = FleetModels.load(Path(summary["artifact"]))
    assert models.models, "at least one kind had enough rows"


def test_eval_command_prints_the_scores(export_dir: Path) -> None:
    result = CliRunner().invoke(app, ["anomaly", "eval", "--data", str(export_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"faults", "gradual", "overall", "false_per_1000_device_days"} <= set(summary)


class _CountingModels(FleetModels):
    """Fleet models that remember the size of every batch they were asked to score."""

    def __init__(self, base: FleetModels) -> None:
        super().__init__(base.models, base.classifiers, base.failure_levels, base.schema)
        self.batches: list[int] = []

    def score_batch(self, kind: str, rows: Sequence[Sequence[float]]) -> list[float]:
        self.batches.append(len(rows))
        return super().score_batch(kind, rows)


def test_engine_scores_fleet_models_in_batches_not_per_row() -> None:
    models = _CountingModels(_small_models())
    engine = FaultEngine(fleet_models=models, fleet_batch=64)
    reports = run_fleet(ac_trio(days=12), Pipeline([NativeAdapter()], engine))
    reports += engine.flush()
    assert models.batches, "the forest was used"
    # a small fleet flushes every six telemetry hours (12 days: at most 48 calls)
    assert len(models.batches) <= 12 * 4 + 1
    assert sum(models.batches) > 4 * len(models.batches)
    assert max(models.batches) <= 64
    assert all(r.fault_code != "AC_FAN_BEARING_WEAR" for r in reports)


def test_engine_takes_models_written_after_start_at_its_next_sweep(tmp_path: Path) -> None:
    engine = FaultEngine(model_loader=FleetModelLoader(tmp_path / ARTIFACT_NAME))
    before = engine.fleet_models
    _small_models().save(tmp_path)
    engine.sweep(START)
    after = engine.fleet_models
    assert before is None
    assert after is not None
    assert after.failure_levels == {"AC_FILTER_CLOGGED": 14.0}


def test_engine_keeps_its_models_when_a_broken_file_replaces_them(tmp_path: Path) -> None:
    path = _small_models().save(tmp_path)
    engine = FaultEngine(model_loader=FleetModelLoader(path))
    loaded = engine.fleet_models
    assert loaded is not None
    path.write_bytes(b"not a skops file")
    engine.sweep(START)
    assert engine.fleet_models is loaded


def test_gateway_loads_the_configured_fleet_models(tmp_path: Path) -> None:
    from gateway.runtime import GatewayRuntime
    from gateway.settings import GatewaySettings

    path = _small_models().save(tmp_path / "models")
    settings = GatewaySettings(
        data_dir=tmp_path / "gw", http_port=0, pipeline={"fleet_models": path}
    )
    runtime = GatewayRuntime(settings)
    detector = runtime.pipeline.detector
    assert isinstance(detector, FaultEngine)
    assert detector.fleet_models is not None
    assert detector.fleet_models.failure_levels == {"AC_FILTER_CLOGGED": 14.0}
