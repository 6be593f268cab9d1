"""Fault signatures: which features deviate, and which way, for each catalog fault.

This is DESIGN.md Contract 2's physics paragraph as data. Directions are of the
context-corrected deviation (+1 higher than this device's normal for the conditions, -1
lower, 0 either way). ``required`` features must all deviate beyond the threshold;
``support`` features add to the match when they agree and subtract when they disagree;
``against`` features deviating that way rule the fault out (a clogged filter does not
slow the fan's rotor). ``key`` is the feature whose trend the prognosis follows.

A fault may have more than one row (a slow drain seen as a longer drain time, or as a
lower fill/drain ratio); the rows share the code, and so one leaky counter and one
episode. The first row is the fault's primary one (training reads its key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = ["SIGNATURES", "Signature", "signatures_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """How one fault shows in the features of its kind.

    Attributes:
        code: the catalog fault code.
        kind: the device kind.
        required: feature -> direction; all must deviate that way.
        support: feature -> direction; agreement strengthens the match.
        against: feature -> direction; deviation that way excludes the fault.
        key: the feature the prognosis extrapolates.
        sudden: the fault appears at once (a lower confirmation count applies).
        threshold_scale: multiplies the engine's threshold for this fault's required
            features (features that follow the weather and the household's week, such as
            fan speed and compressor current, need more evidence than approach ratios).
    """

    code: str
    kind: str
    required: Mapping[str, int]
    key: str
    support: Mapping[str, int] = field(default_factory=dict)
    against: Mapping[str, int] = field(default_factory=dict)
    sudden: bool = False
    threshold_scale: float = 1.0

    @property
    def features(self) -> tuple[str, ...]:
        """Every feature the signature looks at."""
        return (*self.required, *self.support, *self.against)


_AC = "air_conditioner"
_FR = "refrigerator"
_WM = "washing_machine"
_WP = "water_purifier"
_WH = "water_heater"
_RV = "robot_vacuum"

SIGNATURES: Final[tuple[Signature, ...]] = (
    # less airflow: supply air and coil colder relative to the room, the coil colder
    # still (the approach ratio rises), the room warmer. No "against" the fan: the
    # ratio is normalised by fan speed (profiles.py), so a slower fan does not move it
    Signature(
        code="AC_FILTER_CLOGGED",
        kind=_AC,
        required={"airflow_ratio": +1},
        support={"supply_delta_c": +1, "coil_delta_c": +1, "temp_error_c": +1},
        key="airflow_ratio",
        threshold_scale=0.8,
    ),
    # lost charge: a colder coil for the air that passes it (the fan-normalised approach
    # ratio falls, which nothing else makes it do), less capacity and current. The
    # suction pressure only supports: the lost capacity warms the coil back up, so on
    # its own it barely moves until late
    Signature(
        code="AC_REFRIGERANT_LEAK",
        kind=_AC,
        required={"airflow_ratio": -1},
        support={
            "suction_pressure_kpa": -1,
            "temp_error_c": +1,
            "compressor_current_a": -1,
            "supply_delta_c": -1,
        },
        key="airflow_ratio",
    ),
    # a worn bearing makes the fan's speed ripple, then drags it down
    Signature(
        code="AC_FAN_BEARING_WEAR",
        kind=_AC,
        required={"ripple_indoor_fan_rpm": +1},
        support={"indoor_fan_rpm": -1},
        # a fan sped up by the load ripples with it; a dragging one does not speed up
        against={"indoor_fan_rpm": +1},
        key="ripple_indoor_fan_rpm",
        # the ripple of a worn bearing grows several-fold; a hot afternoon's changing
        # load adds a little
        threshold_scale=2.0,
    ),
    # a weak run capacitor: more current for the heat the coil moves at that outdoor
    # temperature. More load (a heat wave, a full house) moves more heat too, so it
    # leaves the excess alone; a leak or a clogged filter push it the other way
    Signature(
        code="AC_COMPRESSOR_CAPACITOR",
        kind=_AC,
        required={"current_excess_pct": +1},
        support={"compressor_current_a": +1},
        key="current_excess_pct",
        # a percent or two of excess wanders with how the hours mix loads; a failing
        # capacitor's grows without end
        threshold_scale=1.3,
    ),
    # a leaking gasket: more compressor duty for the same door openings (the context)
    Signature(
        code="FR_DOOR_GASKET_LEAK",
        kind=_FR,
        required={"compressor_duty_pct": +1},
        support={"fridge_temp_c": +1},
        against={"evaporator_temp_c": -1, "running_current_a": +1, "defrost_overdue_h": +1},
        key="compressor_duty_pct",
        threshold_scale=1.3,
    ),
    # the defrosts stop, then ice on the evaporator: colder coil, warmer freezer
    Signature(
        code="FR_DEFROST_FAILURE",
        kind=_FR,
        required={"defrost_overdue_h": +1},
        support={"evaporator_temp_c": -1, "freezer_temp_c": +1, "compressor_duty_pct": +1},
        key="defrost_overdue_h",
    ),
    # no heat rejection: the compressor runs flat out and both compartments warm within
    # hours (a gasket warms the fridge compartment over weeks, the freezer last); the
    # current while running rises only a little, so it supports rather than decides
    Signature(
        code="FR_CONDENSER_FAN_FAILURE",
        kind=_FR,
        required={"compressor_duty_pct": +1, "fridge_temp_c": +1, "freezer_temp_c": +1},
        support={"running_current_a": +1, "compressor_current_a": +1},
        key="fridge_temp_c",
        sudden=True,
    ),
    Signature(
        code="WM_DRUM_BEARING_WEAR",
        kind=_WM,
        required={"drum_vibration_rms_g": +1},
        support={"motor_current_a": +1},
        key="drum_vibration_rms_g",
    ),
    # a clogged pump drains slowly for the water the valve let in (the fill/drain ratio
    # falls); a big load takes longer to drain and to fill alike and leaves it alone.
    # Two rows per fault: the time itself (a device's own baseline knows its loads) or
    # the ratio (peers, and a machine that ran too few cycles to know its loads)
    Signature(
        code="WM_DRAIN_PUMP_CLOG",
        kind=_WM,
        required={"drain_time_s": +1},
        support={"fill_drain_ratio": -1},
        against={"fill_drain_ratio": +1},
        key="drain_time_s",
    ),
    Signature(
        code="WM_DRAIN_PUMP_CLOG",
        kind=_WM,
        required={"fill_drain_ratio": -1},
        support={"drain_time_s": +1},
        against={"fill_time_s": -1},
        key="fill_drain_ratio",
    ),
    Signature(
        code="WM_INLET_VALVE_WEAR",
        kind=_WM,
        required={"fill_time_s": +1},
        support={"fill_drain_ratio": +1},
        against={"fill_drain_ratio": -1},
        key="fill_time_s",
    ),
    Signature(
        code="WM_INLET_VALVE_WEAR",
        kind=_WM,
        required={"fill_drain_ratio": +1},
        support={"fill_time_s": +1},
        against={"drain_time_s": -1},
        key="fill_drain_ratio",
    ),
    Signature(code="WM_HEATER_SCALE", kind=_WM, required={"heat_time_s": +1}, key="heat_time_s"),
    # fouling: more salt passes the membrane and less water does. A weak pump does the
    # same (rejection falls with the feed pressure), but its boost pressure falls too
    Signature(
        code="WP_RO_MEMBRANE_FOULING",
        kind=_WP,
        required={"salt_passage": +1},
        support={"tds_out_ppm": +1, "flow_lpm": -1},
        against={"inlet_pressure_kpa": -1, "pump_current_a": +1, "boost_kpa": -1},
        key="salt_passage",
    ),
    # a loaded pre-filter drops the pressure before the pump, so both gauges fall
    Signature(
        code="WP_PREFILTER_CLOG",
        kind=_WP,
        required={"inlet_pressure_kpa": -1},
        support={"pump_pressure_kpa": -1, "flow_lpm": -1},
        against={"pump_current_a": +1},
        key="inlet_pressure_kpa",
    ),
    # a worn pump boosts less over the same mains pressure and draws a little more; a
    # pump starved by a loaded pre-filter also boosts less, but draws less
    Signature(
        code="WP_PUMP_WEAR",
        kind=_WP,
        required={"boost_kpa": -1},
        support={"pump_current_a": +1, "flow_lpm": -1, "pump_pressure_kpa": -1},
        against={"inlet_pressure_kpa": -1, "pump_current_a": -1},
        key="boost_kpa",
    ),
    # scale insulates the element: same current, slower heating
    Signature(
        code="WH_SCALE_BUILDUP",
        kind=_WH,
        required={"heat_rate_c_per_min": -1},
        against={"element_current_a": -1},
        key="heat_rate_c_per_min",
    ),
    Signature(
        code="WH_ELEMENT_FAILURE",
        kind=_WH,
        required={"element_current_a": -1},
        support={"heat_rate_c_per_min": -1},
        key="element_current_a",
        sudden=True,
    ),
    Signature(
        code="WH_THERMOSTAT_DRIFT",
        kind=_WH,
        required={"cutoff_offset_c": 0},
        against={"heat_rate_c_per_min": -1, "element_current_a": -1},
        key="cutoff_offset_c",
    ),
    # capacity fades faster than the cycle count explains; runs shorten, voltage sags
    Signature(
        code="RV_BATTERY_AGING",
        kind=_RV,
        required={"battery_full_capacity_mah": -1},
        support={"runtime_min": -1, "battery_voltage_v": -1},
        key="battery_full_capacity_mah",
    ),
    Signature(
        code="RV_BRUSH_MOTOR_WEAR",
        kind=_RV,
        required={"main_brush_current_a": +1},
        key="main_brush_current_a",
    ),
    # less air through a blocked filter unloads the fan: it spins faster
    Signature(
        code="RV_FILTER_CLOGGED",
        kind=_RV,
        required={"suction_fan_rpm": +1},
        against={"main_brush_current_a": +1},
        key="suction_fan_rpm",
    ),
)

_BY_KIND: Final[dict[str, tuple[Signature, ...]]] = {}
for _sig in SIGNATURES:
    _BY_KIND[_sig.kind] = (*_BY_KIND.get(_sig.kind, ()), _sig)


def signatures_for(kind: str) -> tuple[Signature, ...]:
    """The signatures of a kind's faults (empty for an unknown kind)."""
    return _BY_KIND.get(kind, ())
