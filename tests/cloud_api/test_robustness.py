"""Errors as problem+json, body size limit, per-gateway rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cloud_api.conftest import Cloud, start_cloud

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nope", 404),
        ("DELETE", "/v1/tickets", 405),
        ("GET", "/v1/tickets/tk-missing", 404),
    ],
)
def test_errors_are_problem_json(cloud: Cloud, method: str, path: str, status: int) -> None:
    r = cloud.http.request(method, path, headers=cloud.staff("admin"))
    assert r.status_code == status
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("https://aftercare.example/problems/")


def test_validation_error_is_422_problem_with_locations(cloud: Cloud) -> None:
    r = cloud.intake(
        {"device_id": "ac-1", "fault_code": "lower", "detected_at": "yesterday", "severity": "meh"}
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    locations = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert ("body", "severity") in locations


def test_naive_timestamp_is_rejected(cloud: Cloud) -> None:
    r = cloud.intake(
        {
            "device_id": "ac-1",
            "fault_code": "AC_FILTER_CLOGGED",
            "detected_at": "2026-11-23T08:00:00",
            "severity": "low",
        }
    )
    assert r.status_code == 422


@pytest.fixture
def small_cloud(database: tuple[str, dict[str, Any]]) -> Iterator[Cloud]:
    yield from start_cloud(
        *database, max_body_bytes=2048, gateway_rate_burst=3, gateway_rate_per_s=1.0
    )


def test_oversized_body_is_413(small_cloud: Cloud) -> None:
    body = {
        "device_id": "ac-1",
        "fault_code": "AC_FILTER_CLOGGED",
        "detected_at": "2026-11-23T08:00:00Z",
        "severity": "low",
        "evidence": {"blob": "x" * 5000},
    }
    r = small_cloud.intake(body)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith(PROBLEM)


def test_gateway_rate_limit_is_429_with_retry_after(small_cloud: Cloud) -> None:
    codes = [small_cloud.intake().status_code for _ in range(4)]
    assert codes[:3] == [201, 200, 200]
    assert codes[3] == 429
    last = small_cloud.intake()
    assert last.headers["retry-after"] == "1"
    assert last.json()["type"].endswith("/rate-limited")
    small_cloud.clock.advance(2)
    assert small_cloud.intake().status_code == 200


def test_rate_limit_is_per_gateway_token(small_cloud: Cloud) -> None:
    from cloud_api.schemas.registry import GatewayIn, HomeIn
    from cloud_api.services.registry import create
    from tests.cloud_api.factories import T0

    with small_cloud.session() as session:
        other = create(session=session, entity="gateways", body=GatewayIn(id="gw-2"), now=T0)
        create(
            session=session,
            entity="homes",
            body=HomeIn(
                id="h-2", customer_id="c-demo-0", region="shanghai-pudong", gateway_id="gw-2"
            ),
            now=T0,
        )
        session.commit()
    other_headers = {"Authorization": f"Bearer {other['token']}"}
    assert [small_cloud.intake().status_code for _ in range(4)][-1] == 429
    # The other gateway's bucket is full: its request passes the limiter (and is then
    # refused for a device that is not in its homes, not rate-limited).
    r = small_cloud.intake(headers=other_headers)
    assert r.status_code == 403
    assert r.json()["type"].endswith("/forbidden")
    assert small_cloud.intake().status_code == 429
