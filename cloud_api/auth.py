"""Credentials: gateway tokens, staff passwords and signed staff bearer tokens.

No FastAPI here; :mod:`cloud_api.deps` turns these into dependencies. Staff tokens are
``base64url(json).base64url(hmac-sha256)`` with the expiry inside, checked against the
injected clock, so tests can expire a token by moving time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "InvalidToken",
    "StaffClaims",
    "hash_gateway_token",
    "hash_password",
    "issue_staff_token",
    "new_gateway_token",
    "verify_password",
    "verify_staff_token",
]

_PASSWORDS: Final = PasswordHasher()
_TOKEN_PREFIX: Final = "agw_"  # noqa: S105 — a public prefix, not a secret


class InvalidToken(Exception):  # noqa: N818 — reads as the condition at raise sites
    """A bearer token is malformed, forged or expired."""


def new_gateway_token() -> str:
    """A fresh 256-bit gateway token (shown once; only its hash is stored)."""
    return _TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_gateway_token(token: str) -> str:
    """SHA-256 hex of a gateway token (high entropy, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """Argon2id hash of a staff password."""
    return _PASSWORDS.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _PASSWORDS.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class StaffClaims:
    """What a staff token says."""

    user_id: str
    role: str
    station_id: str | None
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    mac = hmac.new(f"staff-token:{secret}".encode(), body.encode(), hashlib.sha256)
    return _b64(mac.digest())


def issue_staff_token(
    *, secret: str, user_id: str, role: str, station_id: str | None, now: datetime, ttl_s: int
) -> str:
    """A signed bearer token for a staff user, valid ``ttl_s`` seconds from ``now``."""
    claims = {"u": user_id, "r": role, "s": station_id, "e": int(now.timestamp()) + ttl_s}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_sign(secret, body)}"


def verify_staff_token(token: str, *, secret: str, now: datetime) -> StaffClaims:
    """The claims of a valid, unexpired staff token.

    Raises:
        InvalidToken: malformed, bad signature or expired.
    """
    body, _, sig = token.partition(".")
    if not body or not sig or not hmac.compare_digest(sig, _sign(secret, body)):
        raise InvalidToken("bad signature")
    try:
        raw = json.loads(_unb64(body))
        claims = StaffClaims(
            user_id=str(raw["u"]),
            role=str(raw["r"]),
            station_id=raw["s"],
            expires_at=int(raw["e"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken("malformed token") from exc
    if now.timestamp() >= claims.expires_at:
        raise InvalidToken("token expired")
    return claims
