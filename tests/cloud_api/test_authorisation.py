"""Who may do what (Contract 4): gateways, stations, customers' links, roles, tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cloud_api.auth import issue_staff_token
from cloud_api.schemas.registry import GatewayIn, HomeIn, StaffIn
from cloud_api.services.registry import create
from tests.cloud_api.conftest import SECRET, Cloud
from tests.cloud_api.factories import T0


@pytest.fixture
def world(cloud: Cloud) -> dict[str, Any]:
    """A ticket at st-pudong, another gateway with its own home, a st-minhang station user."""
    with cloud.session() as session:
        other = create(session=session, entity="gateways", body=GatewayIn(id="gw-other"), now=T0)
        create(
            session=session,
            entity="homes",
            body=HomeIn(
                id="h-x", customer_id="c-demo-0", region="shanghai-pudong", gateway_id="gw-other"
            ),
            now=T0,
        )
        for user_id, role in (("u-mh", "station"), ("u-mh-eng", "engineer")):
            create(
                session=session,
                entity="staff",
                body=StaffIn(
                    id=user_id,
                    username=user_id,
                    password="password-123",
                    role=role,
                    station_id="st-minhang",
                ),
                now=T0,
            )
        session.commit()
    ticket = cloud.create()
    minhang, minhang_engineer = (
        issue_staff_token(
            secret=SECRET, user_id=uid, role=role, station_id="st-minhang", now=T0, ttl_s=3600
        )
        for uid, role in (("u-mh", "station"), ("u-mh-eng", "engineer"))
    )
    link_token = ticket["customer_notice"]["link"].rsplit("/c/", 1)[1]
    return {
        "ticket": ticket,
        "other_gateway": {"Authorization": f"Bearer {other['token']}"},
        "other_station": {"Authorization": f"Bearer {minhang}"},
        "other_engineer": {"Authorization": f"Bearer {minhang_engineer}"},
        "customer_link": {"Authorization": f"Bearer {link_token}"},
    }


Caller = Callable[[Cloud, dict[str, Any]], dict[str, str]]
CALLERS: dict[str, Caller] = {
    "own_gateway": lambda c, _w: c.gateway,
    "other_gateway": lambda _c, w: w["other_gateway"],
    "own_station": lambda c, _w: c.staff("station"),
    "other_station": lambda _c, w: w["other_station"],
    "engineer": lambda c, _w: c.staff("engineer"),
    "other_engineer": lambda _c, w: w["other_engineer"],
    "customer_link": lambda _c, w: w["customer_link"],
    "agent": lambda c, _w: c.staff("agent"),
    "manager": lambda c, _w: c.staff("manager"),
    "admin": lambda c, _w: c.staff("admin"),
    "anonymous": lambda _c, _w: {},
    "forged": lambda _c, _w: {"Authorization": "Bearer eyJ1IjoidS1hZG1pbiJ9.forged"},
}

# (caller, action, expected status)
MATRIX = [
    ("own_gateway", "read", 200),
    ("other_gateway", "read", 404),
    ("own_station", "read", 200),
    ("other_station", "read", 404),
    ("engineer", "read", 200),
    ("agent", "read", 200),
    ("anonymous", "read", 401),
    ("forged", "read", 401),
    ("own_gateway", "event", 403),
    ("other_station", "event", 404),
    ("own_station", "event", 200),
    ("engineer", "follow_up", 403),
    ("agent", "follow_up", 409),
    ("agent", "registry", 403),
    ("manager", "registry", 403),
    ("admin", "registry", 201),
    ("own_gateway", "registry", 403),
    ("other_gateway", "list", 0),
    ("other_station", "list", 0),
    ("own_station", "list", 1),
    ("own_gateway", "list", 1),
    # An engineer sees only the tickets of the station it belongs to.
    ("other_engineer", "read", 404),
    ("other_engineer", "event", 404),
    ("other_engineer", "list", 0),
    ("engineer", "list", 1),
    # A gateway acts only on its own homes' tickets, and never moves them along the flow.
    ("other_gateway", "event", 403),
    # The customer's link opens its page, and is no credential for the API.
    ("customer_link", "read", 401),
    ("customer_link", "event", 401),
    ("customer_link", "kpis", 401),
    # KPIs are for the office, not the field or the gateways.
    ("manager", "kpis", 200),
    ("agent", "kpis", 200),
    ("engineer", "kpis", 403),
    ("own_station", "kpis", 403),
    ("own_gateway", "kpis", 403),
]


def _act(cloud: Cloud, world: dict[str, Any], action: str, headers: dict[str, str]) -> int:
    tid = world["ticket"]["id"]
    if action == "read":
        return cloud.http.get(f"/v1/tickets/{tid}", headers=headers).status_code
    if action == "event":
        slot = {"slot_start": "2026-11-23T10:00:00Z", "slot_end": "2026-11-23T11:00:00Z"}
        return cloud.http.post(
            f"/v1/tickets/{tid}/events",
            json={"type": "appointment_booked", **slot},
            headers=headers,
        ).status_code
    if action == "follow_up":
        return cloud.http.post(
            f"/v1/tickets/{tid}/events",
            json={"type": "follow_up", "satisfaction": 5},
            headers=headers,
        ).status_code
    if action == "kpis":
        return cloud.http.get("/v1/kpis", headers=headers).status_code
    if action == "registry":
        return cloud.http.post(
            "/v1/customers", json={"id": "c-new", "name": "New"}, headers=headers
        ).status_code
    r = cloud.http.get("/v1/tickets", headers=headers)
    assert r.status_code == 200
    count: int = r.json()["count"]
    return count


@pytest.mark.parametrize(
    ("caller", "action", "expected"), MATRIX, ids=[f"{c}-{a}" for c, a, _ in MATRIX]
)
def test_authorisation_matrix(
    cloud: Cloud, world: dict[str, Any], caller: str, action: str, expected: int
) -> None:
    assert _act(cloud, world, action, CALLERS[caller](cloud, world)) == expected


def test_customer_link_opens_only_its_own_ticket(cloud: Cloud) -> None:
    first = cloud.create(device_id="ac-1")
    second = cloud.create(device_id="ac-2")
    link = first["customer_notice"]["link"]
    token = link.rsplit("/c/", 1)[1]
    page = cloud.http.get(f"/c/{token}")
    assert page.status_code == 200
    assert first["id"] in page.text
    assert second["id"] not in page.text
    # The link token is no API credential.
    assert (
        cloud.http.get(
            f"/v1/tickets/{second['id']}", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    assert cloud.http.get(f"/c/{token[:-2]}xx").status_code in (400, 403, 404)


def test_expired_staff_token_is_401_problem(cloud: Cloud) -> None:
    token = issue_staff_token(
        secret=SECRET, user_id="u-agent", role="agent", station_id=None, now=T0, ttl_s=60
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert cloud.http.get("/v1/tickets", headers=headers).status_code == 200
    cloud.clock.advance(61)
    r = cloud.http.get("/v1/tickets", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/unauthorized")


def test_revoked_gateway_token_is_401(cloud: Cloud) -> None:
    assert cloud.intake().status_code == 201
    r = cloud.http.post("/v1/gateways/gw-demo/revoke", headers=cloud.staff("admin"))
    assert r.status_code == 204
    assert cloud.intake().status_code == 401


def test_staff_sign_in_issues_working_token(cloud: Cloud) -> None:
    password = next(s["password"] for s in cloud.seed["staff"] if s["role"] == "agent")
    bad = cloud.http.post("/v1/auth/token", data={"username": "agent", "password": "wrong"})
    assert bad.status_code == 401
    good = cloud.http.post("/v1/auth/token", data={"username": "agent", "password": password})
    assert good.status_code == 200
    token = good.json()["access_token"]
    assert (
        cloud.http.get("/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
