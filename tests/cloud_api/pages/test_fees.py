from __future__ import annotations

from decimal import Decimal

import pytest

from aftercare.catalog import default_catalog
from cloud_api.services.settlement import (
    DistanceBand,
    FeeRule,
    FeeSchedule,
    NoFeeRuleError,
    band_for_km,
    default_fee_schedule,
)


@pytest.mark.parametrize(
    ("km", "band"),
    [
        (0, DistanceBand.NEAR),
        (10, DistanceBand.NEAR),
        (10.1, DistanceBand.MID),
        (30, DistanceBand.MID),
        (31, DistanceBand.FAR),
    ],
)
def test_distance_bands_split_at_10_and_30_km(km: float, band: DistanceBand) -> None:
    assert band_for_km(km) is band


def test_most_specific_rule_wins() -> None:
    schedule = FeeSchedule(
        (
            FeeRule(Decimal(50)),
            FeeRule(Decimal(80), in_warranty=True),
            FeeRule(Decimal(200), fault_code="AC_REFRIGERANT_LEAK"),
            FeeRule(Decimal(95), in_warranty=True, band=DistanceBand.FAR),
        )
    )
    assert schedule.fee_for("AC_FILTER_CLOGGED", False, DistanceBand.NEAR) == 50
    assert schedule.fee_for("AC_FILTER_CLOGGED", True, DistanceBand.NEAR) == 80
    assert schedule.fee_for("AC_FILTER_CLOGGED", True, DistanceBand.FAR) == 95
    # A fault-specific rule outranks a warranty+band rule.
    assert schedule.fee_for("AC_REFRIGERANT_LEAK", True, DistanceBand.FAR) == 200


def test_no_matching_rule_is_a_specific_error() -> None:
    schedule = FeeSchedule((FeeRule(Decimal(80), in_warranty=True),))
    with pytest.raises(NoFeeRuleError) as info:
        schedule.fee_for("WH_ELEMENT_FAILURE", False, DistanceBand.MID)
    assert info.value.fault_code == "WH_ELEMENT_FAILURE"


def test_default_schedule_prices_every_fault_in_and_out_of_warranty() -> None:
    catalog = default_catalog()
    schedule = default_fee_schedule(catalog)
    for code in catalog.faults:
        for covered in (True, False):
            near = schedule.fee_for(code, covered, DistanceBand.NEAR)
            far = schedule.fee_for(code, covered, DistanceBand.FAR)
            assert far > near > 0


def test_default_schedule_pays_core_repairs_more_than_wear_swaps_and_remote_least() -> None:
    schedule = default_fee_schedule(default_catalog())
    core = schedule.fee_for("AC_FAN_BEARING_WEAR", True, DistanceBand.NEAR)
    wear = schedule.fee_for("AC_FILTER_CLOGGED", True, DistanceBand.NEAR)
    remote = schedule.fee_for("SENSOR_STUCK", True, DistanceBand.NEAR)
    out = schedule.fee_for("AC_FAN_BEARING_WEAR", False, DistanceBand.NEAR)
    assert core > wear > remote
    assert out < wear


def test_matrix_lists_in_and_out_of_warranty_fees_per_band() -> None:
    schedule = default_fee_schedule(default_catalog())
    [(code, inside, outside)] = schedule.matrix(["AC_FILTER_CLOGGED"])
    assert code == "AC_FILTER_CLOGGED"
    assert len(inside) == len(outside) == 3
    assert inside[0] == schedule.fee_for(code, True, DistanceBand.NEAR)
