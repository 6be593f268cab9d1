"""The catalog file loads, matches Contract 2, and bad edits fail with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftercare.catalog import (
    DEFAULT_CATALOG_PATH,
    Cadence,
    CatalogError,
    Course,
    WarrantyClass,
    default_catalog,
    load_catalog,
)

CONTRACT_METRICS = {
    "air_conditioner": [
        "indoor_temp_c", "setpoint_c", "outdoor_temp_c", "supply_air_temp_c",
        "evaporator_temp_c", "compressor_current_a", "indoor_fan_rpm", "suction_pressure_kpa",
    ],
    "refrigerator": [
        "fridge_temp_c", "freezer_temp_c", "ambient_temp_c", "evaporator_temp_c",
        "compressor_current_a", "compressor_duty_pct", "door_open_count",
    ],
    "washing_machine": [
        "drum_vibration_rms_g", "motor_current_a", "spin_rpm", "fill_time_s", "drain_time_s",
        "heat_time_s", "water_temp_c",
    ],
    "water_purifier": [
        "tds_in_ppm", "tds_out_ppm", "flow_lpm", "inlet_pressure_kpa", "pump_pressure_kpa",
        "pump_current_a", "filter_liters",
    ],
    "water_heater": [
        "tank_temp_c", "inlet_temp_c", "setpoint_c", "element_current_a", "heat_rate_c_per_min",
        "tank_pressure_kpa",
    ],
    "robot_vacuum": [
        "battery_voltage_v", "battery_full_capacity_mah", "runtime_min", "main_brush_current_a",
        "suction_fan_rpm", "charge_cycles",
    ],
}  # fmt: skip

CONTRACT_FAULT_PARTS = {
    "AC_FILTER_CLOGGED": ["AC-FILTER"],
    "AC_REFRIGERANT_LEAK": ["AC-REFRIG-KIT"],
    "AC_FAN_BEARING_WEAR": ["AC-FAN-MOTOR"],
    "AC_COMPRESSOR_CAPACITOR": ["AC-CAPACITOR"],
    "FR_DOOR_GASKET_LEAK": ["FR-GASKET"],
    "FR_DEFROST_FAILURE": ["FR-DEFROST-HEATER"],
    "FR_CONDENSER_FAN_FAILURE": ["FR-COND-FAN"],
    "WM_DRUM_BEARING_WEAR": ["WM-BEARING-KIT"],
    "WM_DRAIN_PUMP_CLOG": ["WM-DRAIN-PUMP"],
    "WM_INLET_VALVE_WEAR": ["WM-INLET-VALVE"],
    "WM_HEATER_SCALE": ["WM-HEATER"],
    "WP_RO_MEMBRANE_FOULING": ["WP-RO-MEMBRANE"],
    "WP_PREFILTER_CLOG": ["WP-PREFILTER"],
    "WP_PUMP_WEAR": ["WP-BOOSTER-PUMP"],
    "WH_SCALE_BUILDUP": ["WH-ELEMENT"],
    "WH_ELEMENT_FAILURE": ["WH-ELEMENT"],
    "WH_THERMOSTAT_DRIFT": ["WH-THERMOSTAT"],
    "RV_BATTERY_AGING": ["RV-BATTERY"],
    "RV_BRUSH_MOTOR_WEAR": ["RV-MAIN-BRUSH"],
    "RV_FILTER_CLOGGED": ["RV-HEPA-FILTER"],
    "SENSOR_STUCK": [],
    "DEVICE_OFFLINE": [],
}


def test_shipped_catalog_has_exactly_the_contract_metrics_per_kind() -> None:
    catalog = default_catalog()
    assert {k: list(v.metric_names) for k, v in catalog.kinds.items()} == CONTRACT_METRICS


def test_shipped_catalog_has_every_contract_fault_with_its_parts() -> None:
    catalog = default_catalog()
    got = {code: [p.sku for p in f.parts] for code, f in catalog.faults.items()}
    assert got == CONTRACT_FAULT_PARTS
    assert all(p.qty == 1 for f in catalog.faults.values() for p in f.parts)


def test_per_cycle_kinds_are_washing_machine_and_robot_vacuum() -> None:
    per_cycle = {k for k, v in default_catalog().kinds.items() if v.cadence is Cadence.PER_CYCLE}
    assert per_cycle == {"washing_machine", "robot_vacuum"}


def test_sudden_faults_are_the_contract_ones() -> None:
    catalog = default_catalog()
    sudden = {c for c, f in catalog.faults.items() if f.course is Course.SUDDEN}
    assert {"FR_CONDENSER_FAN_FAILURE", "WH_ELEMENT_FAILURE"} <= sudden
    assert "AC_FILTER_CLOGGED" not in sudden


def test_units_come_from_the_catalog() -> None:
    catalog = default_catalog()
    assert catalog.unit_of("air_conditioner", "indoor_temp_c") == "°C"
    assert catalog.unit_of("water_purifier", "flow_lpm") == "L/min"
    assert catalog.unit_of("air_conditioner", "no_such_metric") is None
    assert catalog.unit_of("toaster", "indoor_temp_c") is None


def test_generic_faults_apply_to_every_kind() -> None:
    catalog = default_catalog()
    for kind in catalog.kinds:
        codes = [f.code for f in catalog.faults_for(kind)]
        assert "SENSOR_STUCK" in codes
        assert "DEVICE_OFFLINE" in codes
        assert all(catalog.fault(c).applies_to(kind) for c in codes)


def test_every_kind_has_a_model_and_core_parts_exist() -> None:
    catalog = default_catalog()
    assert all(catalog.models_for(kind) for kind in catalog.kinds)
    assert catalog.parts["AC-FILTER"].warranty_class is WarrantyClass.WEAR
    assert catalog.parts["WH-ELEMENT"].warranty_class is WarrantyClass.CORE


def _edited(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalog.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(needle)


def test_unknown_kind_in_a_fault_fails_with_file_and_line(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        'kind = "refrigerator"\nparts = [{ sku = "FR-GASKET"',
        'kind = "toaster"\nparts = [{ sku = "FR-GASKET"',
    )
    header = _line_of(path, 'code = "FR_DOOR_GASKET_LEAK"') - 1
    with pytest.raises(CatalogError, match="unknown kind 'toaster'") as info:
        load_catalog(path)
    assert info.value.line == header
    assert str(info.value).startswith(f"{path}:{header}:")


def test_duplicate_fault_code_fails_with_the_second_entry_line(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'code = "AC_REFRIGERANT_LEAK"', 'code = "AC_FILTER_CLOGGED"')
    second = _line_of(path, 'code = "AC_FILTER_CLOGGED"', occurrence=2) - 1
    with pytest.raises(CatalogError, match="duplicate fault code 'AC_FILTER_CLOGGED'") as info:
        load_catalog(path)
    assert info.value.line == second


def test_part_without_sku_fails_with_file_and_line(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'sku = "AC-CAPACITOR"\n', "")
    with pytest.raises(CatalogError, match="part without a valid SKU") as info:
        load_catalog(path)
    assert info.value.line == _line_of(path, 'name_en = "compressor run capacitor"') - 1


def test_fault_part_line_without_sku_is_a_load_error(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'parts = [{ sku = "AC-FILTER", qty = 1 }]', "parts = [{ qty = 1 }]")
    with pytest.raises(CatalogError, match="a part line has no SKU") as info:
        load_catalog(path)
    assert info.value.line == _line_of(path, 'code = "AC_FILTER_CLOGGED"') - 1


def test_fault_referring_to_an_unknown_part_is_a_load_error(tmp_path: Path) -> None:
    path = _edited(
        tmp_path, 'parts = [{ sku = "AC-FILTER", qty = 1 }]', 'parts = [{ sku = "NOPE-1" }]'
    )
    with pytest.raises(CatalogError, match="unknown part SKU 'NOPE-1'"):
        load_catalog(path)


def test_invalid_toml_reports_the_parser_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text("[pricing]\ncurrency = \n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML") as info:
        load_catalog(path)
    assert info.value.line == 2


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "absent.toml")


def test_core_warranty_shorter_than_unit_is_refused(tmp_path: Path) -> None:
    path = _edited(tmp_path, "core_warranty_months = 24", "core_warranty_months = 6")
    with pytest.raises(CatalogError, match="core warranty shorter than unit"):
        load_catalog(path)
