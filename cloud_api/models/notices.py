"""The customer notice outbox (SERVICE_FLOW section 8).

A notice row is written in the same transaction as the ticket change that caused it, so a
notice can never be lost between "the ticket moved" and "the customer was told"; the
delivery worker (:mod:`cloud_api.notify.worker`) sends it afterwards, with retries. One
row per channel: an e-mail and a webhook for the same event are delivered (and fail)
independently.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.models.base import Base

__all__ = ["Notice", "NoticeChannel", "NoticeKind", "NoticeState"]


class NoticeKind(StrEnum):
    """Why a customer is told something (N1..N9 of SERVICE_FLOW section 8)."""

    INTAKE = "intake"
    APPOINTMENT = "appointment"
    ENGINEER_DEPARTED = "engineer_departed"
    WAITING_FOR_PARTS = "waiting_for_parts"
    COMPLETED = "completed"
    FOLLOW_UP = "follow_up"
    ESCALATION = "escalation"
    CANCELLED = "cancelled"


class NoticeChannel(StrEnum):
    """How a notice leaves: e-mail over SMTP, a signed webhook, or only the log."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    LOG = "log"


class NoticeState(StrEnum):
    """Delivery state; ``failed`` is final after the last retry."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notice(Base):
    """One notice on one channel, from queued to sent (or failed).

    ``event_id`` is ``"{ticket_id}:{sequence}"``: stable across retries so webhook
    receivers can drop duplicates (delivery is at least once). ``payload`` is the
    machine-readable event the webhook carries; ``body`` the text a person reads.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("event_id", "channel"),
        Index("ix_notices_state_next_attempt", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    sequence: Mapped[int]
    event_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(400), default="")
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(1000), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(10), default=NoticeState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
