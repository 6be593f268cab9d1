"""Transport-level dedup (SERVICE_FLOW section 3, level 1): ``Idempotency-Key``.

The key is claimed in its own short transaction before the work starts, so a concurrent
twin sees ``pending`` and gets 409 rather than doing the work twice; the answer is stored
with the key in the work's own transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud_api.exceptions import IdempotencyInProgress, IdempotencyKeyReused
from cloud_api.models.idempotency import IdempotencyRecord

__all__ = ["RETENTION", "Replay", "body_hash", "claim", "complete", "forget", "purge_expired"]

# Gateway outboxes may replay after long outages (SERVICE_FLOW section 3: at least 7 days).
RETENTION: Final = timedelta(days=8)
_PENDING: Final = "pending"
_DONE: Final = "done"


@dataclass(frozen=True, slots=True)
class Replay:
    """A stored answer for a repeated key."""

    status_code: int
    response: dict[str, Any]


def body_hash(body: bytes) -> str:
    """SHA-256 of the request body as received."""
    return hashlib.sha256(body).hexdigest()


def claim(
    *, session: Session, principal: str, key: str, digest: str, now: datetime
) -> Replay | None:
    """Claim ``key`` for ``principal``; a finished earlier request's answer is returned.

    Commits its own transaction.

    Raises:
        IdempotencyKeyReused: same key, different body.
        IdempotencyInProgress: same key, first request still running.
    """
    # A new key is the common case: insert the claim straight away (one statement); only a
    # key that exists already is read back.
    session.add(
        IdempotencyRecord(
            principal=principal, key=key, body_hash=digest, status=_PENDING, created_at=now
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
    else:
        return None
    existing = session.get(IdempotencyRecord, (principal, key))
    if existing is None:  # the twin failed and forgot its key meanwhile
        raise IdempotencyInProgress("a request with this Idempotency-Key is in progress")
    session.commit()
    if existing.body_hash != digest:
        raise IdempotencyKeyReused("Idempotency-Key was already used with a different body")
    if existing.status != _DONE or existing.response is None or existing.status_code is None:
        raise IdempotencyInProgress("a request with this Idempotency-Key is in progress")
    return Replay(status_code=existing.status_code, response=existing.response)


def complete(
    *,
    session: Session,
    principal: str,
    key: str,
    status_code: int,
    ticket_id: str,
    response: dict[str, Any],
) -> None:
    """Store the answer with the key (in the caller's transaction).

    One UPDATE by primary key; a claim that is gone (purged) updates nothing.
    """
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
        .values(status=_DONE, status_code=status_code, ticket_id=ticket_id, response=response)
        .execution_options(synchronize_session=False)
    )


def forget(*, session: Session, principal: str, key: str) -> None:
    """Drop a pending claim whose request failed, so a retry can run (commits)."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status == _PENDING,
        )
    )
    session.commit()


def purge_expired(*, session: Session, now: datetime) -> int:
    """Delete keys older than the retention."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - RETENTION)
    )
    return int(getattr(result, "rowcount", 0) or 0)
