"""Fault plans: when a fault starts and how fast it grows.

A gradual fault has an onset and a nominal course (days from onset to the point where the
part is worn out). Its severity is ``((t - onset) / course) ** exponent``: zero before
the onset, accelerating as wear does, and still growing past 1. Severity is a physical
quantity inside each model (filter blockage, refrigerant lost, bearing friction); the
functional failure is *not* set here: each model finds it in its simulated signals with
the catalog's criterion (the room no longer within 2 °C of the setpoint, the fridge
above 8 °C ...). A sudden fault jumps to full severity at its onset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from aftercare.catalog import Catalog, Course
from firmware_sim.core import DAY, FloatArray

__all__ = ["GENERIC_FAULTS", "FaultPlan", "plan_random_fault"]

GENERIC_FAULTS: Final = ("SENSOR_STUCK", "DEVICE_OFFLINE")
DEFAULT_EXPONENT: Final = 1.6


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """One device's fault.

    Attributes:
        code: the catalog fault code.
        onset: epoch seconds when the fault starts (may precede the simulated window).
        course_s: nominal seconds from onset to full severity (0 for sudden faults).
        sudden: whether the fault has no precursor.
        exponent: how the wear accelerates.
    """

    code: str
    onset: float
    course_s: float
    sudden: bool
    exponent: float = DEFAULT_EXPONENT

    def severity(self, t: FloatArray) -> FloatArray:
        """Severity at ``t``: 0 before onset; 1 from onset for sudden faults."""
        if self.sudden or self.course_s <= 0:
            return np.asarray(t >= self.onset, dtype=np.float64)
        x = np.clip((t - self.onset) / self.course_s, 0.0, None)
        return np.asarray(x**self.exponent, dtype=np.float64)


def plan_random_fault(
    catalog: Catalog,
    code: str,
    t0: float,
    days: float,
    rng: np.random.Generator,
) -> FaultPlan:
    """A fault plan spread so that many failures land inside a window of ``days``.

    Gradual faults aim their failure at 30-110% of the window, with a course drawn from
    the catalog's ``typical_days``; a course longer than the window starts before it, as
    a part can already be wearing when recording begins. Sudden faults start anywhere
    in the middle 85% of the window.
    """
    spec = catalog.fault(code)
    if spec.course is Course.SUDDEN:
        onset = t0 + float(rng.uniform(0.1, 0.95)) * days * DAY
        return FaultPlan(code=code, onset=round(onset), course_s=0.0, sudden=True)
    lo, hi = spec.typical_days
    course_days = float(rng.uniform(lo, hi))
    failure_target = t0 + float(rng.uniform(0.3, 1.1)) * days * DAY
    onset = failure_target - course_days * DAY
    return FaultPlan(code=code, onset=round(onset), course_s=course_days * DAY, sudden=False)
