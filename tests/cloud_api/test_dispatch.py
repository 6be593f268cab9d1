"""Dispatch: region, skill, least load, parts on a tie, explainable (SERVICE_FLOW section 7)."""

from __future__ import annotations

from tests.cloud_api.conftest import Cloud


def test_dispatch_prefers_station_with_parts_on_tie(cloud: Cloud) -> None:
    cloud.sql(
        "UPDATE stock SET on_hand = 0 WHERE sku = 'AC-FAN-MOTOR' AND warehouse_id = 'wh-st-minhang'"
    )
    cloud.sql(
        "UPDATE stock SET on_hand = 2 WHERE sku = 'AC-FAN-MOTOR' AND warehouse_id = 'wh-st-wuzhong'"
    )
    t = cloud.create(device_id="ac-sz", fault_code="AC_FAN_BEARING_WEAR")
    # Same load share (0); wuzhong holds the part although minhang has the better tier.
    assert t["station_id"] == "st-wuzhong"
    detail = cloud.ticket(t["id"])
    ranked = [c["station_id"] for c in detail["dispatch"]["candidates"]]
    assert ranked == ["st-wuzhong", "st-minhang"]
    assert detail["timeline"][1]["payload"]["candidates"][0]["parts_missing"] == 0


def test_dispatch_without_parts_difference_uses_tier(cloud: Cloud) -> None:
    t = cloud.create(device_id="ac-sz", fault_code="AC_FILTER_CLOGGED")
    assert t["station_id"] == "st-minhang"


def test_dispatch_skips_station_without_skill(cloud: Cloud) -> None:
    t = cloud.create(device_id="wp-1", fault_code="WP_PREFILTER_CLOG")
    assert t["station_id"] == "st-minhang"


def test_dispatch_balances_least_load(cloud: Cloud) -> None:
    cloud.sql("UPDATE stations SET capacity = 1 WHERE id = 'st-pudong'")
    first = cloud.create(device_id="fr-1", fault_code="FR_DOOR_GASKET_LEAK")
    second = cloud.create(device_id="ac-old", fault_code="AC_FILTER_CLOGGED")
    assert first["station_id"] == "st-pudong"
    assert second["station_id"] == "st-minhang"


def test_no_candidate_leaves_ticket_accepted_with_dispatch_clock_running(cloud: Cloud) -> None:
    cloud.sql("UPDATE stations SET active = false")
    t = cloud.create()
    assert t["state"] == "accepted"
    assert t["station_id"] is None
    assert {c["name"]: c for c in t["sla"]}["dispatch"]["status"] == "running"
    assert cloud.ticket(t["id"])["timeline"][-1]["type"] == "dispatch_failed"
