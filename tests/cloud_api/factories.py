"""Test data for the cloud: the seeded devices and intake bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

T0: Final = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

# Seeded for every cloud test (seed_demo(devices=...)); regions: h-demo-0 shanghai-pudong,
# h-demo-1 shanghai-minhang, h-demo-2 suzhou-wuzhong.
DEVICES: Final[list[dict[str, Any]]] = [
    {
        "id": "ac-1",
        "kind": "air_conditioner",
        "model": "KFR-35GW",
        "home_id": "h-demo-0",
        "age_days": 60,
    },
    {
        "id": "ac-2",
        "kind": "air_conditioner",
        "model": "KFR-35GW",
        "home_id": "h-demo-0",
        "age_days": 60,
    },
    {
        "id": "ac-old",
        "kind": "air_conditioner",
        "model": "KFR-35GW",
        "home_id": "h-demo-1",
        "age_days": 500,
    },
    {
        "id": "ac-sz",
        "kind": "air_conditioner",
        "model": "KFR-26GW",
        "home_id": "h-demo-2",
        "age_days": 60,
    },
    {
        "id": "fr-1",
        "kind": "refrigerator",
        "model": "BCD-470WP",
        "home_id": "h-demo-1",
        "age_days": 100,
    },
    {
        "id": "wp-1",
        "kind": "water_purifier",
        "model": "RO-800G",
        "home_id": "h-demo-2",
        "age_days": 100,
    },
    *(
        {
            "id": f"ac-p{n:02d}",
            "kind": "air_conditioner",
            "model": "KFR-35GW",
            "home_id": "h-demo-0",
            "age_days": 60,
        }
        for n in range(24)
    ),
]


def intake_body(
    device_id: str = "ac-1",
    fault_code: str = "AC_FILTER_CLOGGED",
    *,
    severity: str = "medium",
    detected_at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Contract 4 intake body."""
    body: dict[str, Any] = {
        "device_id": device_id,
        "fault_code": fault_code,
        "detected_at": (detected_at or T0 - timedelta(minutes=1)).isoformat(),
        "severity": severity,
        "evidence": {"metric": "supply_air_temp_c", "drift": 2.5},
    }
    body.update(extra)
    return body
