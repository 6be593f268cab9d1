"""``GET /v1/kpis`` and the ticket ids behind each KPI (managers, admins, agents)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from cloud_api.deps import ClockDep, SessionDep, require_roles
from cloud_api.models.registry import Role
from cloud_api.schemas.kpis import KpisPublic, KpiTicketsPublic
from cloud_api.services import kpis

__all__ = ["router"]

DEFAULT_PERIOD: Final = timedelta(days=30)

router = APIRouter(
    prefix="/v1/kpis",
    tags=["kpis"],
    dependencies=[require_roles(Role.MANAGER, Role.ADMIN, Role.AGENT)],  # type: ignore[list-item]
)

Since = Annotated[
    AwareDatetime | date | None,
    Query(description="Start of the cohort (inclusive; a date is midnight UTC); default until-30d"),
]
Until = Annotated[
    AwareDatetime | date | None,
    Query(description="End of the cohort (exclusive; a date is midnight UTC); default now"),
]


def _instant(value: datetime | date | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=UTC)


def _period(
    since: datetime | date | None, until: datetime | date | None, now: datetime
) -> tuple[datetime, datetime]:
    end = _instant(until) or now
    return _instant(since) or end - DEFAULT_PERIOD, end


@router.get("")
def read_kpis(
    session: SessionDep, clock: ClockDep, since: Since = None, until: Until = None
) -> KpisPublic:
    """The seed KPIs and the others of SERVICE_FLOW section 9 for ``[since, until)``."""
    now = clock.now()
    start, end = _period(since, until, now)
    report = kpis.compute_kpis(session=session, since=start, until=end, now=now)
    return KpisPublic.model_validate(report.as_dict())


@router.get("/{name}/tickets")
def read_kpi_tickets(
    name: str, session: SessionDep, clock: ClockDep, since: Since = None, until: Until = None
) -> KpiTicketsPublic:
    """The ticket ids in one KPI's numerator, denominator and pending list."""
    now = clock.now()
    start, end = _period(since, until, now)
    ids = kpis.kpi_tickets(session=session, name=name, since=start, until=end, now=now)
    return KpiTicketsPublic.model_validate(ids)
