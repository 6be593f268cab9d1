"""Every registered streaming detector honours the River-style contract (STYLE.md 10.3)."""

from __future__ import annotations

import inspect
import math
import random
import sys
from collections.abc import Callable, Iterator

import pytest
import skops.io as sio

import anomaly
from anomaly import DETECTORS, DetectorBase

Check = Callable[[type[DetectorBase]], None]


def _make(cls: type[DetectorBase], **extra: object) -> DetectorBase:
    return cls(**{**cls.example_params(), **extra})


def _stream(
    n: int, seed: int, features: tuple[str, ...] = ("c0", "x", "y")
) -> Iterator[dict[str, float]]:
    rng = random.Random(seed)
    for i in range(n):
        c = 10 + 5 * math.sin(i / 12)
        yield {
            features[0]: c,
            **{f: 0.5 * c + rng.gauss(0, 1) + (i % 12) * 0.1 for f in features[1:]},
        }


def check_empty_and_first_sample(cls: type[DetectorBase]) -> None:
    det = _make(cls)
    assert det.score_one({}) == 0.0
    det.learn_one({})
    first = det.score_one({"x": 1.0})
    assert first >= 0.0
    assert math.isfinite(first)
    det.learn_one({"x": 1.0})
    assert math.isfinite(det.score_one({"x": 1.0}))


def check_emerging_and_disappearing_features(cls: type[DetectorBase]) -> None:
    det = _make(cls)
    for i, x in enumerate(_stream(60, 1)):
        if i > 20:
            x["new"] = float(i % 5)
        if i > 40:
            del x["y"]
        s = det.score_one(x)
        assert s >= 0.0
        assert math.isfinite(s)
        det.learn_one(x)


def check_nan_values_are_ignored(cls: type[DetectorBase]) -> None:
    det = _make(cls)
    for x in _stream(40, 2):
        det.learn_one(x)
    s = det.score_one({"x": math.nan, "y": math.inf})
    assert s == 0.0 or math.isfinite(s)


def check_determinism(cls: type[DetectorBase]) -> None:
    scores = []
    for _ in range(2):
        det = _make(cls)
        run = []
        for x in _stream(150, 3):
            run.append(det.score_one(x))
            det.learn_one(x)
        scores.append(run)
    assert scores[0] == scores[1]


def check_skops_round_trip(cls: type[DetectorBase]) -> None:
    det = _make(cls)
    for x in _stream(80, 4):
        det.learn_one(x)
    data = sio.dumps(det)
    restored = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    probe = {"c0": 12.0, "x": 9.0, "y": 3.0}
    assert restored.score_one(probe) == det.score_one(probe)


def check_bounded_memory(cls: type[DetectorBase]) -> None:
    det = _make(cls, max_features=8)

    def size() -> int:
        return len(sio.dumps(det))

    for i, x in enumerate(_stream(3000, 5)):
        x[f"f{i % 50}"] = float(i % 7)
        det.learn_one(x)
        if i == 1000:
            early = size()
    assert size() <= early * 1.1 + 2048


def check_prequential_auc_above_chance(cls: type[DetectorBase]) -> None:
    rng = random.Random(6)
    det = _make(cls)
    scores: list[tuple[float, bool]] = []
    previous: dict[str, float] = {}
    for i, x in enumerate(_stream(1200, 7)):
        if cls.catches == "frozen":
            # a sensor freezes for 30 samples every 150
            anomalous = i > 300 and i % 150 >= 120
            if anomalous:
                x = dict(previous)
        else:
            anomalous = i > 300 and rng.random() < 0.03
            if anomalous:
                x = {k: v + (8.0 if k != "c0" else 0.0) for k, v in x.items()}
        previous = x
        scores.append((det.score_one(x), anomalous))
        det.learn_one(x)
    pos = [s for s, a in scores[300:] if a]
    neg = [s for s, a in scores[300:] if not a]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert wins / (len(pos) * len(neg)) > 0.5


def check_params_stored_and_state_suffixed(cls: type[DetectorBase]) -> None:
    det = _make(cls)
    params = det.get_params()
    assert set(params) == set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert set(vars(det)) == set(params), "__init__ only stores its arguments"
    for x in _stream(30, 8):
        det.learn_one(x)
    learned = set(vars(det)) - set(params)
    assert learned
    assert all(name.endswith("_") for name in learned)
    assert type(det.clone().get_params()) is dict


CHECKS: tuple[Check, ...] = (
    check_empty_and_first_sample,
    check_emerging_and_disappearing_features,
    check_nan_values_are_ignored,
    check_determinism,
    check_skops_round_trip,
    check_bounded_memory,
    check_prequential_auc_above_chance,
    check_params_stored_and_state_suffixed,
)


@pytest.mark.parametrize(
    ("name", "check"),
    [(name, check) for name in DETECTORS for check in CHECKS],
    ids=[f"{name}-{check.__name__}" for name in DETECTORS for check in CHECKS],
)
def test_detector_contract(name: str, check: Check) -> None:
    check(DETECTORS[name])


def test_every_detector_module_class_is_registered() -> None:
    found = {
        obj
        for mod in ("anomaly.detectors", "anomaly.series")
        for _, obj in inspect.getmembers(sys.modules[mod], inspect.isclass)
        if issubclass(obj, DetectorBase) and obj is not DetectorBase and obj.__module__ == mod
    }
    assert found == set(DETECTORS.values())


def test_package_all_lists_the_public_names() -> None:
    public = {
        n
        for n in dir(anomaly)
        if not n.startswith("_")
        and not inspect.ismodule(getattr(anomaly, n))
        and getattr(getattr(anomaly, n), "__module__", "anomaly").startswith("anomaly")
    }
    assert set(anomaly.__all__) == public
