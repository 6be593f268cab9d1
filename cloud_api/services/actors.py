"""Who is calling: a gateway, a staff user, a customer link or the system itself."""

from __future__ import annotations

from dataclasses import dataclass

from cloud_api.models.registry import Role
from cloud_api.models.tickets import ActorType

__all__ = ["SYSTEM", "Actor"]


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller.

    Attributes:
        type: gateway, staff, customer or system.
        id: gateway id, staff user id, ticket id (customer) or ``"scheduler"``.
        role: the staff role, ``None`` for others.
        station_id: the station of a station or engineer user.
    """

    type: ActorType
    id: str
    role: Role | None = None
    station_id: str | None = None

    @property
    def is_station_scoped(self) -> bool:
        """Station and engineer users see only their own station's tickets."""
        return self.role in (Role.STATION, Role.ENGINEER)

    def has_role(self, *roles: Role) -> bool:
        """Whether this is a staff user with one of ``roles``."""
        return self.type is ActorType.STAFF and self.role in roles


SYSTEM = Actor(type=ActorType.SYSTEM, id="scheduler")
