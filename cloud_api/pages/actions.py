"""Which flow events a staff member may start from a ticket page, and their form fields.

The flow service decides whether an event is valid (state machine, scope, guards) and
answers 409 otherwise; this module only decides which buttons to *show*, so a user sees
the actions their role can take in the ticket's current state and nothing else
(SERVICE_FLOW.md sections 2 and 12), read from the flow service's own tables
(``ALLOWED``, ``EVENT_ROLES``) so the page never disagrees with the API. It also turns a
submitted form into the event body of Contract 4 (``POST /v1/tickets/{id}/events``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from aftercare.catalog import Catalog, WarrantyClass
from cloud_api.services.flow import ALLOWED, EVENT_ROLES

__all__ = [
    "ActionForm",
    "FormField",
    "FormInvalidError",
    "actions_for",
    "event_body_from_form",
    "parse_parts",
]

_EVERY_EVENT: Final = frozenset(ALLOWED)
# Shown only where they make sense on a page (the flow allows more, e.g. remote completion
# from "accepted", which needs a resolution the forms do not ask for).
_ONLY_IN: Final[Mapping[str, frozenset[str]]] = {"completed": frozenset({"repairing"})}

# Order of buttons on the page: the next step of the flow first, exceptions last.
_ORDER: Final = (
    "quote_accepted",
    "quote_declined",
    "dispatched",
    "appointment_booked",
    "engineer_departed",
    "repair_started",
    "completed",
    "waiting_for_parts",
    "follow_up",
    "closed",
    "escalated",
    "complaint",
    "cancelled",
)
CANCEL_REASONS: Final = (  # the flow's reasons, "other" last as the default
    "no_fault_found",
    "duplicate",
    "customer_declined",
    "resolved_by_customer",
    "other",
)
_PART_TOKEN: Final = re.compile(r"^\s*([A-Z0-9][A-Z0-9-]*)\s*(?:[xX×*]\s*(\d+))?\s*$")


class FormInvalidError(ValueError):
    """A submitted action form cannot become an event body."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of an action form."""

    name: str
    kind: str = "text"  # text | number | datetime-local | select
    value: str | None = None
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ActionForm:
    """A button (and its inputs) that posts one flow event."""

    event: str
    fields: tuple[FormField, ...] = field(default=())


def _local_input(ts: datetime, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _next_slot(now: datetime) -> datetime:
    """The next whole hour at least two hours ahead: a slot a customer can still make."""
    ahead = now + timedelta(hours=2)
    return ahead.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _fields_for(
    event: str,
    *,
    now: datetime,
    tz: tzinfo,
    parts: Sequence[tuple[str, int]],
    catalog: Catalog,
    stations: Sequence[tuple[str, str]],
) -> tuple[FormField, ...]:
    if event == "appointment_booked":
        start = _next_slot(now)
        return (
            FormField("slot_start", "datetime-local", _local_input(start, tz), required=True),
            FormField(
                "slot_end",
                "datetime-local",
                _local_input(start + timedelta(hours=2), tz),
                required=True,
            ),
        )
    if event == "completed":
        used = ", ".join(f"{sku}×{qty}" for sku, qty in parts)
        kept = ", ".join(
            sku
            for sku, _ in parts
            if sku in catalog.parts and catalog.parts[sku].warranty_class is WarrantyClass.CORE
        )
        return (FormField("parts_used", value=used), FormField("old_parts_kept", value=kept))
    if event == "follow_up":
        return (
            FormField("satisfaction", "number", "5", required=True),
            FormField("comment"),
        )
    if event == "cancelled":
        return (
            FormField("reason", "select", "other", options=tuple((r, r) for r in CANCEL_REASONS)),
        )
    if event == "complaint":
        return (FormField("reason", required=True),)
    if event == "dispatched" and stations:
        return (FormField("station_id", "select", stations[0][0], options=tuple(stations)),)
    return ()


def actions_for(
    *,
    role: str,
    state: str,
    now: datetime,
    tz: tzinfo,
    catalog: Catalog,
    parts: Sequence[tuple[str, int]] = (),
    stations: Sequence[tuple[str, str]] = (),
    quote_status: str = "none",
) -> list[ActionForm]:
    """The action forms to show ``role`` on a ticket in ``state``.

    Args:
        role: the staff role.
        state: the ticket's state.
        now: the current time (for default appointment slots).
        tz: the staff's local time zone (form inputs are local time).
        catalog: to tell core parts (old part kept) from wear parts.
        parts: the ticket's reserved parts, the default "parts used" on completion.
        stations: (id, name) choices for a (re)dispatch.
        quote_status: the ticket's quote status; a pending quote is answered before booking.
    """
    return [
        ActionForm(
            event,
            _fields_for(event, now=now, tz=tz, parts=parts, catalog=catalog, stations=stations),
        )
        for event in _ORDER
        if _shown(event, role=role, state=state, quote_status=quote_status)
    ]


def _shown(event: str, *, role: str, state: str, quote_status: str) -> bool:
    """The flow's own tables decide role and state; the page hides what cannot apply yet."""
    if role not in EVENT_ROLES.get(event, frozenset()):
        return False
    if state not in ALLOWED.get(event, frozenset()) or state not in _ONLY_IN.get(event, {state}):
        return False
    if event in ("quote_accepted", "quote_declined"):
        return quote_status == "pending"
    if event == "appointment_booked":
        return quote_status not in ("pending", "declined")
    return True


def parse_parts(text: str) -> list[dict[str, Any]]:
    """``"AC-FILTER×1, WM-HEATER x2"`` as Contract 4 part lines.

    Raises:
        FormInvalidError: a token is not ``SKU`` or ``SKU×qty``.
    """
    lines: list[dict[str, Any]] = []
    for token in re.split(r"[,;\n]", text):
        if not token.strip():
            continue
        match = _PART_TOKEN.match(token.upper())
        if match is None:
            raise FormInvalidError("parts_used", f"not SKU×qty: {token.strip()!r}")
        lines.append({"sku": match.group(1), "qty": int(match.group(2) or 1)})
    return lines


def _parse_local(name: str, raw: str | None, tz: tzinfo) -> str:
    if not raw:
        raise FormInvalidError(name, "required")
    try:
        local = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise FormInvalidError(name, f"not a date and time: {raw!r}") from exc
    aware = local if local.tzinfo else local.replace(tzinfo=tz)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body_from_form(form: Mapping[str, str], *, tz: tzinfo) -> dict[str, Any]:
    """The Contract 4 event body for a submitted action form.

    Raises:
        FormInvalidError: a field is missing or malformed.
    """
    event = form.get("type", "")
    if event not in _EVERY_EVENT:
        raise FormInvalidError("type", f"unknown event {event!r}")
    body: dict[str, Any] = {"type": event}
    if event == "appointment_booked":
        body["slot_start"] = _parse_local("slot_start", form.get("slot_start"), tz)
        body["slot_end"] = _parse_local("slot_end", form.get("slot_end"), tz)
    elif event == "completed":
        body["parts_used"] = parse_parts(form.get("parts_used", ""))
        body["old_parts_kept"] = [
            s.strip().upper()
            for s in re.split(r"[,;\s]+", form.get("old_parts_kept", ""))
            if s.strip()
        ]
    elif event == "follow_up":
        raw = form.get("satisfaction", "")
        if not raw.isdigit() or not 1 <= int(raw) <= 5:
            raise FormInvalidError("satisfaction", "a whole number from 1 to 5")
        body["satisfaction"] = int(raw)
        body["comment"] = form.get("comment", "")
    elif event in ("cancelled", "complaint"):
        reason = form.get("reason", "").strip()
        if not reason:
            raise FormInvalidError("reason", "required")
        body["reason"] = reason
    elif event == "dispatched" and form.get("station_id"):
        body["station_id"] = form["station_id"]
    return body
