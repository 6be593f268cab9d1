"""The seam to the notices module (``cloud_api.services.notices``, another engineer's).

The flow calls :func:`notify` at intake, appointment, engineer departure, waiting for
parts, completion, follow-up, escalation and cancel. The notices module is looked up
when first needed, so the flow works (and records nothing) in a build without it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from aftercare.clock import Clock
from cloud_api.models.tickets import Ticket

__all__ = ["notify"]

logger = logging.getLogger(__name__)

QueueNotice = Callable[..., dict[str, Any] | None]


@cache
def _queue_notice() -> QueueNotice | None:
    try:
        module = importlib.import_module("cloud_api.services.notices")
    except ModuleNotFoundError:
        logger.warning("cloud_api.services.notices is missing: no customer notices are queued")
        return None
    func = getattr(module, "queue_notice", None)
    return func if callable(func) else None


def notify(
    *,
    session: Session,
    ticket: Ticket,
    kind: str,
    clock: Clock,
    eta: datetime | None = None,
) -> dict[str, Any] | None:
    """Queue the customer notice of ``kind`` for ``ticket``; returns its summary and link.

    ``eta`` is the engineer's announced arrival (N4); it lives on the event, not the ticket.
    """
    func = _queue_notice()
    if func is None:
        return None
    if eta is None:
        return func(session=session, ticket=ticket, kind=kind, clock=clock)
    return func(session=session, ticket=ticket, kind=kind, clock=clock, eta=eta)
