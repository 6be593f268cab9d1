"""The staff pages against a real app on a real uvicorn server (integration)."""

from __future__ import annotations

import csv
import io

import pytest

from cloud_api.pages.session import COOKIE_NAME
from tests.cloud_api.pages.conftest import Cloud, csrf_of, serve_ticket

pytestmark = pytest.mark.integration


def test_login_sets_a_signed_httponly_samesite_cookie(cloud: Cloud) -> None:
    r = cloud.client().post(
        "/staff/login", data={"username": "agent", "password": cloud.passwords["agent"]}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/queue"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/staff" in cookie


def test_wrong_password_is_refused_without_a_cookie(cloud: Cloud) -> None:
    r = cloud.client().post("/staff/login", data={"username": "agent", "password": "nope"})
    assert r.status_code == 401
    assert "set-cookie" not in r.headers
    assert "Wrong username or password" in r.text or "用户名或密码错误" in r.text


def test_pages_send_strangers_to_sign_in_and_back(cloud: Cloud) -> None:
    r = cloud.client().get("/staff/queue?state=accepted")
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/login?next=%2Fstaff%2Fqueue%3Fstate%3Daccepted"


def test_forged_cookie_is_no_session(cloud: Cloud) -> None:
    client = cloud.client(cookies={COOKIE_NAME: "eyJ1IjoidS1hZG1pbiJ9.x.y"})
    assert client.get("/staff/queue").status_code == 303


def test_sign_in_never_redirects_off_site(cloud: Cloud) -> None:
    r = cloud.client().post(
        "/staff/login",
        data={
            "username": "agent",
            "password": cloud.passwords["agent"],
            "next": "https://evil.example/",
        },
    )
    assert r.headers["location"] == "/staff/queue"


def test_queue_marks_gateway_tickets_as_auto_generated(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    html = cloud.staff("agent").get("/staff/queue").text
    assert ticket["id"] in html
    assert 'data-origin="gateway"' in html
    assert "AC_FILTER_CLOGGED" in html


def test_queue_filters_by_state_and_fault(cloud: Cloud) -> None:
    filter_ticket = cloud.raise_ticket(device=0, fault="AC_FILTER_CLOGGED")
    leak_ticket = cloud.raise_ticket(device=1, fault="AC_REFRIGERANT_LEAK")
    agent = cloud.staff("agent")
    by_fault = agent.get("/staff/queue", params={"fault": "AC_REFRIGERANT_LEAK"}).text
    assert leak_ticket["id"] in by_fault
    assert filter_ticket["id"] not in by_fault
    state = filter_ticket["state"]
    by_state = agent.get("/staff/queue/rows", params={"state": "closed"}).text
    assert filter_ticket["id"] not in by_state
    assert filter_ticket["id"] in agent.get("/staff/queue/rows", params={"state": state}).text


def test_sla_at_risk_filter_shows_only_warned_or_breached_tickets(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    agent = cloud.staff("agent")
    assert ticket["id"] not in agent.get("/staff/queue/rows", params={"at_risk": "1"}).text
    # 50 minutes without an appointment: the 60-minute clock warns at 75 %.
    cloud.clock.advance(50 * 60)
    from cloud_api.services.scheduler import run_due  # the SLA job, as the lifespan runs it

    with cloud.app.state.sessions() as session:
        run_due(session=session, clock=cloud.clock)
        session.commit()
    risky = agent.get("/staff/queue/rows", params={"at_risk": "1"}).text
    assert ticket["id"] in risky
    assert 'data-sla="at_risk"' in risky or 'data-sla="breached"' in risky


def test_live_fragment_shows_a_ticket_raised_after_the_page_loaded(cloud: Cloud) -> None:
    agent = cloud.staff("agent")
    page = agent.get("/staff/queue").text
    assert 'data-live-src="/staff/queue/rows?' in page
    ticket = cloud.raise_ticket()
    fragment = agent.get("/staff/queue/rows")
    assert ticket["id"] in fragment.text
    assert fragment.headers["cache-control"] == "no-store"


def test_ticket_page_explains_why_with_the_evidence_chart(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    html = cloud.staff("agent").get(f"/staff/tickets/{ticket['id']}").text
    assert 'data-testid="evidence-chart"' in html
    assert "<svg" in html
    assert "supply_delta_c" in html
    assert 'data-testid="timeline"' in html
    assert "AC-FILTER" in html  # the reserved part
    assert 'data-testid="warranty"' in html


def test_ticket_page_offers_only_the_roles_actions(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    assert ticket["state"] == "dispatched"
    agent_html = cloud.staff("agent").get(f"/staff/tickets/{ticket['id']}").text
    engineer_html = cloud.staff("engineer").get(f"/staff/tickets/{ticket['id']}").text
    assert 'data-action="appointment_booked"' in agent_html
    assert 'data-action="cancelled"' in agent_html
    assert 'data-action="cancelled"' not in engineer_html
    assert 'data-action="follow_up"' not in engineer_html


def test_action_form_moves_the_ticket_through_the_flow(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    agent = cloud.staff("agent")
    page = agent.get(f"/staff/tickets/{ticket['id']}").text
    r = agent.post(
        f"/staff/tickets/{ticket['id']}/events",
        data={
            "csrf": csrf_of(page),
            "type": "appointment_booked",
            "slot_start": "2026-11-23T14:00",
            "slot_end": "2026-11-23T16:00",
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/staff/tickets/{ticket['id']}"
    after = agent.get(f"/staff/tickets/{ticket['id']}").text
    assert 'data-state="scheduled"' in after
    assert "Book appointment" in after or "预约上门" in after


def test_refused_event_comes_back_as_a_message_not_an_error_page(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    agent = cloud.staff("agent")
    page = agent.get(f"/staff/tickets/{ticket['id']}").text
    # A follow-up before completion: the flow answers 409, the page shows why.
    r = agent.post(
        f"/staff/tickets/{ticket['id']}/events",
        data={"csrf": csrf_of(page), "type": "follow_up", "satisfaction": "5"},
    )
    assert r.status_code == 303
    shown = agent.get(r.headers["location"]).text
    assert 'class="flash error"' in shown
    assert 'data-state="dispatched"' in shown


def test_action_without_the_sessions_csrf_token_is_forbidden(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    r = cloud.staff("agent").post(
        f"/staff/tickets/{ticket['id']}/events",
        data={"csrf": "forged", "type": "cancelled", "reason": "other"},
    )
    assert r.status_code == 403


def test_station_users_never_see_another_stations_ticket(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    engineer = cloud.staff("engineer")  # demo engineer belongs to st-pudong
    own = ticket["station_id"] == "st-pudong"
    page = engineer.get(f"/staff/tickets/{ticket['id']}")
    assert page.status_code == (200 if own else 404)
    # Move the ticket to another station as a manager would; it disappears for the engineer.
    with cloud.app.state.sessions() as session:
        from cloud_api.models.tickets import Ticket

        row = session.get(Ticket, ticket["id"])
        assert row is not None
        row.station_id = "st-wuzhong"
        session.commit()
    assert engineer.get(f"/staff/tickets/{ticket['id']}").status_code == 404
    assert ticket["id"] not in engineer.get("/staff/queue").text


def test_manager_pages_are_forbidden_to_engineers(cloud: Cloud) -> None:
    engineer = cloud.staff("engineer")
    for path in ("/staff/kpis", "/staff/quality", "/staff/settlement"):
        assert engineer.get(path).status_code == 403, path


def test_language_switch_turns_labels_chinese_and_back(cloud: Cloud) -> None:
    agent = cloud.staff("agent")
    r = agent.get("/staff/lang", params={"to": "zh-CN", "next": "/staff/queue"})
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/queue"
    zh = agent.get("/staff/queue").text
    assert "工单队列" in zh
    assert '<html lang="zh-CN">' in zh
    agent.get("/staff/lang", params={"to": "en"})
    en = agent.get("/staff/queue").text
    assert "Ticket queue" in en


def test_engineers_day_lists_the_booked_job_with_field_buttons(cloud: Cloud) -> None:
    ticket = cloud.raise_ticket()
    agent = cloud.staff("agent")
    page = agent.get(f"/staff/tickets/{ticket['id']}").text
    agent.post(
        f"/staff/tickets/{ticket['id']}/events",
        data={
            "csrf": csrf_of(page),
            "type": "appointment_booked",
            "slot_start": "2026-11-23T14:00",
            "slot_end": "2026-11-23T16:00",
        },
    )
    html = cloud.staff("engineer").get("/staff/today").text
    assert ticket["id"] in html
    assert "14:00–16:00" in html
    assert 'data-action="engineer_departed"' in html
    assert 'name="viewport"' in html


def test_kpi_page_shows_the_seed_kpis_against_targets(cloud: Cloud) -> None:
    cloud.raise_ticket()
    html = cloud.staff("manager").get("/staff/kpis").text
    for name in (
        "satisfaction_rate",
        "complaint_rate",
        "response_1h_rate",
        "completion_24h_rate",
        "parts_24h_rate",
        "follow_up_rate",
        "proactive_share",
        "mean_lead_time",
        "quality_feedback",
    ):
        assert f'data-kpi="{name}"' in html, name
    assert "9.0" in html  # mean lead time of one ticket predicted 9 days ahead


def test_kpi_json_is_the_kpi_services_report(cloud: Cloud) -> None:
    cloud.raise_ticket()
    body = cloud.staff("manager").get("/staff/kpis.json").json()
    assert body["proactive_share"]["denominator"] == 1
    assert body["kpis"]["satisfaction_rate"]["target"] == 0.95


def test_quality_report_downloads_as_csv_and_json(cloud: Cloud) -> None:
    cloud.raise_ticket()
    manager = cloud.staff("manager")
    html = manager.get("/staff/quality", params={"month": "2026-11"}).text
    assert "KFR-35GW" in html
    text = manager.get("/staff/quality.csv", params={"month": "2026-11"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["fault_code"] == "AC_FILTER_CLOGGED" for r in rows)
    body = manager.get("/staff/quality.json", params={"month": "2026-11"}).json()
    assert body["month"] == "2026-11"


def test_settlement_lists_the_completed_ticket_and_exports_csv(cloud: Cloud) -> None:
    tid = serve_ticket(cloud, device=0, fault="AC_FILTER_CLOGGED")
    manager = cloud.staff("manager")
    html = manager.get("/staff/settlement", params={"month": "2026-11"}).text
    assert tid in html
    text = manager.get("/staff/settlement.csv", params={"month": "2026-11"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["ticket_id"] for r in rows if r["row"] == "ticket"] == [tid]
    assert float(rows[-1]["fee"]) > 0


def test_station_sees_only_its_own_settlement(cloud: Cloud) -> None:
    tid = serve_ticket(cloud, device=0, fault="AC_FILTER_CLOGGED")
    with cloud.app.state.sessions() as session:
        from cloud_api.models.registry import StaffUser

        user = session.query(StaffUser).filter_by(username="station").one()
        user.station_id = "st-wuzhong"
        session.commit()
    other = cloud.staff("station").get("/staff/settlement", params={"month": "2026-11"}).text
    assert tid not in other
    assert tid in cloud.staff("manager").get("/staff/settlement", params={"month": "2026-11"}).text
