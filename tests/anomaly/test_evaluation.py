"""The evaluation's arithmetic on hand-made labels and tickets."""

from __future__ import annotations

from datetime import UTC, datetime

from aftercare.catalog import default_catalog
from anomaly.evaluation import evaluate

T0 = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
END = T0 + 60 * 86400


def _label(
    code: str | None, onset: str | None = None, failure: str | None = None
) -> dict[str, object]:
    return {
        "kind": "air_conditioner",
        "fault_code": code,
        "onset": onset,
        "failure_at": failure,
        "sudden": False,
    }


def _ticket(device: str, code: str, at: str, sku: str = "AC-FILTER") -> dict[str, object]:
    return {
        "device_id": device,
        "fault_code": code,
        "detected_at": at,
        "parts": [{"sku": sku, "qty": 1}],
    }


def test_early_right_ticket_counts_with_its_lead_and_a_repeat_as_duplicate() -> None:
    labels = {
        "a": _label("AC_FILTER_CLOGGED", "2026-06-05T00:00:00Z", "2026-06-25T00:00:00Z"),
        "b": _label(None),
    }
    tickets = [
        _ticket("a", "AC_FILTER_CLOGGED", "2026-06-15T00:00:00Z"),
        _ticket("a", "AC_FILTER_CLOGGED", "2026-06-20T00:00:00Z"),
        _ticket("b", "AC_FILTER_CLOGGED", "2026-06-20T00:00:00Z"),
    ]
    summary = evaluate(labels, tickets, default_catalog(), (T0, END))
    row = summary.rows[0].as_dict()
    assert row["recall"] == 1.0
    assert row["lead_days"] == 10.0
    assert row["delay_days"] == 10.0
    assert row["right_fault"] == 1.0
    assert row["right_part"] == 1.0
    assert row["duplicates"] == 1.0
    assert summary.false_tickets == 1
    assert round(summary.false_per_1000_device_days, 2) == round(1000 / (60 + 4), 2)


def test_wrong_or_late_ticket_is_not_recall() -> None:
    labels = {
        "a": _label("AC_FILTER_CLOGGED", "2026-06-05T00:00:00Z", "2026-06-25T00:00:00Z"),
        "c": _label("AC_REFRIGERANT_LEAK", "2026-06-05T00:00:00Z", "2026-06-10T00:00:00Z"),
    }
    tickets = [
        _ticket("a", "AC_FAN_BEARING_WEAR", "2026-06-15T00:00:00Z", "AC-FAN-MOTOR"),
        _ticket("c", "AC_REFRIGERANT_LEAK", "2026-06-12T00:00:00Z", "AC-REFRIG-KIT"),
    ]
    summary = evaluate(labels, tickets, default_catalog(), (T0, END))
    by_code = {r.name: r.as_dict() for r in summary.rows}
    assert by_code["AC_FILTER_CLOGGED"]["recall"] == 0.0
    assert by_code["AC_FILTER_CLOGGED"]["right_fault"] == 0.0
    assert by_code["AC_REFRIGERANT_LEAK"]["recall"] == 0.0
    assert by_code["AC_REFRIGERANT_LEAK"]["right_fault"] == 1.0


def test_episode_that_failed_before_its_device_was_first_heard_is_unseen() -> None:
    labels = {
        "a": _label("AC_FILTER_CLOGGED", "2026-04-01T00:00:00Z", "2026-06-10T00:00:00Z"),
        "b": _label("AC_FILTER_CLOGGED", "2026-06-05T00:00:00Z", "2026-06-25T00:00:00Z"),
    }
    tickets = [
        _ticket("a", "AC_FILTER_CLOGGED", "2026-06-16T00:00:00Z"),
        _ticket("b", "AC_FILTER_CLOGGED", "2026-06-15T00:00:00Z"),
    ]
    first_seen = {
        "a": datetime(2026, 6, 15, tzinfo=UTC).timestamp(),
        "b": T0,
    }
    summary = evaluate(labels, tickets, default_catalog(), (T0, END), first_seen)
    row = summary.rows[0].as_dict()
    assert row["unseen"] == 1
    assert row["recall"] == 1.0
    assert row["recall_all"] == 0.5
    assert row["detected"] == 1.0
