"""Staff sign-in, shared by ``POST /v1/auth/token`` and the staff pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.auth import hash_password, verify_password
from cloud_api.models.registry import StaffUser

__all__ = ["authenticate_staff"]

# Verifying against a dummy hash when the user is unknown keeps the timing the same.
_DUMMY_HASH = hash_password("not-a-real-password")


def authenticate_staff(*, session: Session, username: str, password: str) -> StaffUser | None:
    """The active staff user with these credentials, or ``None``."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None
