"""``GET /v1/kpis`` bodies: each KPI with numerator, denominator, target and pending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["KpiPublic", "KpiTicketsPublic", "KpisPublic", "LeadTimePublic"]


class KpiPublic(BaseModel):
    """One KPI (SERVICE_FLOW section 9).

    ``target_op`` says how the value meets the target: ``>`` above, ``<`` below, ``=``
    all. ``pending`` counts young open tickets that are neither met nor missed yet.
    """

    name: str
    value: float | None
    numerator: float
    denominator: float
    target: float | None
    target_op: str
    pending: int
    ticket_ids_url: str
    seed: bool
    details: dict[str, Any]


class LeadTimePublic(BaseModel):
    """Mean time from acceptance to the predicted failure over gateway tickets."""

    value_hours: float | None
    value_days: float | None
    n: int
    ticket_ids_url: str


class KpisPublic(BaseModel):
    """Every KPI of ``[since, until)``, as computed at ``computed_at``."""

    since: datetime
    until: datetime
    computed_at: datetime
    kpis: dict[str, KpiPublic]
    proactive_share: KpiPublic
    mean_lead_time: LeadTimePublic


class KpiTicketsPublic(BaseModel):
    """The ticket ids behind one KPI."""

    name: str
    numerator_ids: list[str]
    denominator_ids: list[str]
    pending_ids: list[str]
