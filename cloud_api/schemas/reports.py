"""``GET /v1/reports/quality`` body: tickets per 1000 devices and fleet-wide incidents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = [
    "QualityIncidentPublic",
    "QualityMethodPublic",
    "QualityReportPublic",
    "QualityRowPublic",
]


class QualityRowPublic(BaseModel):
    """Tickets of one model × firmware × fault code in the month.

    ``expected`` and ``upper_bound`` are the trailing three months' rate scaled to this
    month's devices and its Poisson 99 % bound; ``None`` without history.
    """

    model: str
    firmware: str | None
    fault_code: str
    tickets: int
    devices: int
    per_1000: float
    baseline_per_1000: float | None
    expected: float | None
    upper_bound: int | None
    incident: bool


class QualityIncidentPublic(QualityRowPublic):
    """A fault rising across one model (``scope="model"``) or one of its firmware."""

    scope: Literal["model", "firmware"]


class QualityMethodPublic(BaseModel):
    """How incidents are decided."""

    baseline_months: int
    confidence: float
    min_tickets: int


class QualityReportPublic(BaseModel):
    """The month's report to the factory."""

    month: str
    devices_in_field: int
    rows: list[QualityRowPublic]
    incidents: list[QualityIncidentPublic]
    method: QualityMethodPublic
