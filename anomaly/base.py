"""The streaming-detector protocol and the parameter plumbing every detector shares.

Detectors follow River's convention (STYLE.md 10.3): ``learn_one(x) -> None`` and
``score_one(x) -> float`` on a mapping of feature name to value, higher = more anomalous.
``__init__`` only stores its keyword arguments; learned state is created lazily and its
attribute names end with ``_``; parameter ranges are declared once in
``_constraints`` and checked on the first call.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from anomaly.exceptions import InvalidParameterError

__all__ = ["Constraint", "DetectorBase", "StreamingDetector", "finite_items"]


@runtime_checkable
class StreamingDetector(Protocol):
    """What every streaming detector offers."""

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Update the learned state with one sample."""
        ...

    def score_one(self, x: Mapping[str, float]) -> float:
        """Score one sample without learning from it; higher = more anomalous, >= 0."""
        ...


Constraint = tuple[Callable[[Any], bool], str]


def finite_items(x: Mapping[str, float]) -> list[tuple[str, float]]:
    """The items of ``x`` whose values are finite numbers (NaN and blanks are skipped)."""
    out: list[tuple[str, float]] = []
    for key, value in x.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out.append((key, float(value)))
    return out


class DetectorBase:
    """Parameter introspection, validation and cloning shared by the detectors."""

    _constraints: ClassVar[Mapping[str, Constraint]] = {}
    #: the kind of anomaly the detector is for (``spike`` or ``frozen``): the contract
    #: tests inject that kind into their labelled stream
    catches: ClassVar[str] = "spike"

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Update the learned state with one sample (subclasses implement it)."""
        raise NotImplementedError

    def score_one(self, x: Mapping[str, float]) -> float:
        """Score one sample without learning; higher = worse (subclasses implement it)."""
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:
        """The constructor's keyword arguments, as stored."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def clone(self) -> Self:
        """A fresh, unfitted detector with the same parameters."""
        return type(self)(**self.get_params())

    @classmethod
    def example_params(cls) -> dict[str, Any]:
        """Parameters the contract tests use (River's ``_unit_test_params``)."""
        return {}

    def _check_params(self) -> None:
        for name, (ok, rule) in self._constraints.items():
            value = getattr(self, name)
            if not ok(value):
                raise InvalidParameterError(type(self).__name__, name, value, rule)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
