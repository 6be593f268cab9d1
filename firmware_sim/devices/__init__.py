"""One physics model per catalog kind, each a ``simulate(ctx) -> Series`` function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from firmware_sim.core import Series
from firmware_sim.devices import (
    air_conditioner,
    refrigerator,
    robot_vacuum,
    washing_machine,
    water_heater,
    water_purifier,
)
from firmware_sim.spec import SimContext

__all__ = ["KIND_PREFIX", "MODELS"]

MODELS: Final[Mapping[str, Callable[[SimContext], Series]]] = MappingProxyType(
    {
        "air_conditioner": air_conditioner.simulate,
        "refrigerator": refrigerator.simulate,
        "washing_machine": washing_machine.simulate,
        "water_purifier": water_purifier.simulate,
        "water_heater": water_heater.simulate,
        "robot_vacuum": robot_vacuum.simulate,
    }
)
"""The physics model of every catalog kind."""

KIND_PREFIX: Final[Mapping[str, str]] = MappingProxyType(
    {
        "air_conditioner": "ac",
        "refrigerator": "fr",
        "washing_machine": "wm",
        "water_purifier": "wp",
        "water_heater": "wh",
        "robot_vacuum": "rv",
    }
)
"""Device-id prefixes: ``ac-000042``."""
