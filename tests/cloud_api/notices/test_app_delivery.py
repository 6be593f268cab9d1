"""The whole path in a running app: gateway intake over HTTP → outbox → worker → SMTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from aftercare.clock import SystemClock
from cloud_api.app import create_app
from cloud_api.db import make_engine
from cloud_api.settings import CloudSettings
from tests.cloud_api.notices.servers import smtp_server, smtp_url
from tests.cloud_api.notices.world import PostgresTemplate, SqliteTemplate
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.integration


def test_gateway_intake_is_mailed_by_the_apps_worker_with_the_customer_link(
    db_url: str, template: SqliteTemplate | PostgresTemplate
) -> None:
    gateway = template.seeded["gateway"]
    with smtp_server() as (mailbox, port):
        settings = CloudSettings(
            mode="test",
            db_url=db_url,
            secret_key="app-delivery-secret-0123456789",
            public_url="http://cloud.test",
            scheduler_enabled=False,
            notify_smtp_url=smtp_url(port),
            notify_poll_s=0.1,
        )
        engine = make_engine(db_url)
        # The worker runs on real time here: the point is the lifespan wiring.
        app = create_app(settings, clock=SystemClock(), engine=engine)
        with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            r = client.post(
                "/v1/tickets",
                json={
                    "device_id": "ac-new",
                    "fault_code": "AC_FILTER_CLOGGED",
                    "detected_at": datetime.now(UTC).isoformat(),
                    "severity": "medium",
                },
                headers={"Authorization": f"Bearer {gateway['token']}", "Idempotency-Key": "k1"},
            )
            assert r.status_code == 201, r.text
            notice = r.json()["customer_notice"]
            assert notice["language"] == "zh-CN"
            assert notice["channels"] == ["email"]
            deadline = time.monotonic() + 15
            while app.state.notice_stats.sent < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert app.state.notice_stats.sent == 1
            page = client.get("/c/" + notice["link"].rsplit("/c/", 1)[1])
        engine.dispose()

    assert len(mailbox.messages) == 1
    assert notice["link"] in mailbox.text()
    assert page.status_code == 200
    assert r.json()["id"] in page.text
