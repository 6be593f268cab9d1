"""The words a notice is made of: a ticket and its registry rows, in the customer's language.

Everything a template may print is gathered here, from the ticket, the registry and the
catalog, and already formatted (times in the customers' time zone, part names in their
language), so templates stay free of logic beyond "if" and "for".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.catalog import Catalog
from cloud_api.models.parts import Reservation
from cloud_api.models.registry import Customer, Device, StaffUser, Station
from cloud_api.models.tickets import FollowUp, Ticket
from cloud_api.services import parts

__all__ = [
    "DEFAULT_TIMEZONE",
    "ESCALATION_TARGETS",
    "NoticeFacts",
    "callback_by",
    "format_time",
    "gather_facts",
]

# Level deadlines of the three-level escalation (DOMAIN.md): 1 h, 24 h, 48 h.
ESCALATION_TARGETS: Final = {1: timedelta(hours=1), 2: timedelta(hours=24), 3: timedelta(hours=48)}
FOLLOW_UP_TARGET: Final = timedelta(hours=48)
DEFAULT_TIMEZONE: Final = ZoneInfo("Asia/Shanghai")

_CANCEL_REASONS: Final[Mapping[str, tuple[str, str]]] = {
    "duplicate": ("it duplicated another ticket", "与另一服务单重复"),
    "no_fault_found": ("our check found no fault", "检测未发现故障"),
    "customer_declined": ("you declined the repair", "您已谢绝本次维修"),
    "resolved_by_customer": ("the problem was resolved", "问题已解决"),
}

# Reservation lines not yet at the station: what a "waiting for parts" notice is about.
_ON_THE_WAY: Final = frozenset({"held", "allocated", "in_transit"})

NoticeFacts = dict[str, Any]


def callback_by(ticket: Ticket) -> datetime:
    """When the intake notice promises a call: 30 min (urgent) or 60 min after acceptance."""
    minutes = 30 if ticket.urgent else 60
    return ticket.accepted_at + timedelta(minutes=minutes)


def format_time(ts: datetime | None, tz: ZoneInfo) -> str | None:
    """``ts`` as the customer reads it: local minutes and the UTC offset."""
    if ts is None:
        return None
    local = ts.astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def _slot(start: datetime | None, end: datetime | None, tz: ZoneInfo) -> str | None:
    if start is None:
        return None
    text = format_time(start, tz)
    if end is None or text is None:
        return text
    return text.replace(" (", f"–{end.astimezone(tz):%H:%M} (", 1)


def _part_lines(lines: list[tuple[str, int]], catalog: Catalog, zh: bool) -> list[dict[str, Any]]:
    out = []
    for sku, qty in lines:
        spec = catalog.parts.get(sku)
        name = (spec.name_zh if zh else spec.name_en) if spec else sku
        out.append({"sku": sku, "qty": qty, "name": name})
    return out


def _requested_lines(ticket: Ticket, reservations: list[Reservation]) -> list[tuple[str, int]]:
    if reservations:
        return [(r.sku, r.qty) for r in reservations]
    return [
        (item["sku"], int(item.get("qty", 1)))
        for item in ticket.parts_requested or []
        if isinstance(item, Mapping) and isinstance(item.get("sku"), str)
    ]


def _quote(ticket: Ticket, catalog: Catalog) -> dict[str, str] | None:
    quote = ticket.quote or (ticket.warranty or {}).get("quote")
    if not isinstance(quote, Mapping):
        return None
    total = quote.get("total", quote.get("amount"))
    if total is None:
        return None
    currency = str(quote.get("currency", catalog.pricing.currency))
    return {"total": f"{float(total):.2f}", "currency": currency}


def _covered(ticket: Ticket) -> bool | None:
    warranty = ticket.warranty or {}
    covered = warranty.get("covered")
    if isinstance(covered, bool):
        return covered and not warranty.get("customer_pays", False)
    return None


def _completion(ticket: Ticket, catalog: Catalog, zh: bool) -> dict[str, Any]:
    slip = ticket.completion or {}
    used = [
        (str(p["sku"]), int(p.get("qty", 1)))
        for p in slip.get("parts_used", [])
        if isinstance(p, Mapping) and "sku" in p
    ]
    fee = slip.get("fee")
    fee_text = None
    if isinstance(fee, int | float) and fee > 0:
        fee_text = f"{float(fee):.2f} {catalog.pricing.currency}"
    return {
        "work_done": str(slip.get("work_done", "") or ""),
        "parts_used": _part_lines(used, catalog, zh),
        "fee": fee_text,
    }


def _people(session: Session, ticket: Ticket) -> tuple[str | None, str | None]:
    station = session.get(Station, ticket.station_id) if ticket.station_id else None
    engineer = session.get(StaffUser, ticket.engineer_id) if ticket.engineer_id else None
    engineer_name = (engineer.display_name or engineer.username) if engineer else None
    return (station.name if station else None), engineer_name


def _latest_score(session: Session, ticket: Ticket) -> int | None:
    if ticket.followed_up_at is None:
        return None  # no rated follow-up yet (an unreachable call carries no score)
    row = session.scalars(
        select(FollowUp).where(FollowUp.ticket_id == ticket.id).order_by(FollowUp.id.desc())
    ).first()
    return row.satisfaction if row else None


def gather_facts(
    *,
    session: Session,
    ticket: Ticket,
    catalog: Catalog,
    language: str,
    tz: ZoneInfo,
) -> NoticeFacts:
    """Everything the templates print about ``ticket``, in ``language``."""
    zh = language != "en"
    station, engineer = _people(session, ticket)
    return {
        **_subject_facts(session, ticket, catalog, zh),
        **_parts_facts(session, ticket, catalog, zh, tz),
        **_time_facts(ticket, tz),
        "found_by_gateway": ticket.source == "gateway",
        "urgent": ticket.urgent,
        "warranty": {"covered": _covered(ticket)},
        "quote": _quote(ticket, catalog),
        "station": station,
        "engineer": engineer,
        "completion": _completion(ticket, catalog, zh),
        "satisfaction": _latest_score(session, ticket),
        "escalation_level": ticket.escalation_level,
        "cancel_reason": _cancel_reason(ticket.cancel_reason, zh),
    }


def _subject_facts(session: Session, ticket: Ticket, catalog: Catalog, zh: bool) -> NoticeFacts:
    """Who is told, about which appliance and which fault."""
    customer = session.get(Customer, ticket.customer_id)
    device = session.get(Device, ticket.device_id)
    kind = catalog.kinds.get(device.kind) if device else None
    fault = catalog.faults.get(ticket.fault_code)
    label = (kind.label_zh if zh else kind.label_en) if kind else ("设备" if zh else "appliance")
    summary = (fault.summary_zh if zh else fault.summary_en) if fault else ticket.fault_code
    return {
        "ticket_id": ticket.id,
        "customer_name": customer.name if customer else ("客户" if zh else "customer"),
        "device": {"id": ticket.device_id, "model": device.model if device else "", "label": label},
        "fault": {
            "code": ticket.fault_code,
            "summary": summary,
            "failure": (fault.failure_zh if zh else fault.failure_en) if fault else "",
        },
    }


def _parts_facts(
    session: Session, ticket: Ticket, catalog: Catalog, zh: bool, tz: ZoneInfo
) -> NoticeFacts:
    """The reserved parts, those still on their way, and when they arrive."""
    reservations = parts.fresh_lines(session=session, ticket=ticket)
    if reservations is None:
        reservations = list(
            session.scalars(select(Reservation).where(Reservation.ticket_id == ticket.id))
        )
    on_the_way = [r for r in reservations if r.state in _ON_THE_WAY]
    waiting = [(r.sku, r.qty) for r in on_the_way]
    # Only lines still travelling set the promise; an arrived transfer's ETA is history.
    etas = [r.transfer_eta for r in on_the_way if r.transfer_eta is not None]
    return {
        "parts": _part_lines(_requested_lines(ticket, reservations), catalog, zh),
        "parts_waiting": _part_lines(waiting, catalog, zh),
        "parts_eta": format_time(max(etas), tz) if etas else None,
    }


def _time_facts(ticket: Ticket, tz: ZoneInfo) -> NoticeFacts:
    """Every promised or booked time, in the customers' time zone."""
    level, started = ticket.escalation_level, ticket.escalation_started_at
    deadline = (
        started + ESCALATION_TARGETS[level] if started and level in ESCALATION_TARGETS else None
    )
    follow_up_by = ticket.completed_at + FOLLOW_UP_TARGET if ticket.completed_at else None
    return {
        "predicted_failure": format_time(ticket.predicted_failure_at, tz),
        "detected": format_time(ticket.detected_at, tz),
        "call_back_by": format_time(callback_by(ticket), tz),
        "slot": _slot(ticket.slot_start, ticket.slot_end, tz),
        "eta": format_time(ticket.slot_start, tz),
        "follow_up_by": format_time(follow_up_by, tz),
        "next_deadline": format_time(deadline, tz),
    }


def _cancel_reason(reason: str | None, zh: bool) -> str | None:
    if not reason:
        return None
    words = _CANCEL_REASONS.get(reason)
    if words is None:
        return None
    return words[1] if zh else words[0]
