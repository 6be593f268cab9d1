"""Idempotency records for ``POST /v1/tickets`` (SERVICE_FLOW section 3, level 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.models.base import Base

__all__ = ["IdempotencyRecord"]


class IdempotencyRecord(Base):
    """One ``Idempotency-Key`` of one caller, the hash of its body and the stored answer.

    ``status`` is ``pending`` while the first request runs (a concurrent twin gets 409)
    and ``done`` once ``response`` is stored.
    """

    __tablename__ = "idempotency_records"

    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    status_code: Mapped[int | None] = mapped_column(default=None)
    ticket_id: Mapped[str | None] = mapped_column(String(40), default=None)
    response: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(index=True)
