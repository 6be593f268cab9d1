"""Default per-kind field maps for the foreign wire formats, in both directions.

Each catalog kind (``aftercare.catalog``) gets one :class:`KindProfile`: how each of its
metrics appears in a Tasmota ``SENSOR`` message, a Shelly Gen2 status, a Modbus RTU
register block and a Tuya MCU datapoint report, plus the discrete state keys. The gateway
decodes with these maps; the simulator (``firmware_sim``) encodes its foreign-format
payloads with the very same rows, so whatever the simulator publishes the gateway reads.

Scale convention, the same for every format: ``metric = raw * scale`` and
``raw = metric / scale`` (``scale=0.1`` means the wire carries tenths). Integer wire types
round on encode. Tuya's own product schemas write the same thing as an exponent
(``"scale": 1`` meaning tenths); here that is ``scale=0.1``.

Zigbee2MQTT needs no table: by the convention agreed with the simulator its flat JSON keys
*are* the catalog metric names (:func:`z2m_fields`).

The row types live in :mod:`device_adapters.fieldmaps` and are re-exported here.

The maps are data, not code: a new device model is new rows, checked by mypy. Where a
device does not match a default, configuration supplies its own rows (see each adapter's
``from_settings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from aftercare.catalog import default_catalog
from device_adapters.fieldmaps import (
    Datapoint,
    DpType,
    FieldMap,
    Register,
    RegisterMap,
    RegisterType,
    StateMap,
    WordOrder,
)

__all__ = [
    "PROFILES",
    "Datapoint",
    "DpType",
    "FieldMap",
    "KindProfile",
    "Register",
    "RegisterMap",
    "RegisterType",
    "StateMap",
    "WordOrder",
    "profile_for",
    "z2m_fields",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class KindProfile:
    """Every default map of one catalog kind."""

    kind: str
    tasmota: tuple[FieldMap, ...]
    tasmota_state: tuple[StateMap, ...]
    shelly: tuple[FieldMap, ...]
    shelly_state: tuple[StateMap, ...]
    modbus: RegisterMap
    tuya: tuple[Datapoint, ...]


def z2m_fields(kind: str) -> tuple[FieldMap, ...]:
    """The Zigbee2MQTT map of ``kind``: each catalog metric under its own name."""
    return tuple(FieldMap(source=m, metric=m) for m in default_catalog().kind(kind).metric_names)


# ------------------------------------------------------------------ the default rows
# Tasmota: temperatures from DS18B20 probes ("DS18B20-1" ... as Tasmota names several
# probes), currents from the energy monitor (ENERGY.Current), pressures from the ADC in
# range mode (ANALOG.Range1), the setpoint from the thermostat driver; values only the
# appliance's controller knows (duty, cycle times, counters) are appended to SENSOR by a
# Berry driver under "Appliance". Shelly Gen2: the relay's meter (switch:0), the Plus
# Add-On's probes (temperature:100+), an input in count mode (input:2 freq in Hz) and
# virtual number components (number:200+) for controller values.

_TASMOTA_POWER: Final = (StateMap(source="POWER", key="power", on_off=True),)
_SHELLY_POWER: Final = (StateMap(source="switch:0.output", key="power", on_off=True),)
_POWER_DP: Final = Datapoint(dp_id=1, type=DpType.BOOL, name="power")
_I16, _U16, _U32, _F32 = (
    RegisterType.INT16,
    RegisterType.UINT16,
    RegisterType.UINT32,
    RegisterType.FLOAT32,
)
_V = DpType.VALUE


def _fm(source: str, metric: str, scale: float = 1.0) -> FieldMap:
    return FieldMap(source=source, metric=metric, scale=scale)


def _reg(address: int, type_: RegisterType, scale: float, metric: str) -> Register:
    return Register(address=address, type=type_, scale=scale, metric=metric)


def _dp(dp_id: int, metric: str, scale: float = 1.0) -> Datapoint:
    return Datapoint(dp_id=dp_id, type=_V, name=metric, scale=scale)


_AIR_CONDITIONER: Final = KindProfile(
    kind="air_conditioner",
    tasmota=(
        _fm("DS18B20-1.Temperature", "indoor_temp_c"),
        _fm("Thermostat0.TempTargetSet", "setpoint_c"),
        _fm("DS18B20-2.Temperature", "outdoor_temp_c"),
        _fm("DS18B20-3.Temperature", "supply_air_temp_c"),
        _fm("DS18B20-4.Temperature", "evaporator_temp_c"),
        _fm("ENERGY.Current", "compressor_current_a"),
        _fm("Appliance.FanRpm", "indoor_fan_rpm"),
        _fm("ANALOG.Range1", "suction_pressure_kpa"),
    ),
    tasmota_state=_TASMOTA_POWER,
    shelly=(
        _fm("temperature:100.tC", "indoor_temp_c"),
        _fm("number:200.value", "setpoint_c"),
        _fm("temperature:101.tC", "outdoor_temp_c"),
        _fm("temperature:102.tC", "supply_air_temp_c"),
        _fm("temperature:103.tC", "evaporator_temp_c"),
        _fm("switch:0.current", "compressor_current_a"),
        _fm("input:2.freq", "indoor_fan_rpm", 60.0),
        _fm("number:201.value", "suction_pressure_kpa"),
    ),
    shelly_state=_SHELLY_POWER,
    modbus=RegisterMap(
        registers=(
            _reg(0, _I16, 0.1, "indoor_temp_c"),
            _reg(1, _I16, 0.1, "setpoint_c"),
            _reg(2, _I16, 0.1, "outdoor_temp_c"),
            _reg(3, _I16, 0.1, "supply_air_temp_c"),
            _reg(4, _I16, 0.1, "evaporator_temp_c"),
            _reg(5, _U16, 0.01, "compressor_current_a"),
            _reg(6, _U16, 1.0, "indoor_fan_rpm"),
            _reg(7, _U16, 0.1, "suction_pressure_kpa"),
        )
    ),
    tuya=(
        _POWER_DP,
        Datapoint(
            dp_id=4, type=DpType.ENUM, name="mode", options=("cool", "heat", "fan", "dry", "auto")
        ),
        _dp(101, "indoor_temp_c", 0.1),
        _dp(2, "setpoint_c", 0.1),
        _dp(102, "outdoor_temp_c", 0.1),
        _dp(103, "supply_air_temp_c", 0.1),
        _dp(104, "evaporator_temp_c", 0.1),
        _dp(105, "compressor_current_a", 0.001),
        _dp(106, "indoor_fan_rpm"),
        _dp(107, "suction_pressure_kpa", 0.1),
    ),
)

_REFRIGERATOR: Final = KindProfile(
    kind="refrigerator",
    tasmota=(
        _fm("DS18B20-1.Temperature", "fridge_temp_c"),
        _fm("DS18B20-2.Temperature", "freezer_temp_c"),
        _fm("DS18B20-3.Temperature", "ambient_temp_c"),
        _fm("DS18B20-4.Temperature", "evaporator_temp_c"),
        _fm("ENERGY.Current", "compressor_current_a"),
        _fm("Appliance.Duty", "compressor_duty_pct"),
        _fm("COUNTER.C1", "door_open_count"),
    ),
    tasmota_state=_TASMOTA_POWER,
    shelly=(
        _fm("temperature:100.tC", "fridge_temp_c"),
        _fm("temperature:101.tC", "freezer_temp_c"),
        _fm("temperature:102.tC", "ambient_temp_c"),
        _fm("temperature:103.tC", "evaporator_temp_c"),
        _fm("switch:0.current", "compressor_current_a"),
        _fm("number:200.value", "compressor_duty_pct"),
        _fm("input:2.counts.total", "door_open_count"),
    ),
    shelly_state=_SHELLY_POWER,
    modbus=RegisterMap(
        registers=(
            _reg(0, _I16, 0.1, "fridge_temp_c"),
            _reg(1, _I16, 0.1, "freezer_temp_c"),
            _reg(2, _I16, 0.1, "ambient_temp_c"),
            _reg(3, _I16, 0.1, "evaporator_temp_c"),
            _reg(4, _U16, 0.01, "compressor_current_a"),
            _reg(5, _U16, 0.1, "compressor_duty_pct"),
            _reg(6, _U32, 1.0, "door_open_count"),
        )
    ),
    tuya=(
        _POWER_DP,
        _dp(101, "fridge_temp_c", 0.1),
        _dp(102, "freezer_temp_c", 0.1),
        _dp(103, "ambient_temp_c", 0.1),
        _dp(104, "evaporator_temp_c", 0.1),
        _dp(105, "compressor_current_a", 0.001),
        _dp(106, "compressor_duty_pct", 0.1),
        _dp(107, "door_open_count"),
    ),
)

_WASHING_MACHINE: Final = KindProfile(
    kind="washing_machine",
    tasmota=(
        _fm("Appliance.VibrationRms", "drum_vibration_rms_g"),
        _fm("ENERGY.Current", "motor_current_a"),
        _fm("Appliance.SpinRpm", "spin_rpm"),
        _fm("Appliance.FillTime", "fill_time_s"),
        _fm("Appliance.DrainTime", "drain_time_s"),
        _fm("Appliance.HeatTime", "heat_time_s"),
        _fm("DS18B20.Temperature", "water_temp_c"),
    ),
    tasmota_state=_TASMOTA_POWER,
    shelly=(
        _fm("number:200.value", "drum_vibration_rms_g"),
        _fm("switch:0.current", "motor_current_a"),
        _fm("number:201.value", "spin_rpm"),
        _fm("number:202.value", "fill_time_s"),
        _fm("number:203.value", "drain_time_s"),
        _fm("number:204.value", "heat_time_s"),
        _fm("temperature:100.tC", "water_temp_c"),
    ),
    shelly_state=_SHELLY_POWER,
    modbus=RegisterMap(
        registers=(
            _reg(0, _U16, 0.001, "drum_vibration_rms_g"),
            _reg(1, _U16, 0.01, "motor_current_a"),
            _reg(2, _U16, 1.0, "spin_rpm"),
            _reg(3, _U16, 1.0, "fill_time_s"),
            _reg(4, _U16, 1.0, "drain_time_s"),
            _reg(5, _U16, 1.0, "heat_time_s"),
            _reg(6, _I16, 0.1, "water_temp_c"),
        )
    ),
    tuya=(
        _POWER_DP,
        _dp(101, "drum_vibration_rms_g", 0.001),
        _dp(102, "motor_current_a", 0.001),
        _dp(103, "spin_rpm"),
        _dp(104, "fill_time_s"),
        _dp(105, "drain_time_s"),
        _dp(106, "heat_time_s"),
        _dp(107, "water_temp_c", 0.1),
    ),
)

_WATER_PURIFIER: Final = KindProfile(
    kind="water_purifier",
    tasmota=(
        _fm("Appliance.TdsIn", "tds_in_ppm"),
        _fm("Appliance.TdsOut", "tds_out_ppm"),
        _fm("Appliance.Flow", "flow_lpm"),
        _fm("ANALOG.Range1", "inlet_pressure_kpa"),
        _fm("ANALOG.Range2", "pump_pressure_kpa"),
        _fm("ENERGY.Current", "pump_current_a"),
        _fm("Appliance.FilterLiters", "filter_liters"),
    ),
    tasmota_state=_TASMOTA_POWER,
    shelly=(
        _fm("number:200.value", "tds_in_ppm"),
        _fm("number:201.value", "tds_out_ppm"),
        _fm("number:202.value", "flow_lpm"),
        _fm("number:203.value", "inlet_pressure_kpa"),
        _fm("number:204.value", "pump_pressure_kpa"),
        _fm("switch:0.current", "pump_current_a"),
        _fm("number:205.value", "filter_liters"),
    ),
    shelly_state=_SHELLY_POWER,
    modbus=RegisterMap(
        registers=(
            _reg(0, _U16, 1.0, "tds_in_ppm"),
            _reg(1, _U16, 1.0, "tds_out_ppm"),
            _reg(2, _U16, 0.01, "flow_lpm"),
            _reg(3, _U16, 0.1, "inlet_pressure_kpa"),
            _reg(4, _U16, 0.1, "pump_pressure_kpa"),
            _reg(5, _U16, 0.01, "pump_current_a"),
            _reg(6, _U32, 0.1, "filter_liters"),
        )
    ),
    tuya=(
        _POWER_DP,
        _dp(101, "tds_in_ppm"),
        _dp(102, "tds_out_ppm"),
        _dp(103, "flow_lpm", 0.01),
        _dp(104, "inlet_pressure_kpa", 0.1),
        _dp(105, "pump_pressure_kpa", 0.1),
        _dp(106, "pump_current_a", 0.001),
        _dp(107, "filter_liters", 0.1),
    ),
)

_WATER_HEATER: Final = KindProfile(
    kind="water_heater",
    tasmota=(
        _fm("DS18B20-1.Temperature", "tank_temp_c"),
        _fm("DS18B20-2.Temperature", "inlet_temp_c"),
        _fm("Thermostat0.TempTargetSet", "setpoint_c"),
        _fm("ENERGY.Current", "element_current_a"),
        _fm("Appliance.HeatRate", "heat_rate_c_per_min"),
        _fm("ANALOG.Range1", "tank_pressure_kpa"),
    ),
    tasmota_state=_TASMOTA_POWER,
    shelly=(
        _fm("temperature:100.tC", "tank_temp_c"),
        _fm("temperature:101.tC", "inlet_temp_c"),
        _fm("number:200.value", "setpoint_c"),
        _fm("switch:0.current", "element_current_a"),
        _fm("number:201.value", "heat_rate_c_per_min"),
        _fm("number:202.value", "tank_pressure_kpa"),
    ),
    shelly_state=_SHELLY_POWER,
    modbus=RegisterMap(
        registers=(
            _reg(0, _I16, 0.1, "tank_temp_c"),
            _reg(1, _I16, 0.1, "inlet_temp_c"),
            _reg(2, _I16, 0.1, "setpoint_c"),
            _reg(3, _U16, 0.01, "element_current_a"),
            _reg(4, _F32, 1.0, "heat_rate_c_per_min"),
            _reg(6, _U16, 0.1, "tank_pressure_kpa"),
        )
    ),
    tuya=(
        _POWER_DP,
        _dp(101, "tank_temp_c", 0.1),
        _dp(102, "inlet_temp_c", 0.1),
        _dp(103, "setpoint_c", 0.1),
        _dp(104, "element_current_a", 0.001),
        _dp(105, "heat_rate_c_per_min", 0.001),
        _dp(106, "tank_pressure_kpa", 0.1),
    ),
)

_ROBOT_VACUUM: Final = KindProfile(
    kind="robot_vacuum",
    tasmota=(
        _fm("INA219.Voltage", "battery_voltage_v"),
        _fm("Appliance.FullCapacity", "battery_full_capacity_mah"),
        _fm("Appliance.Runtime", "runtime_min"),
        _fm("INA219.Current", "main_brush_current_a"),
        _fm("Appliance.FanRpm", "suction_fan_rpm"),
        _fm("Appliance.ChargeCycles", "charge_cycles"),
    ),
    tasmota_state=_TASMOTA_POWER,
    shelly=(
        _fm("voltmeter:100.voltage", "battery_voltage_v"),
        _fm("number:200.value", "battery_full_capacity_mah"),
        _fm("number:201.value", "runtime_min"),
        _fm("number:202.value", "main_brush_current_a"),
        _fm("input:2.freq", "suction_fan_rpm", 60.0),
        _fm("number:203.value", "charge_cycles"),
    ),
    shelly_state=_SHELLY_POWER,
    modbus=RegisterMap(
        registers=(
            _reg(0, _U16, 0.01, "battery_voltage_v"),
            _reg(1, _U16, 1.0, "battery_full_capacity_mah"),
            _reg(2, _U16, 0.1, "runtime_min"),
            _reg(3, _U16, 0.001, "main_brush_current_a"),
            _reg(4, _U32, 1.0, "suction_fan_rpm"),
            _reg(6, _U16, 1.0, "charge_cycles"),
        ),
        word_order=WordOrder.LITTLE,
    ),
    tuya=(
        _POWER_DP,
        _dp(101, "battery_voltage_v", 0.001),
        _dp(102, "battery_full_capacity_mah"),
        _dp(103, "runtime_min", 0.1),
        _dp(104, "main_brush_current_a", 0.001),
        _dp(105, "suction_fan_rpm"),
        _dp(106, "charge_cycles"),
    ),
)

PROFILES: Final[Mapping[str, KindProfile]] = MappingProxyType(
    {
        p.kind: p
        for p in (
            _AIR_CONDITIONER,
            _REFRIGERATOR,
            _WASHING_MACHINE,
            _WATER_PURIFIER,
            _WATER_HEATER,
            _ROBOT_VACUUM,
        )
    }
)
"""The default profile of every catalog kind, by kind name."""


def profile_for(kind: str) -> KindProfile:
    """The default profile of ``kind``; ``KeyError`` when the catalog has no such kind."""
    return PROFILES[kind]
