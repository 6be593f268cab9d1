"""How people use their appliances: who is home when, and when they cook, wash and shower.

A home has a weekday and a weekend rhythm (out at work on weekdays, home at weekends),
individual wake and leave times, and now and then a few days away. Appliances draw their
usage from it: meals open the fridge, showers draw hot water, the washing machine runs in
the evening or at weekends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_sim.core import DAY, HOUR, BoolArray, FloatArray

__all__ = ["Household", "events_from_rate", "meal_rate"]


@dataclass(frozen=True, slots=True)
class Household:
    """A home's routine (local hours).

    Attributes:
        wake_h: when people get up.
        leave_h: when they leave on a weekday.
        back_h: when they are back on a weekday.
        sleep_h: when they go to bed.
        works_from_home: whether someone is home on weekdays too.
        away_days: day numbers (since epoch, local) when nobody is home.
        utc_offset_h: local time offset.
    """

    wake_h: float
    leave_h: float
    back_h: float
    sleep_h: float
    works_from_home: bool
    away_days: frozenset[int]
    utc_offset_h: float = 8.0

    @classmethod
    def draw(cls, rng: np.random.Generator, t0: float, t1: float, utc_offset_h: float) -> Household:
        """A routine with individual times and a chance of a trip away."""
        away: set[int] = set()
        n_days = max(1, int((t1 - t0) / DAY))
        for _ in range(rng.poisson(n_days / 45.0)):
            start = int((t0 + utc_offset_h * HOUR) / DAY) + int(rng.integers(0, n_days))
            away.update(range(start, start + int(rng.integers(2, 6))))
        return cls(
            wake_h=float(rng.uniform(6.0, 8.0)),
            leave_h=float(rng.uniform(7.8, 9.0)),
            back_h=float(rng.uniform(17.5, 19.5)),
            sleep_h=float(rng.uniform(22.5, 24.0)),
            works_from_home=bool(rng.random() < 0.2),
            away_days=frozenset(away),
            utc_offset_h=utc_offset_h,
        )

    def local(self, t: FloatArray) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Local hour, local day number and whether it is a weekend day."""
        lt = t + self.utc_offset_h * HOUR
        day = np.floor(lt / DAY)
        hour = (lt - day * DAY) / HOUR
        # 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Monday
        weekend = ((day + 3) % 7) >= 5
        return hour, day, weekend

    def at_home(self, t: FloatArray) -> BoolArray:
        """Whether anyone is home."""
        hour, day, weekend = self.local(t)
        out_at_work = (~weekend) & (hour >= self.leave_h) & (hour < self.back_h)
        if self.works_from_home:
            out_at_work = np.zeros_like(out_at_work)
        away = np.isin(day.astype(np.int64), np.fromiter(self.away_days, dtype=np.int64))
        return np.asarray(~out_at_work & ~away, dtype=np.bool_)

    def awake(self, t: FloatArray) -> BoolArray:
        """Whether people are home and awake."""
        hour, _, _ = self.local(t)
        up = (hour >= self.wake_h) & (hour < self.sleep_h)
        return np.asarray(up & self.at_home(t), dtype=np.bool_)


def meal_rate(hour: FloatArray) -> FloatArray:
    """Relative activity through the day: peaks at breakfast, lunch and dinner."""
    peaks = (
        0.8 * np.exp(-0.5 * ((hour - 7.5) / 0.8) ** 2)
        + 0.6 * np.exp(-0.5 * ((hour - 12.2) / 0.9) ** 2)
        + 1.0 * np.exp(-0.5 * ((hour - 19.0) / 1.2) ** 2)
    )
    return np.asarray(0.08 + peaks, dtype=np.float64)


def events_from_rate(rate_per_s: FloatArray, dt: float, rng: np.random.Generator) -> FloatArray:
    """Poisson event counts per step for a time-varying rate (events per second)."""
    return np.asarray(rng.poisson(np.clip(rate_per_s, 0.0, None) * dt), dtype=np.float64)
