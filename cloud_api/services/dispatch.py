"""Dispatch (派工, SERVICE_FLOW section 7): region + skill + least load.

The station that covers the region, has the
skill and the least load relative to capacity; ties go to the station holding the parts,
then to the better tier, then by id, so the choice is deterministic and explainable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_api.models.registry import Station, Stock, Warehouse
from cloud_api.models.tickets import Ticket, TicketState
from cloud_api.services import session_cache

__all__ = ["Candidate", "open_loads", "rank_stations"]

_TIER_RANK: Final = {"city": 0, "county": 1, "township": 2}
# States in which a ticket occupies its station.
LOAD_STATES: Final = (
    TicketState.DISPATCHED.value,
    TicketState.SCHEDULED.value,
    TicketState.EN_ROUTE.value,
    TicketState.REPAIRING.value,
    TicketState.WAITING_FOR_PARTS.value,
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A station that could take the ticket, with the reasons of its rank."""

    station_id: str
    load: int
    capacity: int
    parts_missing: int
    tier: str

    @property
    def key(self) -> tuple[float, int, int, str]:
        """Sort key: load share, parts missing, tier, id."""
        return (
            self.load / self.capacity,
            self.parts_missing,
            _TIER_RANK.get(self.tier, 3),
            self.station_id,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the timeline."""
        return {
            "station_id": self.station_id,
            "load": self.load,
            "capacity": self.capacity,
            "parts_missing": self.parts_missing,
            "tier": self.tier,
        }


def open_loads(*, session: Session, station_ids: list[str]) -> dict[str, int]:
    """Open tickets per station."""
    rows = session.execute(
        select(Ticket.station_id, func.count())
        .where(Ticket.station_id.in_(station_ids), Ticket.state.in_(LOAD_STATES))
        .group_by(Ticket.station_id)
    )
    return {str(sid): int(n) for sid, n in rows}


def _parts_missing(
    session: Session, station_ids: list[str], parts: list[tuple[str, int]]
) -> dict[str, int]:
    missing = dict.fromkeys(station_ids, len(parts))
    if not parts or not station_ids:
        return missing
    need = dict(parts)
    rows = session.execute(
        select(Warehouse.station_id, Stock.sku, Stock.on_hand - Stock.reserved)
        .join(Stock, Stock.warehouse_id == Warehouse.id)
        .where(Warehouse.station_id.in_(station_ids), Stock.sku.in_(list(need)))
    )
    for sid, sku, available in rows:
        if available >= need[sku]:
            missing[str(sid)] -= 1
    return missing


def rank_stations(
    *,
    session: Session,
    region: str,
    kind: str,
    parts: list[tuple[str, int]],
    exclude_full: bool = True,
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Ranked candidates for a ticket, and the stations refused with why.

    Args:
        session: the database session.
        region: the home's region.
        kind: the device kind (the skill needed).
        parts: ``(sku, qty)`` the ticket needs.
        exclude_full: leave out stations at capacity.
    """
    stations = list(session.scalars(select(Station).where(Station.active.is_(True))))
    session_cache.pin(session, stations)  # the notice names the chosen one moments later
    covering = [s for s in stations if region in (s.regions or []) and kind in (s.skills or [])]
    ids = [s.id for s in covering]
    loads = open_loads(session=session, station_ids=ids)
    missing = _parts_missing(session, ids, parts)
    ranked: list[Candidate] = []
    refused: list[dict[str, Any]] = []
    for s in covering:
        load = loads.get(s.id, 0)
        if exclude_full and load >= s.capacity:
            refused.append({"station_id": s.id, "reason": "at capacity", "load": load})
            continue
        ranked.append(Candidate(s.id, load, max(s.capacity, 1), missing[s.id], s.tier))
    ranked.sort(key=lambda c: c.key)
    return ranked, refused
