"""Queue customer notices in the flow's transaction (the durable outbox).

The flow calls :func:`queue_notice` at intake, appointment, departure, waiting for parts,
completion, follow-up, escalation and cancellation. It renders the notice in the
customer's language, writes one outbox row per channel in the caller's transaction (so a
rolled-back change never notifies anyone, and a committed one always will) and returns
the ``customer_notice`` summary of the intake response. It never touches a clock: a notice
is not a response (SERVICE_FLOW section 1.5).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftercare.catalog import default_catalog
from aftercare.clock import Clock
from cloud_api.models.notices import Notice, NoticeChannel, NoticeKind, NoticeState
from cloud_api.models.registry import Customer
from cloud_api.models.tickets import Ticket
from cloud_api.notify.config import NoticeConfig, config_for_session
from cloud_api.notify.context import DEFAULT_TIMEZONE, callback_by, format_time, gather_facts
from cloud_api.notify.render import RenderedNotice, normalise_language, render_notice
from cloud_api.services import session_cache

__all__ = ["NOTICE_KINDS", "UnknownNoticeKind", "customer_link", "notices_of", "queue_notice"]

NOTICE_KINDS: Final = frozenset(k.value for k in NoticeKind)

logger = logging.getLogger(__name__)


class UnknownNoticeKind(ValueError):  # noqa: N818 — reads as the condition
    """``kind`` is not one of :data:`NOTICE_KINDS`."""


def customer_link(config: NoticeConfig | None, ticket_id: str, now: datetime) -> str | None:
    """The signed customer page URL for ``ticket_id``, or ``None`` without a config."""
    if config is None:
        return None
    return config.page_url(config.signer.sign(ticket_id, now=now))


def _channels(config: NoticeConfig | None, customer: Customer | None) -> list[tuple[str, str]]:
    channels: list[tuple[str, str]] = []
    if config is not None and config.smtp_url and customer is not None and customer.email:
        channels.append((NoticeChannel.EMAIL.value, customer.email))
    if config is not None and config.webhook_url:
        channels.append((NoticeChannel.WEBHOOK.value, config.webhook_url))
    # Without a channel the customer page and the log still tell the story (DESIGN table).
    return channels or [(NoticeChannel.LOG.value, "")]


_FRESH_SEQUENCES: Final = "aftercare.notice_sequences"


def _next_sequence(session: Session, ticket_id: str) -> int:
    if session_cache.is_fresh(session, ticket_id):
        # Created in this transaction: its only notices are those counted here.
        counters: dict[str, int] = session.info.setdefault(_FRESH_SEQUENCES, {})
        counters[ticket_id] = counters.get(ticket_id, 0) + 1
        return counters[ticket_id]
    current = session.scalar(select(func.max(Notice.sequence)).where(Notice.ticket_id == ticket_id))
    return int(current or 0) + 1


def queue_notice(
    *,
    session: Session,
    ticket: Ticket,
    kind: str,
    clock: Clock,
    eta: datetime | None = None,
) -> dict[str, Any]:
    """Render and store the ``kind`` notice for ``ticket``; return its summary.

    Args:
        session: the flow's session; rows are added, never committed here.
        ticket: the ticket after the change that calls for a notice.
        kind: one of :data:`NOTICE_KINDS`.
        clock: the service clock (creation time and the link's expiry).
        eta: the engineer's announced arrival (the departure notice); without it the
            notice falls back to the booked slot's start.

    Returns:
        ``{"event_id", "kind", "language", "subject", "text", "link", "channels",
        "call_back_by"}`` for the intake response's ``customer_notice``.

    Raises:
        UnknownNoticeKind: ``kind`` is not a notice kind.
    """
    if kind not in NOTICE_KINDS:
        raise UnknownNoticeKind(f"unknown notice kind {kind!r}")
    config = config_for_session(session)
    now = clock.now()
    customer = session.get(Customer, ticket.customer_id)
    rendered, link = _render(session, ticket, kind, config, customer, now, eta)
    sequence = _next_sequence(session, ticket.id)
    payload = _payload(ticket, kind, f"{ticket.id}:{sequence}", rendered, link, now)
    channels = _channels(config, customer)
    for channel, recipient in channels:
        session.add(_row(ticket, sequence, payload, rendered, channel, recipient, now))
        if channel == NoticeChannel.LOG.value:
            logger.info("notice %s for %s: %s", payload["event_id"], ticket.id, rendered.subject)
    summary_keys = ("event_id", "kind", "language", "subject", "text", "link", "call_back_by")
    return {
        **{key: payload[key] for key in summary_keys},
        "channels": [channel for channel, _ in channels],
    }


def _render(
    session: Session,
    ticket: Ticket,
    kind: str,
    config: NoticeConfig | None,
    customer: Customer | None,
    now: datetime,
    eta: datetime | None,
) -> tuple[RenderedNotice, str | None]:
    language = normalise_language(customer.language if customer else None)
    link = customer_link(config, ticket.id, now)
    facts = gather_facts(
        session=session,
        ticket=ticket,
        catalog=default_catalog(),
        language=language,
        tz=_timezone(config),
    )
    if eta is not None:
        facts["eta"] = format_time(eta, _timezone(config))
    facts["link"] = link
    facts["link_expires"] = _expiry_text(config, now) if config is not None else ""
    return render_notice(kind, language, facts), link


def _payload(
    ticket: Ticket,
    kind: str,
    event_id: str,
    rendered: RenderedNotice,
    link: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The machine-readable event (the webhook body)."""
    promised = callback_by(ticket) if kind == NoticeKind.INTAKE else None
    return {
        "event_id": event_id,
        "kind": kind,
        "ticket_id": ticket.id,
        "state": ticket.state,
        "device_id": ticket.device_id,
        "fault_code": ticket.fault_code,
        "customer_id": ticket.customer_id,
        "language": rendered.language,
        "subject": rendered.subject,
        "text": rendered.text,
        "link": link,
        "call_back_by": promised.isoformat() if promised else None,
        "occurred_at": now.isoformat(),
    }


def _row(
    ticket: Ticket,
    sequence: int,
    payload: dict[str, Any],
    rendered: RenderedNotice,
    channel: str,
    recipient: str,
    now: datetime,
) -> Notice:
    # A log-only notice is "delivered" when it is written: there is nothing to retry.
    logged = channel == NoticeChannel.LOG.value
    return Notice(
        ticket_id=ticket.id,
        sequence=sequence,
        event_id=payload["event_id"],
        kind=payload["kind"],
        channel=channel,
        recipient=recipient,
        language=rendered.language,
        subject=rendered.subject,
        body=rendered.text,
        link=payload["link"],
        payload=payload,
        state=NoticeState.SENT.value if logged else NoticeState.PENDING.value,
        next_attempt_at=now,
        created_at=now,
        sent_at=now if logged else None,
    )


def notices_of(*, session: Session, ticket_id: str) -> list[Notice]:
    """Every notice of a ticket, oldest first (for the timeline and the customer page)."""
    return list(
        session.scalars(select(Notice).where(Notice.ticket_id == ticket_id).order_by(Notice.id))
    )


def _timezone(config: NoticeConfig | None) -> ZoneInfo:
    return config.timezone if config is not None else DEFAULT_TIMEZONE


def _expiry_text(config: NoticeConfig, now: datetime) -> str:
    return f"{(now + config.link_ttl).astimezone(config.timezone):%Y-%m-%d}"
