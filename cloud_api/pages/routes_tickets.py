"""Ticket pages: the live queue, ticket detail with its action forms, the engineer's day."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aftercare.catalog import default_catalog
from cloud_api.deps import ClockDep, SessionDep
from cloud_api.models.tickets import TicketState
from cloud_api.pages import flow_bridge
from cloud_api.pages.actions import FormInvalidError, actions_for, event_body_from_form
from cloud_api.pages.backend import require_roles
from cloud_api.pages.charts import EvidenceLabels, cjk_font_available, render_evidence_svg
from cloud_api.pages.evidence import parse_evidence
from cloud_api.pages.i18n import Translator
from cloud_api.pages.queries import (
    TicketNotVisibleError,
    engineer_jobs,
    job_card,
    queue_rows,
    station_choices,
    ticket_detail,
)
from cloud_api.pages.templating import DESK_ROLES, DISPLAY_TZ
from cloud_api.pages.views import QueueFilters
from cloud_api.pages.web import PageRequest, render

__all__ = ["router"]

router = APIRouter()

QueuePage = Annotated[PageRequest, require_roles(*DESK_ROLES, "engineer")]
FieldPage = Annotated[PageRequest, require_roles("engineer", "station", "admin")]
_MAX_FACTS: Final = 14


def _filters(
    state: str | None, station: str | None, fault: str | None, at_risk: str | None
) -> QueueFilters:
    return QueueFilters(
        state=state or None,
        station=station or None,
        fault=fault or None,
        at_risk=at_risk in ("1", "on", "true"),
    )


def _query_string(filters: QueueFilters) -> str:
    pairs = {
        "state": filters.state or "",
        "station": filters.station or "",
        "fault": filters.fault or "",
        "at_risk": "1" if filters.at_risk else "",
    }
    return urlencode({k: v for k, v in pairs.items() if v})


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    page: QueuePage,
    session: SessionDep,
    state: str | None = None,
    station: str | None = None,
    fault: str | None = None,
    at_risk: str | None = None,
) -> Response:
    """The ticket queue with filters; the table refreshes itself every two seconds."""
    assert page.user is not None  # noqa: S101 — require_roles guarantees it
    filters = _filters(state, station, fault, at_risk)
    rows = queue_rows(session=session, user=page.user, filters=filters, t=page.t)
    context = {
        "active": "queue",
        "rows": rows,
        "filters": filters,
        "query": _query_string(filters),
        "states": [s.value for s in TicketState],
        "stations": station_choices(session=session, user=page.user),
        "fault_codes": sorted(default_catalog().faults),
    }
    return render(page, "staff/queue.html", context)


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_fragment(
    page: QueuePage,
    session: SessionDep,
    state: str | None = None,
    station: str | None = None,
    fault: str | None = None,
    at_risk: str | None = None,
) -> Response:
    """The queue table alone: what the live poller swaps in."""
    assert page.user is not None  # noqa: S101 — require_roles guarantees it
    filters = _filters(state, station, fault, at_risk)
    rows = queue_rows(session=session, user=page.user, filters=filters, t=page.t)
    response = render(page, "staff/_queue_rows.html", {"rows": rows})
    response.headers["Cache-Control"] = "no-store"
    return response


def _labels(t: Translator) -> EvidenceLabels:
    if not t.is_zh or not cjk_font_available():
        return EvidenceLabels()
    return EvidenceLabels(
        detected="检测到异常",
        predicted_failure="预计故障",
        trend="趋势",
        anomaly_score="异常分数",
        threshold="阈值",
        failure_level="故障水平",
        deviation="偏离正常",
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(
    ticket_id: str,
    page: QueuePage,
    session: SessionDep,
    clock: ClockDep,
    error: Annotated[str | None, Query()] = None,
) -> Response:
    """One ticket: why it was raised (evidence chart), timeline, parts, warranty, actions."""
    assert page.user is not None  # noqa: S101 — require_roles guarantees it
    try:
        detail = ticket_detail(session=session, user=page.user, ticket_id=ticket_id, t=page.t)
    except TicketNotVisibleError:
        return render(page, "staff/not_found.html", {"ticket_id": ticket_id}, status_code=404)
    view = parse_evidence(
        detail.evidence,
        detected_at=detail.detected_at,
        predicted_failure_at=detail.predicted_failure_at,
    )
    actions = actions_for(
        role=page.user.role,
        state=detail.row.state,
        now=clock.now(),
        tz=DISPLAY_TZ,
        catalog=default_catalog(),
        parts=[
            (r.sku, r.qty) for r in detail.reservations if r.state not in ("released", "expired")
        ],
        # The current station first: a reassignment is a deliberate change.
        stations=sorted(
            station_choices(session=session, user=page.user),
            key=lambda s: s[0] != detail.row.station_id,
        ),
        quote_status=detail.quote_status,
    )
    context = {
        "active": "queue",
        "ticket": detail,
        "chart_svg": render_evidence_svg(view, _labels(page.t)),
        "evidence_facts": list(view.facts.items())[:_MAX_FACTS],
        "actions": actions,
        "flash_error": error,
    }
    return render(page, "staff/ticket.html", context)


@router.post("/tickets/{ticket_id}/events")
async def post_event(
    ticket_id: str,
    request: Request,
    page: QueuePage,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    """An action form: becomes a Contract 4 event handed to the flow service."""
    assert page.user is not None  # noqa: S101 — require_roles guarantees it
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    back = form.get("next") or f"/staff/tickets/{ticket_id}"
    if not back.startswith("/staff/"):
        back = f"/staff/tickets/{ticket_id}"
    if page.session is None or not page.session.csrf_ok(form.get("csrf")):
        return Response("CSRF token missing or wrong", status_code=status.HTTP_403_FORBIDDEN)
    try:
        body = event_body_from_form(form, tz=DISPLAY_TZ)
        flow_bridge.apply(
            session=session, user=page.user, ticket_id=ticket_id, body=body, clock=clock
        )
    except FormInvalidError as exc:
        return _back_with_error(
            f"/staff/tickets/{ticket_id}", f"{page.t('ticket.action_failed')}: {exc}"
        )
    except flow_bridge.EventRefusedError as exc:
        return _back_with_error(
            f"/staff/tickets/{ticket_id}", f"{page.t('ticket.action_failed')}: {exc.detail}"
        )
    return RedirectResponse(back, status_code=status.HTTP_303_SEE_OTHER)


def _back_with_error(path: str, message: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode({'error': message})}", status_code=303)


@router.get("/today", response_class=HTMLResponse)
def today_page(page: FieldPage, session: SessionDep, clock: ClockDep) -> Response:
    """The engineer's jobs today: large buttons for the next step, phone-width first."""
    assert page.user is not None  # noqa: S101 — require_roles guarantees it
    now = clock.now()
    day = now.astimezone(DISPLAY_TZ).date()
    catalog = default_catalog()
    cards = []
    for ticket, device, home in engineer_jobs(
        session=session, user=page.user, day=day, tz=DISPLAY_TZ
    ):
        parts = [
            (str(p.get("sku")), int(p.get("qty", 1)))
            for p in (ticket.parts_requested or [])
            if isinstance(p, dict) and p.get("sku")
        ]
        actions = actions_for(
            role=page.user.role,
            state=ticket.state,
            now=now,
            tz=DISPLAY_TZ,
            catalog=catalog,
            parts=parts,
            quote_status=ticket.quote_status,
        )
        # The phone shows the field steps only; bookings stay on the desk.
        field = [
            a
            for a in actions
            if a.event in ("engineer_departed", "repair_started", "completed", "waiting_for_parts")
        ]
        cards.append(job_card(ticket, device, home, DISPLAY_TZ, field))
    return render(
        page, "staff/today.html", {"active": "today", "jobs": cards, "today": day.isoformat()}
    )
