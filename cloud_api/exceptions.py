"""Domain exceptions of the cloud; :mod:`cloud_api.problems` maps each to problem+json.

Tree::

    CloudError                       base of every cloud domain error
    ├── NotFound                     404 .../not-found
    │   ├── TicketNotFound
    │   └── RegistryNotFound         device, station, home, ... not in the registry
    ├── Forbidden                    403 .../forbidden (role or ownership)
    ├── InvalidTransition            409 .../invalid-transition (event not allowed in state)
    ├── Conflict                     409 .../conflict
    │   ├── IdempotencyInProgress    409 .../idempotency-in-progress (same key running)
    │   ├── ReservationConflict      409 .../reservation-conflict (stock changed under us)
    │   └── DuplicateEntity          409 .../duplicate (registry id or username taken)
    ├── IdempotencyKeyReused         422 .../idempotency-key-reused (same key, other body)
    ├── InvalidRequest               422 .../invalid-request (domain validation)
    └── ImportFailed                 CLI only: a row of an import file is bad
"""

# Names follow the brief and the domain (TicketNotFound, InvalidTransition): N818 off.
# ruff: noqa: N818

from __future__ import annotations

__all__ = [
    "CloudError",
    "Conflict",
    "DuplicateEntity",
    "Forbidden",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "ImportFailed",
    "InvalidRequest",
    "InvalidTransition",
    "NotFound",
    "RegistryNotFound",
    "ReservationConflict",
    "TicketNotFound",
]


class CloudError(Exception):
    """Base of every cloud domain error; ``detail`` is safe to show to the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(CloudError):
    """Something does not exist (or the caller may not know that it does)."""


class TicketNotFound(NotFound):
    """No ticket with that id visible to the caller."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket {ticket_id} not found")
        self.ticket_id = ticket_id


class RegistryNotFound(NotFound):
    """A registry entity does not exist."""

    def __init__(self, entity: str, entity_id: str) -> None:
        super().__init__(f"{entity} {entity_id} not found")
        self.entity = entity
        self.entity_id = entity_id


class Forbidden(CloudError):
    """The caller's role or ownership does not allow this."""


class InvalidTransition(CloudError):
    """The event is not allowed in the ticket's current state (or its guard failed)."""

    def __init__(self, event: str, state: str, reason: str = "") -> None:
        why = f": {reason}" if reason else ""
        super().__init__(f"event {event!r} is not allowed in state {state!r}{why}")
        self.event = event
        self.state = state


class Conflict(CloudError):
    """The request conflicts with the current state of a resource."""


class IdempotencyInProgress(Conflict):
    """A request with the same Idempotency-Key is still being processed."""


class ReservationConflict(Conflict):
    """Stock changed between check and reservation."""


class DuplicateEntity(Conflict):
    """A registry id or username is already taken."""


class IdempotencyKeyReused(CloudError):
    """The same Idempotency-Key came with a different body."""


class InvalidRequest(CloudError):
    """The request is well-formed but breaks a domain rule."""


class ImportFailed(CloudError):
    """A row of a registry import file is invalid; ``row`` is 1-based."""

    def __init__(self, source: str, row: int, detail: str) -> None:
        super().__init__(f"{source}: row {row}: {detail}")
        self.row = row
