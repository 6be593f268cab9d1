"""FastAPI dependencies: the session, the clock, and who is calling.

``CurrentGateway`` authenticates a gateway bearer token (hash look-up, revocation,
rate limit); ``CurrentStaff`` a signed staff token; ``CurrentActor`` accepts either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from aftercare.catalog import Catalog
from aftercare.clock import Clock
from cloud_api.auth import InvalidToken, hash_gateway_token, verify_staff_token
from cloud_api.models.registry import Gateway, Role, StaffUser
from cloud_api.models.tickets import ActorType
from cloud_api.services.actors import Actor
from cloud_api.settings import CloudSettings

__all__ = [
    "CatalogDep",
    "ClockDep",
    "CurrentActor",
    "CurrentGateway",
    "CurrentStaff",
    "SessionDep",
    "SettingsDep",
    "require_roles",
]

_BEARER: Final = HTTPBearer(auto_error=False)
_UNAUTHORIZED: Final = {"WWW-Authenticate": "Bearer"}


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _settings(request: Request) -> CloudSettings:
    settings: CloudSettings = request.app.state.settings
    return settings


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


SessionDep = Annotated[Session, Depends(_session)]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[CloudSettings, Depends(_settings)]
CatalogDep = Annotated[Catalog, Depends(_catalog)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers=_UNAUTHORIZED)


def _gateway_actor(request: Request, session: Session, token: str) -> Actor | None:
    gateway = session.query(Gateway).filter_by(token_hash=hash_gateway_token(token)).one_or_none()
    if gateway is None:
        return None
    if gateway.revoked_at is not None:
        raise _unauthorized("gateway token revoked")
    retry_after = request.app.state.rate_limiter.hit(gateway.id)
    if retry_after is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"rate limit of gateway {gateway.id} exceeded",
            headers={"Retry-After": str(max(1, round(retry_after)))},
        )
    return Actor(type=ActorType.GATEWAY, id=gateway.id)


def _staff_actor(request: Request, session: Session, token: str) -> Actor:
    settings: CloudSettings = request.app.state.settings
    clock: Clock = request.app.state.clock
    try:
        claims = verify_staff_token(token, secret=settings.secret_key, now=clock.now())
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc
    user = session.get(StaffUser, claims.user_id)
    if user is None or not user.active:
        raise _unauthorized("staff user unknown or disabled")
    return Actor(type=ActorType.STAFF, id=user.id, role=Role(user.role), station_id=user.station_id)


def _actor(request: Request, session: SessionDep, credentials: Credentials) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("bearer token required")
    token = credentials.credentials
    if token.startswith("agw_"):
        actor = _gateway_actor(request, session, token)
        if actor is None:
            raise _unauthorized("unknown gateway token")
        return actor
    return _staff_actor(request, session, token)


def _gateway(actor: Annotated[Actor, Depends(_actor)]) -> Actor:
    if actor.type is not ActorType.GATEWAY:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a gateway token is required")
    return actor


def _staff(actor: Annotated[Actor, Depends(_actor)]) -> Actor:
    if actor.type is not ActorType.STAFF:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a staff token is required")
    return actor


CurrentActor = Annotated[Actor, Depends(_actor)]
CurrentGateway = Annotated[Actor, Depends(_gateway)]
CurrentStaff = Annotated[Actor, Depends(_staff)]


def require_roles(*roles: Role) -> object:
    """A dependency that lets only staff with one of ``roles`` through (403 otherwise)."""

    def check(actor: CurrentStaff) -> Actor:
        if actor.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"role {actor.role} may not do this"
            )
        return actor

    return Depends(check)
