"""``POST /v1/auth/token``: staff sign-in (OAuth2 password form) → signed bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from cloud_api.auth import issue_staff_token
from cloud_api.deps import ClockDep, SessionDep, SettingsDep
from cloud_api.services.staff import authenticate_staff

__all__ = ["router"]

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class TokenPublic(BaseModel):
    """A staff bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 — the OAuth2 token type, not a secret
    expires_in: int
    role: str
    station_id: str | None


@router.post("/token")
def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TokenPublic:
    """Sign in with username and password; returns a bearer token."""
    user = authenticate_staff(session=session, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = issue_staff_token(
        secret=settings.secret_key,
        user_id=user.id,
        role=user.role,
        station_id=user.station_id,
        now=clock.now(),
        ttl_s=settings.staff_token_ttl_s,
    )
    return TokenPublic(
        access_token=token,
        expires_in=settings.staff_token_ttl_s,
        role=user.role,
        station_id=user.station_id,
    )
