"""Warranty decision and quote (SERVICE_FLOW section 6)."""

from __future__ import annotations

from datetime import date

from aftercare.catalog import default_catalog
from cloud_api.services.warranty import PartPrice, add_months, decide
from tests.cloud_api.conftest import Cloud


def test_core_part_warranty_outlives_unit_warranty(cloud: Cloud) -> None:
    core = cloud.create(device_id="ac-old", fault_code="AC_FAN_BEARING_WEAR")
    assert core["warranty"]["covered"] is False
    assert core["warranty"]["covered_parts"] == ["AC-FAN-MOTOR"]
    assert core["warranty"]["customer_pays"] is True  # labour is out of warranty
    assert core["quote"]["parts"] == 0
    assert core["quote"]["labour"] == 80.0
    wear = cloud.create(device_id="ac-old", fault_code="AC_FILTER_CLOGGED")
    assert wear["warranty"]["covered_parts"] == []
    assert wear["quote"]["total"] == round(39.0 + 39.0 * 0.13 + 15.0 + 80.0, 2)


def test_quote_must_be_accepted_before_appointment(cloud: Cloud) -> None:
    tid = cloud.create(device_id="ac-old")["id"]
    slot = {"slot_start": "2026-11-23T10:00:00Z", "slot_end": "2026-11-23T12:00:00Z"}
    assert cloud.event(tid, "appointment_booked", **slot).status_code == 409
    cloud.ok_event(tid, "quote_accepted", role="agent")
    assert cloud.ok_event(tid, "appointment_booked", **slot)["state"] == "scheduled"


def test_declined_quote_cancels_and_releases(cloud: Cloud) -> None:
    tid = cloud.create(device_id="ac-old")["id"]
    t = cloud.ok_event(tid, "quote_declined", role="agent")
    assert t["state"] == "cancelled"
    assert t["cancel_reason"] == "customer_declined"


def test_in_warranty_device_pays_nothing() -> None:
    d = decide(
        catalog=default_catalog(),
        model="KFR-35GW",
        purchase_date=date(2026, 6, 1),
        on=date(2026, 11, 23),
        parts=[PartPrice("AC-FILTER", 1, 39.0, "wear")],
    )
    assert d["customer_pays"] is False
    assert d["quote"] is None


def test_unknown_model_has_no_warranty() -> None:
    d = decide(
        catalog=default_catalog(),
        model="NOPE",
        purchase_date=date(2026, 11, 1),
        on=date(2026, 11, 23),
        parts=[],
    )
    assert d["covered"] is False


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 30), 14) == date(2027, 1, 30)
