"""What the engine watches for each device kind: features, context and working state.

Table-driven (STYLE.md 10.2's idea applied to detection): a kind is a
:class:`KindProfile` row; a new appliance model with the same metrics needs no code, and
a new kind is one more row. Features are bucket means (an hour for kinds that report on
an interval, one message for kinds that report once per cycle) of raw metrics, plus
derived features computed from those means. Derived features of an air conditioner are
signed by its mode so that "more cooling effect" and "more heating effect" read alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from device_adapters import StateValue

__all__ = [
    "PROFILES",
    "AtSwitch",
    "Derived",
    "KindProfile",
    "Residual",
    "SinceState",
    "generic_profile",
]

Means = Mapping[str, float]
Gate = Callable[[Mapping[str, float], Mapping[str, StateValue]], bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class Derived:
    """A feature computed from a bucket's means.

    Attributes:
        name: the feature name (evidence and signatures use it).
        plus: metrics added.
        minus: metrics subtracted.
        divide_by: when set, the sum is divided by this metric's mean.
        over: when set, the sum is divided by ``over[0] - over[1]`` (means).
        min_over: the smallest ``over`` difference the ratio is computed from (a
            ratio of two small, quantised differences is mostly noise).
        power_of: when set, ``(metric, exponent)``: the result is multiplied by that
            metric's mean raised to the exponent (a physical normalisation).
        signed: multiply by the mode's sign (+1 cool, -1 heat).
    """

    name: str
    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()
    divide_by: str | None = None
    over: tuple[str, str] | None = None
    min_over: float = 0.5
    power_of: tuple[str, float] | None = None
    signed: bool = False

    def value(self, means: Means, sign: float) -> float | None:
        """The feature, or None when a metric it needs is missing."""
        total = 0.0
        for name in self.plus:
            if name not in means:
                return None
            total += means[name]
        for name in self.minus:
            if name not in means:
                return None
            total -= means[name]
        if self.divide_by is not None:
            denom = means.get(self.divide_by)
            if denom is None or abs(denom) < 1e-9:
                return None
            total /= denom
        if self.over is not None:
            a, b = means.get(self.over[0]), means.get(self.over[1])
            if a is None or b is None or abs(a - b) < self.min_over:
                return None
            total /= a - b
        if self.power_of is not None:
            base = means.get(self.power_of[0])
            if base is None or base <= 0.0:
                return None
            total *= base ** self.power_of[1]
        return total * sign if self.signed else total


@dataclass(frozen=True, slots=True, kw_only=True)
class AtSwitch:
    """A feature read at the message where a state switches.

    A thermostat shows its calibration only at the moment it acts: the tank temperature
    when the element switches off, against the setpoint, is the switching point itself,
    while an hour's mean tank temperature mostly says how much hot water was drawn.

    Attributes:
        name: the feature name.
        key: the state key watched.
        before: its value in the previous message.
        after: its value in this message.
        plus: the metric read.
        minus: a metric subtracted (the setpoint), if any.
    """

    name: str
    key: str
    before: str
    after: str
    plus: str
    minus: str | None = None

    def value(self, metrics: Mapping[str, float]) -> float | None:
        """The feature from the switching message's metrics, or None if one is missing."""
        reading = metrics.get(self.plus)
        if reading is None:
            return None
        if self.minus is None:
            return reading
        base = metrics.get(self.minus)
        return None if base is None else reading - base


@dataclass(frozen=True, slots=True, kw_only=True)
class SinceState:
    """How overdue a recurring state is (0 while it comes on time).

    Hours since the state last had a value, beyond 1.5 times the longest interval
    between two such states seen so far.

    A refrigerator's defrost timer counts compressor running time (a defrost every 8-12
    hours of running); when the heater fails the defrosts stop at once, long before the
    ice warms the freezer. Counted in running hours the healthy interval has a fixed
    top whatever the weather (in wall-clock hours it would stretch on every cool night),
    so a healthy device reads 0 and a stopped timer a growing excess. The feature
    exists only once two such states have been seen (a model that never reports its
    defrosts must not look as if it had stopped).

    Attributes:
        name: the feature name.
        key: the state key.
        value: the value waited for.
        counting: when set, only time spent with the key at this value counts (the
            time between two reports counts when the earlier one had it).
    """

    name: str
    key: str
    value: str
    counting: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Residual:
    """A metric's excess over a per-device fit on its physical drivers, in percent.

    The target's bucket mean over what a recursive-least-squares fit on the drivers
    (and their pairwise products) predicts, minus one; the fit learns while the
    device's baseline does (:mod:`anomaly.residuals`). The feature is context-free: its
    normal is its own level, near zero. Use it where a fault changes how much of a
    metric a given amount of work takes, and the work is measured but varies with
    things no context reports.

    Attributes:
        name: the feature name.
        target: the metric explained.
        drivers: what explains it, computed from the bucket's means.
        interact: add the drivers' pairwise products (work at a higher head pressure).
        noise_floor: the smallest spread (percent) the feature's noise is taken to
            have. A simulated or very clean signal fits almost exactly, and a tenth of
            a percent must not count as many deviations.
        min_prediction: below this predicted target the excess is not computed (a
            percentage of almost nothing).
    """

    name: str
    target: str
    drivers: tuple[Derived, ...]
    interact: bool = True
    noise_floor: float = 2.0
    min_prediction: float = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class KindProfile:
    """How one device kind is watched.

    Attributes:
        kind: the catalog kind.
        per_cycle: one message per cycle (each message is its own bucket).
        bucket_s: bucket length for interval kinds.
        min_samples: fewer active samples than this and the bucket is skipped.
        features: raw metrics watched (their means over active samples).
        derived: features computed from the means.
        always: metrics averaged over every sample (not only active ones), as ``all_<m>``.
        switches: features read where a state switches (their mean over the bucket's
            switches; absent from buckets without one).
        since: hours since a state last had a value (see :class:`SinceState`).
        residuals: features that are a metric's excess over its drivers (see
            :class:`Residual`); context-free by construction.
        ripple: metrics whose report-to-report jitter is a feature, ``ripple_<m>``: the
            mean absolute difference between successive active reports in the bucket
            (a worn bearing makes a fan's speed ripple long before it slows it).
        context: metrics that explain normal variation (regressors, not watched).
        context_free: features normalised by physics so that context does not move
            them; their normal is their own learned level. A regression would only
            give them something to extrapolate when the context leaves its learned
            range (an owner lowering the setpoint for the first time).
        peers: features physics makes comparable across homes for one model and mode;
            a device's level of each is compared with its peers' (:mod:`anomaly.peers`).
        peer_mode: a state key whose values make separate peer groups (the suction
            setting moves a vacuum's fan speed; the wash program does not move a drain
            time, and splitting by it would leave too few peers).
        peer_split: the peer features ``peer_mode`` moves (the others are compared
            with every peer of the model, whatever its mode: more peers, sooner).
        peer_age: a wear counter (a context metric, such as charge cycles) for
            ``peer_aged``.
        peer_aged: peer features that fade with ``peer_age`` by design (a battery's
            capacity); a device is compared with peers of its own age.
        mode_key: a state key whose value shifts the baseline (one-hot in the regression).
        split_key: a state key whose values need separate baselines (heating and
            cooling are different machines as far as the physics goes).
        active: which samples describe the working state.
        sign: the mode's sign for ``signed`` derived features.
    """

    kind: str
    per_cycle: bool = False
    bucket_s: int = 3600
    min_samples: int = 3
    features: tuple[str, ...]
    derived: tuple[Derived, ...] = ()
    always: tuple[str, ...] = ()
    switches: tuple[AtSwitch, ...] = ()
    since: tuple[SinceState, ...] = ()
    ripple: tuple[str, ...] = ()
    residuals: tuple[Residual, ...] = ()
    context: tuple[str, ...] = ()
    context_free: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()
    peer_mode: str | None = None
    peer_split: frozenset[str] = frozenset()
    peer_age: str | None = None
    peer_aged: frozenset[str] = frozenset()
    mode_key: str | None = None
    split_key: str | None = None
    active: Gate | None = None
    sign: Callable[[Mapping[str, StateValue]], float] | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Every watched feature, in a fixed order (the fleet models' schema)."""
        return (
            *self.features,
            *(d.name for d in self.derived),
            *(f"all_{m}" for m in self.always),
            *(w.name for w in self.switches),
            *(w.name for w in self.since),
            *(f"ripple_{m}" for m in self.ripple),
            *(r.name for r in self.residuals),
        )


def _ac_running(metrics: Mapping[str, float], state: Mapping[str, StateValue]) -> bool:
    return state.get("power", "on") != "off" and metrics.get("compressor_current_a", 1.0) > 0.3


def _ac_sign(state: Mapping[str, StateValue]) -> float:
    return -1.0 if state.get("mode") == "heat" else 1.0


def _purifying(metrics: Mapping[str, float], state: Mapping[str, StateValue]) -> bool:
    pump = state.get("pump")
    return pump == "on" if pump is not None else metrics.get("flow_lpm", 1.0) > 0.05


def _heating(metrics: Mapping[str, float], state: Mapping[str, StateValue]) -> bool:
    # the thermostat's demand, not the current: a dead element still gets demanded
    heating = state.get("heating")
    return heating == "on" if heating is not None else metrics.get("element_current_a", 1.0) > 0.5


def _running(metrics: Mapping[str, float], state: Mapping[str, StateValue]) -> bool:
    del metrics
    return state.get("power", "on") != "off"


PROFILES: Final[Mapping[str, KindProfile]] = {
    "air_conditioner": KindProfile(
        kind="air_conditioner",
        features=("suction_pressure_kpa", "compressor_current_a", "indoor_fan_rpm"),
        derived=(
            Derived(
                name="supply_delta_c",
                plus=("indoor_temp_c",),
                minus=("supply_air_temp_c",),
                signed=True,
            ),
            Derived(
                name="coil_delta_c",
                plus=("indoor_temp_c",),
                minus=("evaporator_temp_c",),
                signed=True,
            ),
            Derived(
                name="temp_error_c", plus=("indoor_temp_c",), minus=("setpoint_c",), signed=True
            ),
            # the supply/coil approach ratio goes as airflow**-0.4 (coil conductance
            # ~ airflow**0.6 over the air's heat capacity ~ airflow). Inverter units
            # set the fan speed from the load, so the ratio follows the weather;
            # times rpm**0.4 it reads the air path's restriction alone: it rises when
            # the filter clogs, stays put when only the fan slows (bearing) or the load
            # changes, and falls when the coil runs cold for lack of charge (leak)
            Derived(
                name="airflow_ratio",
                plus=("indoor_temp_c",),
                minus=("supply_air_temp_c",),
                over=("indoor_temp_c", "evaporator_temp_c"),
                min_over=4.0,
                power_of=("indoor_fan_rpm", 0.4),
            ),
        ),
        ripple=("indoor_fan_rpm",),
        # the current the compressor draws for the heat the coil moves (the coil's
        # temperature difference times its conductance, ~ fan speed**0.6) at the head
        # pressure the outdoor temperature sets: a weak capacitor's extra current
        residuals=(
            Residual(
                name="current_excess_pct",
                target="compressor_current_a",
                drivers=(
                    Derived(
                        name="coil_duty",
                        plus=("indoor_temp_c",),
                        minus=("evaporator_temp_c",),
                        power_of=("indoor_fan_rpm", 0.6),
                        signed=True,
                    ),
                    Derived(name="outdoor", plus=("outdoor_temp_c",)),
                ),
            ),
        ),
        context=("outdoor_temp_c", "setpoint_c"),
        # the fan's ripple is its bearing's and its controller's, whatever the weather
        context_free=("airflow_ratio", "ripple_indoor_fan_rpm"),
        # the airflow index and the fan's ripple are the unit's, not the home's
        peers=("airflow_ratio", "ripple_indoor_fan_rpm"),
        peer_mode="mode",
        peer_split=frozenset({"airflow_ratio"}),
        split_key="mode",
        active=_ac_running,
        sign=_ac_sign,
    ),
    "refrigerator": KindProfile(
        kind="refrigerator",
        features=(
            "fridge_temp_c",
            "freezer_temp_c",
            "evaporator_temp_c",
            "compressor_current_a",
            "compressor_duty_pct",
        ),
        derived=(
            # the mean current over the duty: what the compressor draws while it runs
            Derived(
                name="running_current_a",
                plus=("compressor_current_a",),
                divide_by="compressor_duty_pct",
            ),
        ),
        since=(
            SinceState(name="defrost_overdue_h", key="mode", value="defrost", counting="cooling"),
        ),
        context=("ambient_temp_c", "door_open_count"),
        # 0 while the defrosts come on time, whatever the weather
        context_free=("defrost_overdue_h",),
    ),
    "washing_machine": KindProfile(
        kind="washing_machine",
        per_cycle=True,
        min_samples=1,
        features=(
            "drum_vibration_rms_g",
            "motor_current_a",
            "fill_time_s",
            "drain_time_s",
            "heat_time_s",
        ),
        derived=(
            # both times grow with the water the load takes, which nothing reports; their
            # ratio does not. A worn inlet valve raises it, a clogged drain pump lowers it
            Derived(name="fill_drain_ratio", plus=("fill_time_s",), divide_by="drain_time_s"),
        ),
        context=("spin_rpm", "water_temp_c"),
        context_free=("fill_drain_ratio",),
        # a drain or fill time, a drum's vibration: set by the machine, not the home
        peers=("drum_vibration_rms_g", "fill_time_s", "drain_time_s", "fill_drain_ratio"),
        mode_key="program",
    ),
    "water_purifier": KindProfile(
        kind="water_purifier",
        features=(
            "tds_out_ppm",
            "flow_lpm",
            "inlet_pressure_kpa",
            "pump_pressure_kpa",
            "pump_current_a",
        ),
        derived=(
            Derived(name="salt_passage", plus=("tds_out_ppm",), divide_by="tds_in_ppm"),
            # what the pump adds on top of the mains: the pump's own health
            Derived(name="boost_kpa", plus=("pump_pressure_kpa",), minus=("inlet_pressure_kpa",)),
        ),
        context=("tds_in_ppm",),
        # a membrane's salt passage, a pump's boost and current are the model's, not the
        # home's
        peers=("salt_passage", "boost_kpa", "pump_current_a"),
        active=_purifying,
        min_samples=1,
    ),
    "water_heater": KindProfile(
        kind="water_heater",
        features=("heat_rate_c_per_min", "element_current_a"),
        always=("tank_temp_c", "tank_pressure_kpa"),
        switches=(
            AtSwitch(
                name="cutoff_offset_c",
                key="heating",
                before="on",
                after="off",
                plus="tank_temp_c",
                minus="setpoint_c",
            ),
        ),
        context=("inlet_temp_c", "setpoint_c"),
        # where the thermostat switches off, against its setpoint, is calibration: no
        # context moves it
        context_free=("cutoff_offset_c",),
        # the element's power over the tank's heat capacity, and a thermostat's
        # calibration: the same in every home
        peers=("heat_rate_c_per_min", "element_current_a", "cutoff_offset_c"),
        active=_heating,
        min_samples=1,
    ),
    "robot_vacuum": KindProfile(
        kind="robot_vacuum",
        per_cycle=True,
        min_samples=1,
        features=(
            "battery_full_capacity_mah",
            "runtime_min",
            "main_brush_current_a",
            "suction_fan_rpm",
            "battery_voltage_v",
        ),
        context=("charge_cycles",),
        peers=("battery_full_capacity_mah", "main_brush_current_a", "suction_fan_rpm"),
        peer_mode="suction",
        peer_split=frozenset({"suction_fan_rpm"}),
        # a pack loses capacity with every cycle; an old pack is not a faulty one
        peer_age="charge_cycles",
        peer_aged=frozenset({"battery_full_capacity_mah"}),
        split_key="suction",
        active=_running,
    ),
}


def generic_profile(kind: str, metrics: Mapping[str, float]) -> KindProfile:
    """A profile for a kind the table does not know: every metric is watched, no context."""
    return KindProfile(kind=kind, features=tuple(sorted(metrics))[:32])
