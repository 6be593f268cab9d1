"""What one request's session already knows, so it is not asked of the database twice.

SQLAlchemy's identity map holds objects weakly: a registry row loaded in one service
function (a station while ranking, a warehouse while reserving) is gone again when the
next function asks ``session.get`` for it, and an SLA clock created in this transaction
is looked up with a query moments later. The intake path did that a dozen times per
ticket. Everything here lives in ``session.info`` and dies with the session (one request
or one job pass); objects created in a transaction that rolls back are dropped by the
``obj in session`` checks of the callers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar

from sqlalchemy.orm import Session

__all__ = ["is_fresh", "known", "mark_fresh", "memo", "pin", "recall", "remember"]

_PINNED: Final = "aftercare.pinned"
_MEMO: Final = "aftercare.memo"
_FRESH: Final = "aftercare.fresh_tickets"
_LISTS: Final = "aftercare.lists"

T = TypeVar("T")


def pin(session: Session, objects: Iterable[object]) -> None:
    """Keep ``objects`` referenced for the session's life, so ``session.get`` finds them."""
    pinned: list[object] = session.info.setdefault(_PINNED, [])
    pinned.extend(objects)


def memo(session: Session, key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """``load()`` once per session for ``key`` (registry rows that a request cannot change)."""
    cache: dict[tuple[Any, ...], Any] = session.info.setdefault(_MEMO, {})
    if key not in cache:
        cache[key] = load()
    value: T = cache[key]
    return value


def known(session: Session, key: tuple[Any, ...]) -> bool:
    """Whether :func:`memo` already holds ``key``."""
    return key in session.info.get(_MEMO, {})


def remember(session: Session, key: tuple[Any, ...], items: list[Any]) -> None:
    """Append ``items`` to the list kept under ``key`` for the session's life."""
    kept: dict[tuple[Any, ...], list[Any]] = session.info.setdefault(_LISTS, {})
    kept.setdefault(key, []).extend(items)


def recall(session: Session, key: tuple[Any, ...]) -> list[Any] | None:
    """The list :func:`remember` kept under ``key``, if any."""
    kept: dict[tuple[Any, ...], list[Any]] = session.info.get(_LISTS, {})
    return kept.get(key)


def mark_fresh(session: Session, ticket_id: str) -> None:
    """``ticket_id`` was created in this session: it has no clocks or notices but ours."""
    fresh: set[str] = session.info.setdefault(_FRESH, set())
    fresh.add(ticket_id)


def is_fresh(session: Session, ticket_id: str) -> bool:
    """Whether :func:`mark_fresh` was called for ``ticket_id`` in this session."""
    return ticket_id in session.info.get(_FRESH, ())
