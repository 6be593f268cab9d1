"""The per-device fit behind a residual feature (a capacitor's extra current)."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.config import EngineConfig
from anomaly.device import DeviceModel
from anomaly.profiles import PROFILES, Derived, Residual
from anomaly.residuals import ResidualFit

_SPEC = Residual(
    name="excess_pct",
    target="current",
    drivers=(Derived(name="work", plus=("work",)), Derived(name="out", plus=("out",))),
)


def _train(fit: ResidualFit, rng: np.random.Generator, n: int = 200) -> None:
    for _ in range(n):
        work, out = rng.uniform(2.0, 10.0), rng.uniform(20.0, 35.0)
        current = 1.0 + 0.3 * work + 0.02 * out + 0.004 * work * out
        x = fit.regressors({"work": work, "out": out}, 1.0)
        assert x is not None
        fit.learn(x, current)


def test_fit_learns_the_target_from_its_drivers_and_reads_excess_in_percent() -> None:
    fit = ResidualFit(_SPEC)
    _train(fit, np.random.default_rng(1))
    x = fit.regressors({"work": 8.0, "out": 30.0}, 1.0)
    assert x is not None
    normal = 1.0 + 0.3 * 8.0 + 0.02 * 30.0 + 0.004 * 8.0 * 30.0
    assert fit.excess(x, normal) == pytest.approx(0.0, abs=0.5)
    assert fit.excess(x, normal * 1.2) == pytest.approx(20.0, abs=1.0)


def test_fit_says_nothing_before_it_has_a_few_buckets_per_parameter() -> None:
    fit = ResidualFit(_SPEC)
    _train(fit, np.random.default_rng(2), n=5)
    x = fit.regressors({"work": 6.0, "out": 30.0}, 1.0)
    assert x is not None
    assert fit.excess(x, 5.0) is None


def test_fit_refuses_to_guess_far_outside_the_range_it_learned() -> None:
    fit = ResidualFit(_SPEC)
    _train(fit, np.random.default_rng(3))
    inside = fit.regressors({"work": 10.5, "out": 30.0}, 1.0)
    far = fit.regressors({"work": 20.0, "out": 30.0}, 1.0)
    assert inside is not None
    assert far is not None
    assert fit.excess(inside, 6.0) is not None
    assert fit.excess(far, 6.0) is None


def test_missing_driver_leaves_the_bucket_without_the_feature() -> None:
    fit = ResidualFit(_SPEC)
    assert fit.regressors({"work": 6.0}, 1.0) is None


def test_residual_features_are_context_free_with_a_noise_floor() -> None:
    model = DeviceModel(PROFILES["air_conditioner"], EngineConfig())
    i = model.names.index("current_excess_pct")
    assert model.free[i]
    assert model.noise_floor[i] == pytest.approx(2.0)
    assert model.noise_floor.sum() == pytest.approx(2.0)


def test_fit_is_learned_and_read_only_above_the_median_work() -> None:
    """Light loads run a compressor at its lowest speed, where its current flattens."""
    fit = ResidualFit(_SPEC)
    rng = np.random.default_rng(4)
    for _ in range(200):
        work, out = rng.uniform(0.0, 10.0), rng.uniform(20.0, 35.0)
        current = 1.0 + 0.3 * max(work, 4.0) + 0.02 * out
        x = fit.regressors({"work": work, "out": out}, 1.0)
        assert x is not None
        fit.learn(x, current)
    light = fit.regressors({"work": 2.0, "out": 30.0}, 1.0)
    heavy = fit.regressors({"work": 8.0, "out": 30.0}, 1.0)
    assert light is not None
    assert heavy is not None
    assert fit.excess(light, 1.0 + 0.3 * 4.0 + 0.6) is None
    assert fit.excess(heavy, 1.0 + 0.3 * 8.0 + 0.6) == pytest.approx(0.0, abs=1.0)
