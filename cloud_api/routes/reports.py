"""``GET /v1/reports/quality``: the monthly report to the factory, as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from cloud_api.deps import ClockDep, SessionDep, require_roles
from cloud_api.models.registry import Role
from cloud_api.schemas.reports import QualityReportPublic
from cloud_api.services import quality

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/reports",
    tags=["reports"],
    dependencies=[require_roles(Role.MANAGER, Role.ADMIN)],  # type: ignore[list-item]
)


@router.get(
    "/quality",
    response_model=QualityReportPublic,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV on request"}},
)
def read_quality_report(
    session: SessionDep,
    clock: ClockDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response | QualityReportPublic:
    """Tickets per 1000 devices by model × firmware × fault, with incidents.

    ``month`` defaults to the current one. CSV with ``?format=csv`` or ``Accept: text/csv``.
    """
    now = clock.now()
    wanted = quality.parse_month(month) if month else quality.Month(now.year, now.month)
    report = quality.quality_report(session=session, month=wanted)
    wants_csv = format == "csv" or (format is None and "text/csv" in (accept or ""))
    if wants_csv:
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="quality-{wanted}.csv"'},
        )
    return QualityReportPublic.model_validate(report.as_dict())
