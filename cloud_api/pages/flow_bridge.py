"""Hands a page's action to the flow service, exactly as ``POST /v1/tickets/{id}/events`` does.

The page builds the same :class:`EventCreate` body the API accepts, resolves the ticket with
the same visibility rule and calls :func:`cloud_api.services.flow.apply_event`; a refusal
(wrong state, wrong role, bad field) comes back as :class:`EventRefusedError` with the
flow's own message for the page to show.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from aftercare.clock import Clock
from cloud_api.exceptions import CloudError
from cloud_api.models.registry import Role
from cloud_api.models.tickets import ActorType
from cloud_api.pages.views import StaffUser
from cloud_api.schemas.tickets import EventCreate
from cloud_api.services.actors import Actor
from cloud_api.services.flow import apply_event
from cloud_api.services.tickets import get_visible

__all__ = ["EventRefusedError", "actor_for", "apply"]


class EventRefusedError(Exception):
    """The flow (or the event schema) refused the action.

    Attributes:
        detail: why, in the flow's words.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def actor_for(user: StaffUser) -> Actor:
    """The flow's actor for a signed-in staff member."""
    return Actor(type=ActorType.STAFF, id=user.id, role=Role(user.role), station_id=user.station_id)


def apply(
    *, session: Session, user: StaffUser, ticket_id: str, body: dict[str, Any], clock: Clock
) -> None:
    """Validate ``body`` as an event and apply it to the ticket; commit on success.

    Raises:
        EventRefusedError: the body is invalid, the ticket is not visible, or the flow
            refused the event (state, role, guard).
    """
    try:
        event = EventCreate.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise EventRefusedError(f"{where}: {first.get('msg', 'invalid')}") from exc
    actor = actor_for(user)
    try:
        ticket = get_visible(session=session, ticket_id=ticket_id, actor=actor, for_update=True)
        apply_event(session=session, ticket=ticket, actor=actor, event=event, clock=clock)
    except CloudError as exc:
        session.rollback()
        raise EventRefusedError(exc.detail) from exc
    session.commit()
