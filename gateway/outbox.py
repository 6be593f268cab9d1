"""The durable ticket outbox: a fault becomes a row here before anything is sent.

SQLite in WAL mode with ``synchronous=FULL``: a ticket request that :meth:`Outbox.put`
returned for survives a power cut or ``kill -9``. Each row carries the report's
``episode_key`` as its idempotency key (``UNIQUE``), so a fault re-diagnosed after a
restart (the broker redelivers what we had not acknowledged) is recognised rather than
queued twice, and the cloud recognises a re-post of a row whose 2xx we never saw.

Rows move ``pending → sent`` on a 2xx (``ack``) or ``pending → dead`` on a final 4xx.
Sent rows are kept as tombstones for de-duplication and pruned beyond a bound. The
full-policy is explicit: at ``max_rows`` pending rows or ``max_bytes`` of pending bodies
a new report is refused with :attr:`PutResult.FULL` (the caller counts it), never by
silently evicting an older one.

:class:`Outbox` is synchronous and owns its connection; :class:`AsyncOutbox` runs it on
one dedicated thread because every commit is an fsync, which must not stall ingest.
"""

from __future__ import annotations

import asyncio
import enum
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, ParamSpec, TypeVar

import orjson

from anomaly.fault_report import FaultReport

__all__ = ["AsyncOutbox", "Outbox", "OutboxItem", "PutResult"]

P = ParamSpec("P")
T = TypeVar("T")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, id);
"""
_TOMBSTONES_KEPT: Final = 100_000


class PutResult(enum.StrEnum):
    """What :meth:`Outbox.put` did (the ``result`` label of ``aftercare_tickets_total``)."""

    QUEUED = "queued"
    KNOWN = "known"
    FULL = "outbox_full"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One pending ticket request.

    Attributes:
        id: the row id (ack with it).
        key: the idempotency key (``FaultReport.episode_key``).
        body: the JSON body to post.
        attempts: posts tried so far.
    """

    id: int
    key: str
    body: bytes
    attempts: int


class Outbox:
    """The SQLite outbox (synchronous; use from one thread).

    Args:
        path: the database file.
        max_rows: pending rows kept at most.
        max_bytes: pending body bytes kept at most.
    """

    def __init__(self, path: Path, *, max_rows: int = 100_000, max_bytes: int = 1 << 28) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        # isolation_level=None: explicit transactions, so each put is exactly one commit
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        rows, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM outbox WHERE state='pending'"
        ).fetchone()
        self._rows: int = rows
        self._bytes: int = size

    @property
    def depth(self) -> int:
        """Pending rows."""
        return self._rows

    def put(self, report: FaultReport) -> PutResult:
        """Store a ticket request durably (one fsynced commit) before it is ever sent."""
        body = orjson.dumps(report.to_json())
        if self._rows >= self.max_rows or self._bytes + len(body) > self.max_bytes:
            return PutResult.FULL
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO outbox (key, body) VALUES (?, ?)", (report.episode_key, body)
        )
        if cursor.rowcount == 0:
            return PutResult.KNOWN
        self._rows += 1
        self._bytes += len(body)
        return PutResult.QUEUED

    def next_batch(self, limit: int) -> list[OutboxItem]:
        """The oldest pending rows, at most ``limit``."""
        rows = self._db.execute(
            "SELECT id, key, body, attempts FROM outbox WHERE state='pending' ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [OutboxItem(id=r[0], key=r[1], body=bytes(r[2]), attempts=r[3]) for r in rows]

    def ack(self, item_id: int) -> None:
        """The cloud has the ticket (2xx): mark the row sent."""
        self._finish(item_id, "sent", None)

    def dead_letter(self, item_id: int, error: str) -> None:
        """The cloud refused the ticket for good: keep the row, never retry it."""
        self._finish(item_id, "dead", error)

    def failed_attempt(self, item_id: int, error: str) -> None:
        """A post failed and will be retried."""
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error[:500], item_id),
        )

    def dead_letters(self) -> int:
        """Rows the cloud refused for good."""
        count: int = self._db.execute("SELECT COUNT(*) FROM outbox WHERE state='dead'").fetchone()[
            0
        ]
        return count

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _finish(self, item_id: int, state: str, error: str | None) -> None:
        row = self._db.execute(
            "SELECT LENGTH(body) FROM outbox WHERE id = ? AND state = 'pending'", (item_id,)
        ).fetchone()
        if row is None:
            return
        self._db.execute(
            "UPDATE outbox SET state = ?, last_error = ?, attempts = attempts + 1 WHERE id = ?",
            (state, error, item_id),
        )
        self._rows -= 1
        self._bytes -= row[0]
        if item_id % 1000 == 0:
            self._prune()

    def _prune(self) -> None:
        # sent rows only serve de-duplication; the newest keys are the ones that matter
        self._db.execute(
            "DELETE FROM outbox WHERE state = 'sent' AND id < "
            "(SELECT COALESCE(MAX(id), 0) FROM outbox) - ?",
            (_TOMBSTONES_KEPT,),
        )


class AsyncOutbox:
    """The outbox run on one dedicated thread, so fsyncs never block the event loop.

    Args:
        outbox: the synchronous outbox it owns.
    """

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway.outbox")
        self.changed = asyncio.Event()

    @property
    def depth(self) -> int:
        """Pending rows."""
        return self.outbox.depth

    async def put(self, report: FaultReport) -> PutResult:
        """See :meth:`Outbox.put`; wakes the forwarder when a row was queued."""
        result = await self._run(self.outbox.put, report)
        if result is PutResult.QUEUED:
            self.changed.set()
        return result

    async def next_batch(self, limit: int) -> list[OutboxItem]:
        """See :meth:`Outbox.next_batch`."""
        return await self._run(self.outbox.next_batch, limit)

    async def ack(self, item_id: int) -> None:
        """See :meth:`Outbox.ack`."""
        await self._run(self.outbox.ack, item_id)

    async def dead_letter(self, item_id: int, error: str) -> None:
        """See :meth:`Outbox.dead_letter`."""
        await self._run(self.outbox.dead_letter, item_id, error)

    async def failed_attempt(self, item_id: int, error: str) -> None:
        """See :meth:`Outbox.failed_attempt`."""
        await self._run(self.outbox.failed_attempt, item_id, error)

    async def close(self) -> None:
        """Close the database and stop the thread."""
        await self._run(self.outbox.close)
        self._thread.shutdown(wait=True)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: fn(*args, **kwargs))
