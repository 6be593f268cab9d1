"""The staff session cookie: signed, httponly, SameSite=Lax, expiring.

The cookie holds the staff user's id, the time of sign-in and a per-session CSRF token;
it is signed (not encrypted) with the cloud's secret, so it cannot be forged or extended
but carries nothing secret. Every page load re-reads the user from the database, so a
disabled account or a changed role takes effect at once. Forms carry the CSRF token as a
second line of defence beside SameSite.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = [
    "COOKIE_NAME",
    "LANG_COOKIE",
    "SESSION_MAX_AGE_S",
    "SessionCodec",
    "StaffSession",
]

COOKIE_NAME: Final = "aftercare_staff"
LANG_COOKIE: Final = "aftercare_lang"
SESSION_MAX_AGE_S: Final = 12 * 3600  # one shift
_SALT: Final = "aftercare.staff-session.v1"


@dataclass(frozen=True, slots=True)
class StaffSession:
    """What the cookie says: who signed in, and the CSRF token of this session."""

    user_id: str
    csrf: str

    def csrf_ok(self, token: str | None) -> bool:
        """Whether a form's token belongs to this session (constant-time compare)."""
        return token is not None and hmac.compare_digest(token, self.csrf)


class SessionCodec:
    """Signs and reads session cookies.

    Args:
        secret: the cloud's signing secret.
        max_age_s: how long a session lasts after sign-in.
    """

    def __init__(self, secret: str, *, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age_s = max_age_s

    def issue(self, user_id: str) -> tuple[StaffSession, str]:
        """A new session for ``user_id`` and its cookie value."""
        session = StaffSession(user_id=user_id, csrf=secrets.token_urlsafe(24))
        return session, self._serializer.dumps({"u": user_id, "c": session.csrf})

    def read(self, cookie: str | None) -> StaffSession | None:
        """The session in a cookie, or None when it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is a subclass
            return None
        if not isinstance(data, dict):
            return None
        user_id, csrf = data.get("u"), data.get("c")
        if not isinstance(user_id, str) or not isinstance(csrf, str):
            return None
        return StaffSession(user_id=user_id, csrf=csrf)
