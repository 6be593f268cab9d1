"""What a simulated device is: identity, profile, fault, and the context a model runs in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import numpy as np

from aftercare.catalog import Course, default_catalog
from aftercare.clock import ensure_utc
from firmware_sim.core import DAY, FloatArray
from firmware_sim.faults import FaultPlan
from firmware_sim.usage import Household
from firmware_sim.weather import Weather

__all__ = ["DeviceSpec", "Profile", "SimContext", "WireFormat", "fault_plan"]


class Profile(StrEnum):
    """Healthy devices that are unusual on purpose: they must not look faulty."""

    NORMAL = "normal"
    HOT_ATTIC = "hot_attic"  # an air conditioner in a sun-baked top-floor room
    HEAVY_USER = "heavy_user"  # a large family: more cycles, draws, door openings
    ODD_SETPOINT = "odd_setpoint"  # a cold-loving owner, a very hot tank, a cold fridge
    GARAGE = "garage"  # a fridge in an unheated garage: ambient follows the weather


class WireFormat(StrEnum):
    """How a device publishes over MQTT."""

    NATIVE = "native"
    ZIGBEE2MQTT = "zigbee2mqtt"
    TASMOTA = "tasmota"
    SHELLY = "shelly"


def fault_plan(
    code: str, onset: datetime, course_days: float | None = None, *, exponent: float = 1.6
) -> FaultPlan:
    """A fault plan from calendar values (for explicit fleets: demos and tests).

    Args:
        code: a catalog fault code.
        onset: when the fault starts.
        course_days: nominal days from onset to full severity for a gradual fault;
            defaults to the middle of the catalog's ``typical_days``. Ignored for sudden
            faults. The functional failure is then found by the physics, near this.
        exponent: how the wear accelerates.
    """
    spec = default_catalog().fault(code)
    sudden = spec.course is Course.SUDDEN
    if course_days is None:
        course_days = sum(spec.typical_days) / 2.0
    return FaultPlan(
        code=code,
        onset=round(ensure_utc(onset).timestamp()),
        course_s=0.0 if sudden else course_days * DAY,
        sudden=sudden,
        exponent=exponent,
    )


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One simulated appliance.

    Attributes:
        device_id: e.g. ``ac-000042``.
        kind: a catalog kind.
        home_id: e.g. ``h-000017``.
        model: a catalog model of ``kind``.
        fw: one of the model's firmware versions.
        profile: normal or one of the unusual-but-healthy profiles.
        fault: the device's fault, or ``None`` for a healthy device.
        purchase_date: when the appliance was bought (its age shapes wear counters).
        wire_format: how it publishes live.
        index: its number in the fleet; seeds its random streams.
    """

    device_id: str
    kind: str
    home_id: str
    model: str
    fw: str
    profile: Profile = Profile.NORMAL
    fault: FaultPlan | None = None
    purchase_date: date | None = None
    wire_format: WireFormat = WireFormat.NATIVE
    index: int = 0


@dataclass(slots=True)
class SimContext:
    """Everything a physics model needs for one device.

    Attributes:
        spec: the device.
        t0: window start, epoch seconds.
        t1: window end, epoch seconds.
        rng: the device's own random stream; it does not depend on the fault, so a faulty
            device and its healthy twin see the same weather, usage and spread.
        weather: the home's weather.
        household: the home's routine.
        age_days: the appliance's age at ``t0``.
    """

    spec: DeviceSpec
    t0: float
    t1: float
    rng: np.random.Generator
    weather: Weather
    household: Household
    age_days: float

    @property
    def profile(self) -> Profile:
        """The device's profile."""
        return self.spec.profile

    def severity(self, code: str, t: FloatArray) -> FloatArray:
        """Severity of fault ``code`` at ``t`` (zeros unless the device has that fault)."""
        fault = self.spec.fault
        if fault is None or fault.code != code:
            return np.zeros_like(t)
        return fault.severity(t)

    def onset(self) -> float:
        """The fault's onset (``+inf`` for a healthy device)."""
        return self.spec.fault.onset if self.spec.fault is not None else float("inf")

    def grid(self, interval_s: float) -> FloatArray:
        """Report times every ``interval_s`` with a per-device phase and clock jitter."""
        phase = float(self.rng.integers(0, int(interval_s)))
        n = int((self.t1 - self.t0 - phase) // interval_s) + 1
        base = self.t0 + phase + interval_s * np.arange(max(n, 0), dtype=np.float64)
        jitter = self.rng.integers(-2, 3, len(base)).astype(np.float64)
        t = np.clip(base + jitter, self.t0, self.t1 - 1)
        return np.asarray(np.maximum.accumulate(t), dtype=np.float64)
