"""Signed, expiring customer links: ``/c/{token}`` names exactly one ticket.

The token is an itsdangerous-signed payload ``{"t": ticket_id, "e": expiry epoch}``. The
expiry is inside the signed payload and checked against the injected clock, rather than
itsdangerous' own timestamp, which would read the wall clock (logic never does).
A forged or altered token and an expired one are different errors, so the customer page
can say "this link is not valid" (403) or "this link has expired, ask for a new one" (410).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from itsdangerous import BadSignature, URLSafeSerializer

from aftercare.clock import Clock

__all__ = [
    "DEFAULT_LINK_TTL",
    "CustomerLink",
    "LinkError",
    "LinkExpired",
    "LinkForged",
    "LinkSigner",
]

DEFAULT_LINK_TTL: Final = timedelta(days=30)
_SALT: Final = "aftercare.customer-link.v1"


class LinkError(Exception):
    """A customer link that does not open a ticket."""


class LinkForged(LinkError):  # noqa: N818 — reads as the condition
    """The token was not signed by this service (or was altered)."""


class LinkExpired(LinkError):  # noqa: N818 — reads as the condition
    """The token is genuine but past its expiry.

    Attributes:
        ticket_id: the ticket it named, so the page can say which ticket to ask about.
        expired_at: when it expired.
    """

    def __init__(self, ticket_id: str, expired_at: datetime) -> None:
        super().__init__(f"link for {ticket_id} expired at {expired_at.isoformat()}")
        self.ticket_id = ticket_id
        self.expired_at = expired_at


@dataclass(frozen=True, slots=True)
class CustomerLink:
    """A verified link: the one ticket it opens and until when."""

    ticket_id: str
    expires_at: datetime


class LinkSigner:
    """Signs and verifies customer links.

    Args:
        secret: the signing key (from settings; never a default).
        ttl: how long a link stays valid.
    """

    def __init__(self, secret: str, *, ttl: timedelta = DEFAULT_LINK_TTL) -> None:
        if len(secret) < 16:
            raise ValueError("the customer link secret must have at least 16 characters")
        self._serializer = URLSafeSerializer(secret, salt=_SALT)
        self.ttl = ttl

    def sign(self, ticket_id: str, *, now: datetime) -> str:
        """A token opening ``ticket_id`` until ``now + ttl``."""
        expiry = int((now + self.ttl).timestamp())
        token = self._serializer.dumps({"t": ticket_id, "e": expiry})
        return str(token)

    def verify(self, token: str, *, clock: Clock) -> CustomerLink:
        """The ticket ``token`` opens.

        Raises:
            LinkForged: bad signature or malformed payload.
            LinkExpired: genuine but expired.
        """
        try:
            data = self._serializer.loads(token)
        except BadSignature as exc:
            raise LinkForged("the link signature does not match") from exc
        if not (
            isinstance(data, dict)
            and isinstance(data.get("t"), str)
            and isinstance(data.get("e"), int)
        ):
            raise LinkForged("the link payload is malformed")
        expires_at = datetime.fromtimestamp(data["e"], tz=UTC)
        if clock.now() >= expires_at:
            raise LinkExpired(data["t"], expires_at)
        return CustomerLink(ticket_id=data["t"], expires_at=expires_at)
