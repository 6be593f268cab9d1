"""KPIs over tickets driven through the real flow (the KPI formulas have their own tests)."""

from __future__ import annotations

from tests.cloud_api.conftest import Cloud

WINDOW = {"since": "2026-11-23T00:00:00Z", "until": "2026-11-24T00:00:00Z"}


def test_young_open_ticket_is_pending_not_a_miss(cloud: Cloud) -> None:
    cloud.create()
    cloud.clock.advance(600)
    young = cloud.http.get("/v1/kpis", params=WINDOW, headers=cloud.staff("manager")).json()
    response = young["kpis"]["response_1h_rate"]
    assert response["pending"] == 1
    assert response["denominator"] == 0
    cloud.clock.advance(3600)
    late = cloud.http.get("/v1/kpis", params=WINDOW, headers=cloud.staff("manager")).json()
    missed = late["kpis"]["response_1h_rate"]
    assert missed["pending"] == 0
    assert missed["denominator"] == 1
    assert missed["numerator"] == 0
