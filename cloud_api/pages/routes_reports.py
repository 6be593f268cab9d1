"""Manager pages: KPIs against targets, the quality report to the factory, settlement."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Final

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from aftercare.catalog import default_catalog
from cloud_api.deps import ClockDep, SessionDep
from cloud_api.pages.backend import require_roles
from cloud_api.pages.charts import TrendPoint, render_trend_svg
from cloud_api.pages.templating import DISPLAY_TZ, MANAGER_ROLES
from cloud_api.pages.views import KpiTile
from cloud_api.pages.web import PageRequest, render
from cloud_api.services.kpi_formulas import SEED_KPIS, KpiResult
from cloud_api.services.kpis import KpiReport, compute_kpis
from cloud_api.services.quality import BadMonth, Month, parse_month, quality_report
from cloud_api.services.settlement import (
    DistanceBand,
    fee_schedule,
    settle_completed,
    settlement_csv,
    settlement_lines,
    station_totals,
)

__all__ = ["router"]

router = APIRouter()

SettlementPage = Annotated[PageRequest, require_roles(*MANAGER_ROLES, "station")]
KpiPage = Annotated[PageRequest, require_roles(*MANAGER_ROLES, "agent")]
QualityPage = Annotated[PageRequest, require_roles(*MANAGER_ROLES)]
_MONTH: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DEFAULT_PERIOD: Final = timedelta(days=28)
_MAX_TREND_WEEKS: Final = 12
_WEEK: Final = timedelta(days=7)


def month_or_current(month: str | None, now: datetime, tz: tzinfo = DISPLAY_TZ) -> str:
    """A valid "YYYY-MM", defaulting to the current local month."""
    if month and _MONTH.match(month):
        return month
    return now.astimezone(tz).strftime("%Y-%m")


def _station_scope(page: PageRequest) -> str | None:
    assert page.user is not None  # noqa: S101 — require_roles guarantees it
    return page.user.station_id if page.user.role == "station" else None


@router.get("/settlement", response_class=HTMLResponse)
def settlement_page(
    page: SettlementPage,
    session: SessionDep,
    clock: ClockDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    """Monthly station fees: totals per station, one line per completed ticket, the schedule."""
    catalog = default_catalog()
    chosen = month_or_current(month, clock.now())
    settle_completed(session=session, catalog=catalog, clock=clock)
    session.commit()
    scope = _station_scope(page)
    context = {
        "active": "settlement",
        "month": chosen,
        "currency": catalog.pricing.currency,
        "totals": station_totals(session=session, month=chosen, station_id=scope),
        "lines": settlement_lines(session=session, month=chosen, station_id=scope),
        "bands": [b.value for b in DistanceBand],
        "schedule": fee_schedule(session=session, catalog=catalog).matrix(sorted(catalog.faults)),
    }
    return render(page, "staff/settlement.html", context)


@router.get("/settlement.csv")
def settlement_export(
    page: SettlementPage,
    session: SessionDep,
    clock: ClockDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    """The month's settlement as CSV (one row per ticket, a total row per station)."""
    chosen = month_or_current(month, clock.now())
    settle_completed(session=session, catalog=default_catalog(), clock=clock)
    session.commit()
    scope = _station_scope(page)
    text = settlement_csv(
        chosen,
        settlement_lines(session=session, month=chosen, station_id=scope),
        station_totals(session=session, month=chosen, station_id=scope),
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="settlement-{chosen}.csv"'},
    )


# ------------------------------------------------------------------ KPIs


def _local_midnight(day: date, tz: tzinfo = DISPLAY_TZ) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def kpi_period(
    since: str | None, until: str | None, now: datetime, tz: tzinfo = DISPLAY_TZ
) -> tuple[date, date]:
    """The chosen [since, until) in local days; by default the last four weeks to today."""
    end = _parse_day(until) or now.astimezone(tz).date() + timedelta(days=1)
    start = _parse_day(since) or end - _DEFAULT_PERIOD
    if start >= end:
        start = end - timedelta(days=1)
    return start, end


def _tile(result: KpiResult, trend: list[TrendPoint]) -> KpiTile:
    higher = result.target_op != "<"
    return KpiTile(
        name=result.name,
        value=result.value,
        numerator=result.numerator,
        denominator=result.denominator,
        target=result.target,
        target_op=result.target_op,
        pending=len(result.pending_ids),
        trend_svg=render_trend_svg(trend, target=result.target, higher_is_better=higher),
    )


def _weekly(
    session: Session, start: date, end: date, now: datetime
) -> list[tuple[date, KpiReport]]:
    """The KPI service's report per week of the period (the last weeks when it is long)."""
    weeks: list[tuple[date, KpiReport]] = []
    week_start = max(start, end - _WEEK * _MAX_TREND_WEEKS)
    while week_start < end:
        week_end = min(week_start + _WEEK, end)
        report = compute_kpis(
            session=session,
            since=_local_midnight(week_start),
            until=_local_midnight(week_end),
            now=now,
        )
        weeks.append((week_start, report))
        week_start = week_end
    return weeks


@router.get("/kpis", response_class=HTMLResponse)
def kpi_page(
    page: KpiPage,
    session: SessionDep,
    clock: ClockDep,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
) -> Response:
    """The seed KPIs of a period against their targets, with weekly trends."""
    now = clock.now()
    start, end = kpi_period(since, until, now)
    report = compute_kpis(
        session=session, since=_local_midnight(start), until=_local_midnight(end), now=now
    )
    weekly = _weekly(session, start, end, now)

    def trend(name: str) -> list[TrendPoint]:
        return [TrendPoint(week, r.results[name].value) for week, r in weekly]

    tiles = [_tile(report.results[name], trend(name)) for name in SEED_KPIS]
    proactive = _tile(report.results["proactive_share"], trend("proactive_share"))
    context = {
        "active": "kpis",
        "since": start.isoformat(),
        "until": end.isoformat(),
        "api_since": _local_midnight(start).isoformat(),
        "api_until": _local_midnight(end).isoformat(),
        "tiles": tiles,
        "proactive": proactive,
        "lead_time_days": report.lead_time.get("value_days"),
        "lead_time_n": report.lead_time.get("n", 0),
        "quality_reports": quality_reports_this_year(now),
    }
    return render(page, "staff/kpis.html", context)


@router.get("/kpis.json")
def kpi_json(
    page: KpiPage,
    session: SessionDep,
    clock: ClockDep,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
) -> Response:
    """The period's KPIs as JSON for a browser session (the ``GET /v1/kpis`` body)."""
    del page
    now = clock.now()
    start, end = kpi_period(since, until, now)
    report = compute_kpis(
        session=session, since=_local_midnight(start), until=_local_midnight(end), now=now
    )
    return JSONResponse(jsonable_encoder(report.as_dict()))


def quality_reports_this_year(now: datetime, tz: tzinfo = DISPLAY_TZ) -> int:
    """Monthly quality reports available so far this year (one per closed month).

    The report is computed from the tickets on request, so every month that has ended
    has one; the seed target is 12 a year (产品质量推进).
    """
    return now.astimezone(tz).month - 1


# ------------------------------------------------------------------ quality


def _month(text: str | None, now: datetime) -> Month:
    try:
        return parse_month(month_or_current(text, now))
    except BadMonth:
        return parse_month(month_or_current(None, now))


@router.get("/quality", response_class=HTMLResponse)
def quality_page(
    page: QualityPage,
    session: SessionDep,
    clock: ClockDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    """Tickets per 1000 devices by model, firmware and fault, and fleet-wide incidents."""
    chosen = _month(month, clock.now())
    report = quality_report(session=session, month=chosen)
    rows = sorted(report.rows, key=lambda r: (-r.per_1000, r.model, r.firmware or "", r.fault_code))
    context = {
        "active": "quality",
        "month": str(chosen),
        "rows": rows,
        "incidents": report.incidents,
        "devices_in_field": report.devices_in_field,
    }
    return render(page, "staff/quality.html", context)


@router.get("/quality.csv")
def quality_export(
    page: QualityPage,
    session: SessionDep,
    clock: ClockDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    """The month's quality report as CSV: the monthly feedback file for the factory."""
    del page
    chosen = _month(month, clock.now())
    text = quality_report(session=session, month=chosen).to_csv()
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="quality-{chosen}.csv"'},
    )


@router.get("/quality.json")
def quality_json(
    page: QualityPage,
    session: SessionDep,
    clock: ClockDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    """The report as JSON for a browser session (the API's ``/v1/reports/quality`` body)."""
    del page
    chosen = _month(month, clock.now())
    return JSONResponse(quality_report(session=session, month=chosen).as_dict())
