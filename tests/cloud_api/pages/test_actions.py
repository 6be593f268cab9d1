from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aftercare.catalog import default_catalog
from cloud_api.pages.actions import (
    FormInvalidError,
    actions_for,
    event_body_from_form,
    parse_parts,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)


def events(role: str, state: str, quote_status: str = "none") -> list[str]:
    return [
        a.event
        for a in actions_for(
            role=role,
            state=state,
            now=NOW,
            tz=SHANGHAI,
            catalog=default_catalog(),
            quote_status=quote_status,
        )
    ]


def test_engineer_sees_field_events_for_the_state_and_never_office_ones() -> None:
    assert events("engineer", "scheduled") == [
        "appointment_booked",
        "engineer_departed",
        "complaint",
    ]
    assert events("engineer", "repairing") == ["completed", "waiting_for_parts", "complaint"]
    assert events("engineer", "completed") == ["complaint"]
    assert "cancelled" not in events("engineer", "dispatched")


def test_buttons_follow_the_flow_services_tables() -> None:
    from cloud_api.services.flow import ALLOWED, EVENT_ROLES

    for role in ("agent", "station", "engineer", "manager", "admin"):
        for state in (
            "accepted",
            "dispatched",
            "scheduled",
            "repairing",
            "completed",
            "followed_up",
        ):
            for event in events(role, state):
                assert role in EVENT_ROLES[event]
                assert state in ALLOWED[event]


def test_pending_quote_is_answered_before_an_appointment_is_offered() -> None:
    pending = events("agent", "dispatched", quote_status="pending")
    assert pending[:2] == ["quote_accepted", "quote_declined"]
    assert "appointment_booked" not in pending
    assert "quote_accepted" not in events("agent", "dispatched", quote_status="accepted")
    assert "appointment_booked" in events("agent", "dispatched", quote_status="accepted")


def test_completion_is_offered_only_once_repair_started() -> None:
    assert "completed" not in events("admin", "accepted")
    assert "completed" in events("admin", "repairing")


def test_agent_books_and_follows_up_but_never_repairs() -> None:
    assert "appointment_booked" in events("agent", "dispatched")
    assert events("agent", "completed")[0] == "follow_up"
    assert "repair_started" not in events("agent", "en_route")


def test_closed_ticket_offers_no_action_to_anyone() -> None:
    for role in ("agent", "station", "engineer", "manager", "admin"):
        assert events(role, "closed") == []


def test_unknown_role_gets_nothing() -> None:
    assert events("customer", "accepted") == []


def test_completion_form_defaults_to_reserved_parts_and_keeps_core_old_parts() -> None:
    [complete] = [
        a
        for a in actions_for(
            role="engineer",
            state="repairing",
            now=NOW,
            tz=SHANGHAI,
            catalog=default_catalog(),
            parts=[("AC-FAN-MOTOR", 1), ("AC-FILTER", 2)],
        )
        if a.event == "completed"
    ]
    values = {f.name: f.value for f in complete.fields}
    assert values["parts_used"] == "AC-FAN-MOTOR×1, AC-FILTER×2"
    assert values["old_parts_kept"] == "AC-FAN-MOTOR"


def test_default_appointment_slot_is_in_the_future_in_local_time() -> None:
    [book] = [
        a
        for a in actions_for(
            role="agent", state="dispatched", now=NOW, tz=SHANGHAI, catalog=default_catalog()
        )
        if a.event == "appointment_booked"
    ]
    start = next(f.value for f in book.fields if f.name == "slot_start")
    # 02:10 UTC is 10:10 in Shanghai; two hours ahead, next whole hour.
    assert start == "2026-11-23T13:00"


def test_appointment_form_becomes_utc_event_body() -> None:
    body = event_body_from_form(
        {
            "type": "appointment_booked",
            "slot_start": "2026-11-23T13:00",
            "slot_end": "2026-11-23T15:00",
        },
        tz=SHANGHAI,
    )
    assert body == {
        "type": "appointment_booked",
        "slot_start": "2026-11-23T05:00:00Z",
        "slot_end": "2026-11-23T07:00:00Z",
    }


def test_completion_form_becomes_part_lines() -> None:
    body = event_body_from_form(
        {
            "type": "completed",
            "parts_used": "ac-filter×1, WM-HEATER x2",
            "old_parts_kept": "WM-HEATER",
        },
        tz=SHANGHAI,
    )
    assert body["parts_used"] == [{"sku": "AC-FILTER", "qty": 1}, {"sku": "WM-HEATER", "qty": 2}]
    assert body["old_parts_kept"] == ["WM-HEATER"]


@pytest.mark.parametrize(
    "form",
    [
        {"type": "follow_up", "satisfaction": "6"},
        {"type": "follow_up", "satisfaction": "good"},
        {"type": "cancelled", "reason": " "},
        {"type": "appointment_booked", "slot_start": "tomorrow", "slot_end": "x"},
        {"type": "completed", "parts_used": "a filter please"},
        {"type": "teleported"},
    ],
)
def test_malformed_forms_are_refused_with_the_field_named(form: dict[str, str]) -> None:
    with pytest.raises(FormInvalidError) as info:
        event_body_from_form(form, tz=SHANGHAI)
    assert info.value.field_name


def test_parse_parts_defaults_quantity_to_one() -> None:
    assert parse_parts("AC-FILTER") == [{"sku": "AC-FILTER", "qty": 1}]
    assert parse_parts("") == []
