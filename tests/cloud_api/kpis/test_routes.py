"""``GET /v1/kpis`` and ``GET /v1/reports/quality`` over real HTTP: roles, JSON and CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from cloud_api.app import create_app
from cloud_api.auth import issue_staff_token
from cloud_api.models.registry import Role
from cloud_api.notify.install import notice_config_from_settings
from cloud_api.settings import CloudSettings
from tests.cloud_api.notices.world import SECRET, SqliteTemplate, World, build_world
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.integration


class Api:
    def __init__(self, world: World, client: httpx.Client) -> None:
        self.world = world
        self.client = client

    def as_role(self, role: Role) -> dict[str, str]:
        actor = self.world.staff(role)
        token = issue_staff_token(
            secret=SECRET,
            user_id=actor.id,
            role=role.value,
            station_id=actor.station_id,
            now=self.world.clock.now(),
            ttl_s=3600,
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(kpi_template: SqliteTemplate, tmp_path: Path) -> Iterator[Api]:
    db_url = kpi_template.copy_to(tmp_path)
    settings = CloudSettings(
        mode="test",
        db_url=db_url,
        secret_key=SECRET,
        scheduler_enabled=False,
        notify_worker_enabled=False,
    )
    world = build_world(
        db_url, seeded=kpi_template.seeded, config=notice_config_from_settings(settings)
    )
    app = create_app(settings, clock=world.clock, engine=world.engine)
    with (
        serve_in_thread(app) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield Api(world, client)
    world.engine.dispose()


def test_kpis_answer_managers_and_agents_but_not_field_staff(api: Api) -> None:
    api.world.intake("ac-new", "AC_FILTER_CLOGGED", predicted_in=timedelta(days=12))
    api.world.advance(hours=2)
    since = (api.world.clock.now() - timedelta(days=1)).isoformat()
    params = {"since": since, "until": api.world.clock.now().isoformat()}

    r = api.client.get("/v1/kpis", params=params, headers=api.as_role(Role.MANAGER))
    assert r.status_code == 200, r.text
    body = r.json()
    for name in (
        "satisfaction_rate",
        "complaint_rate",
        "response_1h_rate",
        "completion_24h_rate",
        "parts_24h_rate",
        "follow_up_rate",
    ):
        kpi = body["kpis"][name]
        assert {"value", "numerator", "denominator", "target", "pending", "ticket_ids_url"} <= set(
            kpi
        )
    assert body["kpis"]["response_1h_rate"]["denominator"] == 1  # decided: 2 h, no booking
    assert body["kpis"]["completion_24h_rate"]["pending"] == 1
    assert body["proactive_share"]["value"] == 1.0
    assert body["mean_lead_time"]["value_days"] == pytest.approx(12.0)

    ids = api.client.get(
        body["kpis"]["response_1h_rate"]["ticket_ids_url"], headers=api.as_role(Role.AGENT)
    )
    assert ids.status_code == 200
    assert len(ids.json()["denominator_ids"]) == 1
    by_dates = api.client.get(
        "/v1/kpis",
        params={"since": "2026-11-01", "until": "2026-11-03"},
        headers=api.as_role(Role.MANAGER),
    )
    assert by_dates.status_code == 200, by_dates.text
    assert by_dates.json()["since"].startswith("2026-11-01T00:00:00")
    assert by_dates.json()["kpis"]["response_1h_rate"]["denominator"] == 1
    assert api.client.get("/v1/kpis", headers=api.as_role(Role.ENGINEER)).status_code == 403
    assert api.client.get("/v1/kpis").status_code == 401
    unknown = api.client.get("/v1/kpis/nope/tickets", headers=api.as_role(Role.MANAGER))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_quality_report_as_json_and_csv(api: Api) -> None:
    api.world.intake("ac-new", "AC_FILTER_CLOGGED")
    headers = api.as_role(Role.MANAGER)

    r = api.client.get("/v1/reports/quality", params={"month": "2026-11"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month"] == "2026-11"
    assert [(row["model"], row["fault_code"], row["tickets"]) for row in body["rows"]] == [
        ("KFR-35GW", "AC_FILTER_CLOGGED", 1)
    ]
    by_param = api.client.get(
        "/v1/reports/quality", params={"month": "2026-11", "format": "csv"}, headers=headers
    )
    by_accept = api.client.get(
        "/v1/reports/quality",
        params={"month": "2026-11"},
        headers={**headers, "Accept": "text/csv"},
    )
    for csv_response in (by_param, by_accept):
        assert csv_response.headers["content-type"].startswith("text/csv")
        assert csv_response.text.splitlines()[0].startswith("month,model,firmware,fault_code")
        assert "2026-11,KFR-35GW,2.3.1,AC_FILTER_CLOGGED,1" in csv_response.text
    bad = api.client.get("/v1/reports/quality", params={"month": "2026-13"}, headers=headers)
    assert bad.status_code == 422
    assert api.client.get("/v1/reports/quality", headers=api.as_role(Role.AGENT)).status_code == 403
