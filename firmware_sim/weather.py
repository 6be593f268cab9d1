"""Weather and indoor climate of a home: seasons, days, hours and passing weather systems.

Outdoor temperature is a seasonal cosine (coldest in mid-January), a daily cycle
(warmest mid-afternoon, damped on cloudy days) and a day-to-day anomaly from passing
weather systems (an AR(1) process on days, interpolated over hours). Every device of a
home sees the same weather, so a heat wave shows in the air conditioner, the fridge's
kitchen and the cold-water inlet at once, as it would in a real home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np

from firmware_sim.core import DAY, HOUR, FloatArray, lowpass

__all__ = ["Climate", "Weather"]

_YEAR_DAYS: Final = 365.2425
# 2000-01-01T00:00Z: a fixed epoch so the day of year needs no calendar per sample.
_EPOCH_2000: Final = datetime(2000, 1, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True)
class Climate:
    """A home's climate.

    Attributes:
        mean_c: annual mean outdoor temperature.
        annual_amp_c: half the difference between the warmest and coldest month.
        diurnal_amp_c: half the typical day-night difference on a clear day.
        utc_offset_h: the home's local time offset (usage schedules are local).
        anomaly_sd_c: standard deviation of the day-to-day weather anomaly.
    """

    mean_c: float = 17.0
    annual_amp_c: float = 11.0
    diurnal_amp_c: float = 5.0
    utc_offset_h: float = 8.0
    anomaly_sd_c: float = 2.5

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Climate:
        """A plausible climate (temperate to subtropical; homes in several regions)."""
        mean = float(rng.uniform(13.0, 20.0))
        # the warmest month's mean stays between 24 and 30 °C (no desert homes)
        peak = float(rng.uniform(max(24.0, mean + 6.0), 30.0))
        return cls(
            mean_c=mean,
            annual_amp_c=peak - mean,
            diurnal_amp_c=float(rng.uniform(3.5, 6.5)),
            utc_offset_h=8.0,
            anomaly_sd_c=float(rng.uniform(1.8, 3.2)),
        )


class Weather:
    """The weather of one home over a time window.

    Args:
        climate: the home's climate.
        t0: window start, epoch seconds.
        t1: window end, epoch seconds.
        rng: the home's random stream (same for every device of the home).
    """

    def __init__(self, climate: Climate, t0: float, t1: float, rng: np.random.Generator) -> None:
        self.climate = climate
        self.day0 = np.floor(t0 / DAY) - 1.0
        n_days = int(np.ceil((t1 - t0) / DAY)) + 4
        phi = 0.75
        shocks = rng.normal(0.0, climate.anomaly_sd_c * np.sqrt(1 - phi**2), n_days)
        anomaly = np.empty(n_days)
        anomaly[0] = rng.normal(0.0, climate.anomaly_sd_c)
        for i in range(1, n_days):
            anomaly[i] = phi * anomaly[i - 1] + shocks[i]
        limit = 2.5 * climate.anomaly_sd_c
        self._anomaly = np.clip(anomaly, -limit, limit)
        # cloudiness damps the daily cycle and the sun; clear days swing more
        self._clear = np.clip(rng.beta(2.5, 1.5, n_days), 0.15, 1.0)

    def _daily(self, table: FloatArray, t: FloatArray) -> FloatArray:
        x = t / DAY - self.day0 - 0.5
        idx = np.arange(len(table), dtype=np.float64)
        return np.asarray(np.interp(x, idx, table), dtype=np.float64)

    def local_hour(self, t: FloatArray) -> FloatArray:
        """Local clock hour in [0, 24)."""
        return np.asarray(((t / HOUR) + self.climate.utc_offset_h) % 24.0, dtype=np.float64)

    def seasonal(self, t: FloatArray) -> FloatArray:
        """The seasonal mean outdoor temperature (no daily cycle, no weather)."""
        doy = ((t - _EPOCH_2000) / DAY) % _YEAR_DAYS
        c = self.climate
        return np.asarray(
            c.mean_c - c.annual_amp_c * np.cos(2 * np.pi * (doy - 15.0) / _YEAR_DAYS),
            dtype=np.float64,
        )

    def outdoor(self, t: FloatArray) -> FloatArray:
        """Outdoor air temperature at ``t``."""
        hour = self.local_hour(t)
        clear = self._daily(self._clear, t)
        diurnal = self.climate.diurnal_amp_c * (0.45 + 0.55 * clear)
        daily = diurnal * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
        return np.asarray(
            self.seasonal(t) + self._daily(self._anomaly, t) + daily, dtype=np.float64
        )

    def sun(self, t: FloatArray) -> FloatArray:
        """Solar gain factor in [0, 1]: daylight and clear sky."""
        hour = self.local_hour(t)
        daylight = np.clip(np.sin(np.pi * (hour - 6.0) / 13.0), 0.0, None)
        return np.asarray(daylight * self._daily(self._clear, t), dtype=np.float64)

    def indoor_ambient(self, t: FloatArray, dt: float, *, garage: bool = False) -> FloatArray:
        """Room temperature of an unconditioned room (a kitchen; a garage if ``garage``)."""
        out = self.outdoor(t)
        if garage:
            return lowpass(out, dt, 3 * HOUR) + 2.0
        slow = lowpass(out, dt, 30 * HOUR)
        return np.asarray(21.5 + 0.4 * (slow - 18.0) + 0.15 * (out - slow), dtype=np.float64)

    def mains_water(self, t: FloatArray) -> FloatArray:
        """Cold mains water temperature: follows the season with a lag, never the hour."""
        lagged = self.seasonal(t - 30 * DAY)
        return np.asarray(
            np.clip(self.climate.mean_c + 0.7 * (lagged - self.climate.mean_c), 4.0, 30.0),
            dtype=np.float64,
        )
