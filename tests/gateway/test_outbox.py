"""The SQLite outbox: durable, idempotent, with an explicit full-policy."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aftercare.catalog import PartLine, Severity
from anomaly.fault_report import FaultReport
from gateway.outbox import Outbox, PutResult


def report(minute: int, device: str = "ac-000001") -> FaultReport:
    return FaultReport(
        device_id=device,
        fault_code="AC_FILTER_CLOGGED",
        detected_at=datetime(2026, 11, 23, tzinfo=UTC) + timedelta(minutes=minute),
        severity=Severity.MEDIUM,
        parts=(PartLine("AC-FILTER", 1),),
    )


def test_a_queued_report_survives_reopening_and_keeps_its_idempotency_key(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    assert outbox.put(report(1)) is PutResult.QUEUED
    outbox.close()
    reopened = Outbox(tmp_path / "o.sqlite3")
    [item] = reopened.next_batch(10)
    assert item.key == report(1).episode_key
    assert reopened.depth == 1
    with closing(sqlite3.connect(tmp_path / "o.sqlite3")) as db:  # WAL is a property of the file
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_same_episode_is_recognised_not_queued_twice_even_after_it_was_sent(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    assert outbox.put(report(1)) is PutResult.QUEUED
    assert outbox.put(report(1)) is PutResult.KNOWN
    [item] = outbox.next_batch(10)
    outbox.ack(item.id)
    assert outbox.depth == 0
    assert outbox.put(report(1)) is PutResult.KNOWN
    assert outbox.next_batch(10) == []


def test_a_full_outbox_refuses_new_reports_instead_of_evicting_old_ones(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", max_rows=3)
    assert [outbox.put(report(m)) for m in range(4)] == [PutResult.QUEUED] * 3 + [PutResult.FULL]
    assert [i.key for i in outbox.next_batch(10)] == [report(m).episode_key for m in range(3)]
    first = outbox.next_batch(1)[0]
    outbox.ack(first.id)
    assert outbox.put(report(3)) is PutResult.QUEUED


def test_a_dead_lettered_row_is_kept_but_never_handed_out_again(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    outbox.put(report(1))
    [item] = outbox.next_batch(10)
    outbox.dead_letter(item.id, "HTTP 422")
    assert outbox.next_batch(10) == []
    assert outbox.dead_letters() == 1
    assert outbox.depth == 0
