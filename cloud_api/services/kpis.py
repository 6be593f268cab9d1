"""KPIs from the ticket timelines: read facts from the event and clock tables, apply formulas.

The formulas live in :mod:`cloud_api.services.kpi_formulas` and work on plain
:class:`~cloud_api.services.kpi_formulas.TicketFacts`; this module only reads them. Times
come from the timeline (``ticket_events``), never from the mutable columns of ``tickets``:
the first ``appointment_booked`` counts even after a reschedule. The parts KPI and the
operational pause come from the SLA clocks, which is where the flow records them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from cloud_api.db import aggregate_time
from cloud_api.exceptions import InvalidRequest, NotFound
from cloud_api.models.notices import Notice, NoticeChannel, NoticeState
from cloud_api.models.parts import Reservation, ReservationState
from cloud_api.models.tickets import FollowUp, SlaClock, Ticket, TicketEvent, TicketState
from cloud_api.services.kpi_formulas import (
    PROACTIVE_LOOKBACK,
    SEED_KPIS,
    EscalationLevelFact,
    FollowUpFact,
    KpiResult,
    NoticeFact,
    TicketFacts,
    compute_all,
)

__all__ = [
    "KpiReport",
    "UnknownKpi",
    "compute_kpis",
    "duplicate_open_tickets",
    "kpi_tickets",
    "load_facts",
    "load_notices",
]

_CHUNK: Final = 500
_ESCALATION_EVENTS: Final = ("escalated", "escalation_auto_raised")


class UnknownKpi(NotFound):
    """No KPI of that name."""


@dataclass(frozen=True, slots=True)
class KpiReport:
    """Every KPI of a period, computed at ``now``."""

    since: datetime
    until: datetime
    now: datetime
    results: dict[str, KpiResult]
    lead_time: dict[str, Any]

    def ids_url(self, name: str) -> str:
        """Where the ticket ids behind ``name`` are listed."""
        query = urlencode({"since": self.since.isoformat(), "until": self.until.isoformat()})
        return f"/v1/kpis/{name}/tickets?{query}"

    def as_dict(self) -> dict[str, Any]:
        """The ``GET /v1/kpis`` body: seed KPIs first, then the others."""
        order = [*SEED_KPIS, *(n for n in self.results if n not in SEED_KPIS)]
        kpis = {name: self._kpi(self.results[name]) for name in order}
        lead = {k: v for k, v in self.lead_time.items() if k != "ticket_ids"}
        lead["ticket_ids_url"] = self.ids_url("mean_lead_time")
        return {
            "since": self.since,
            "until": self.until,
            "computed_at": self.now,
            "kpis": kpis,
            "proactive_share": kpis["proactive_share"],
            "mean_lead_time": lead,
        }

    def _kpi(self, r: KpiResult) -> dict[str, Any]:
        return {
            "name": r.name,
            "value": r.value,
            "numerator": r.numerator,
            "denominator": r.denominator,
            "target": r.target,
            "target_op": r.target_op,
            "pending": len(r.pending_ids),
            "ticket_ids_url": self.ids_url(r.name),
            "seed": r.name in SEED_KPIS,
            "details": r.extra,
        }


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _ticket_ids(session: Session, since: datetime, until: datetime) -> list[str]:
    followed = select(FollowUp.ticket_id).where(FollowUp.at >= since, FollowUp.at < until)
    escalated = select(TicketEvent.ticket_id).where(
        TicketEvent.type.in_(_ESCALATION_EVENTS), TicketEvent.at >= since, TicketEvent.at < until
    )
    rows = session.scalars(
        select(Ticket.id).where(
            or_(
                (Ticket.accepted_at >= since) & (Ticket.accepted_at < until),
                (Ticket.completed_at >= since) & (Ticket.completed_at < until),
                (Ticket.closed_at >= since) & (Ticket.closed_at < until),
                Ticket.id.in_(followed),
                Ticket.id.in_(escalated),
            )
        )
    )
    return sorted(set(rows))


def _complaint_episodes(events: Iterable[TicketEvent]) -> int:
    """Complaints, where repeats inside one open escalation count once."""
    count, open_episode = 0, False
    for e in events:
        if e.type == "complaint" and not open_episode:
            count, open_episode = count + 1, True
        elif e.type == "escalated" and e.payload.get("action") == "confirm_closed":
            open_episode = False
    return count


def _escalation_levels(events: Iterable[TicketEvent]) -> tuple[EscalationLevelFact, ...]:
    """Every level each escalation reached, with when its action was recorded.

    The escalation service writes one ``escalated`` line per step: the start (payload
    ``reason``, level 1), a manual raise (``note``: the previous level's action), a
    resolution (``action``: this level's action); the SLA job writes
    ``escalation_auto_raised`` when a level's deadline passed with no action.
    """
    levels: list[EscalationLevelFact] = []
    current: EscalationLevelFact | None = None
    for e in events:
        if e.type not in _ESCALATION_EVENTS:
            continue
        level = int(e.payload.get("level", 0) or 0)
        if e.type == "escalated" and "reason" in e.payload and level == 1:
            current = EscalationLevelFact(level=1, started_at=e.at)
            levels.append(current)
            continue
        if current is None:
            continue
        if "action" in e.payload:
            levels[-1] = EscalationLevelFact(current.level, current.started_at, acted_at=e.at)
            current = None
            continue
        if e.type == "escalated":  # a person raised the level: the level's action is done
            levels[-1] = EscalationLevelFact(current.level, current.started_at, acted_at=e.at)
        current = EscalationLevelFact(level=level, started_at=current.started_at)
        levels.append(current)
    return tuple(levels)


def _first(events: Sequence[TicketEvent], kind: str) -> datetime | None:
    return next((e.at for e in events if e.type == kind), None)


def _facts(
    ticket: Ticket,
    events: Sequence[TicketEvent],
    clocks: dict[str, SlaClock],
    follow_ups: Sequence[FollowUp],
    lines: tuple[int, int],
    repeated_at: datetime | None,
) -> TicketFacts:
    parts = clocks.get("parts")
    operational = clocks.get("completion_operational")
    parts_ready = None
    if parts is not None and parts.status != "cancelled":
        parts_ready = parts.stopped_at
    return TicketFacts(
        id=ticket.id,
        source=ticket.source,
        device_id=ticket.device_id,
        accepted_at=ticket.accepted_at,
        urgent=ticket.urgent,
        dispatched_at=_first(events, "dispatched"),
        appointment_at=_first(events, "appointment_booked"),
        departures=sum(1 for e in events if e.type == "engineer_departed"),
        completed_at=_first(events, "completed"),
        resolution=ticket.resolution,
        cancelled_at=_first(events, "cancelled"),
        cancel_reason=ticket.cancel_reason,
        predicted_failure_at=ticket.predicted_failure_at,
        parts_started_at=parts.started_at if parts is not None else None,
        parts_ready_at=parts_ready,
        operational_paused_s=operational.paused_total_s if operational is not None else 0.0,
        complaints=_complaint_episodes(events),
        follow_ups=tuple(
            FollowUpFact(at=f.at, outcome=f.outcome, satisfaction=f.satisfaction)
            for f in follow_ups
        ),
        repeat_of=ticket.repeat_of,
        closed_at=_first(events, "closed"),
        repeated_at=repeated_at,
        occurrences=ticket.occurrences,
        escalation_levels=_escalation_levels(events),
        reservation_lines=lines[0],
        expired_lines=lines[1],
        clock_status=tuple(sorted((name, c.status, c.deadline) for name, c in clocks.items())),
    )


def _load(session: Session, ids: Sequence[str]) -> list[TicketFacts]:
    facts: list[TicketFacts] = []
    for chunk in _chunks(ids):
        tickets = session.scalars(select(Ticket).where(Ticket.id.in_(chunk))).all()
        events: dict[str, list[TicketEvent]] = {}
        for e in session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id.in_(chunk))
            .order_by(TicketEvent.ticket_id, TicketEvent.seq)
        ):
            events.setdefault(e.ticket_id, []).append(e)
        clocks: dict[str, dict[str, SlaClock]] = {}
        for c in session.scalars(select(SlaClock).where(SlaClock.ticket_id.in_(chunk))):
            clocks.setdefault(c.ticket_id, {})[c.name] = c
        follow_ups: dict[str, list[FollowUp]] = {}
        for f in session.scalars(
            select(FollowUp).where(FollowUp.ticket_id.in_(chunk)).order_by(FollowUp.at)
        ):
            follow_ups.setdefault(f.ticket_id, []).append(f)
        lines = _line_counts(session, chunk)
        repeats = _first_repeats(session, chunk)
        facts.extend(
            _facts(
                t,
                events.get(t.id, []),
                clocks.get(t.id, {}),
                follow_ups.get(t.id, []),
                lines.get(t.id, (0, 0)),
                repeats.get(t.id),
            )
            for t in tickets
        )
    return facts


def _line_counts(session: Session, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per ticket: reservation lines, and how many of them expired."""
    expired = func.sum(case((Reservation.state == ReservationState.EXPIRED.value, 1), else_=0))
    rows = session.execute(
        select(Reservation.ticket_id, func.count(), expired)
        .where(Reservation.ticket_id.in_(ids))
        .group_by(Reservation.ticket_id)
    )
    return {tid: (int(n), int(x or 0)) for tid, n, x in rows}


def _first_repeats(session: Session, ids: Sequence[str]) -> dict[str, datetime]:
    """Per ticket: when the first ticket linked ``repeat_of`` it was accepted (any date)."""
    rows = session.execute(
        select(Ticket.repeat_of, func.min(Ticket.accepted_at))
        .where(Ticket.repeat_of.in_(ids))
        .group_by(Ticket.repeat_of)
    )
    return {str(rid): aggregate_time(at) for rid, at in rows if rid is not None}


def duplicate_open_tickets(*, session: Session) -> int:
    """Open device+fault pairs holding more than one open ticket (must be 0)."""
    closed = (TicketState.CLOSED.value, TicketState.CANCELLED.value)
    pairs = (
        select(Ticket.device_id, Ticket.fault_code)
        .where(Ticket.state.not_in(closed))
        .group_by(Ticket.device_id, Ticket.fault_code)
        .having(func.count() > 1)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(pairs)) or 0)


def load_facts(
    *, session: Session, since: datetime, until: datetime
) -> tuple[list[TicketFacts], list[TicketFacts]]:
    """The period's tickets, and the agent tickets of the proactive share's look-back."""
    facts = _load(session, _ticket_ids(session, since, until))
    history_ids = sorted(
        session.scalars(
            select(Ticket.id).where(
                Ticket.source != "gateway",
                Ticket.accepted_at >= since - PROACTIVE_LOOKBACK,
                Ticket.accepted_at < since,
            )
        )
    )
    return facts, _load(session, history_ids)


def load_notices(*, session: Session, since: datetime, until: datetime) -> list[NoticeFact]:
    """Notices queued in the period on channels that deliver (not the log)."""
    rows = session.scalars(
        select(Notice).where(
            Notice.created_at >= since,
            Notice.created_at < until,
            Notice.channel != NoticeChannel.LOG.value,
        )
    )
    return [
        NoticeFact(
            ticket_id=n.ticket_id,
            created_at=n.created_at,
            sent_at=n.sent_at,
            failed=n.state == NoticeState.FAILED.value,
        )
        for n in rows
    ]


def compute_kpis(*, session: Session, since: datetime, until: datetime, now: datetime) -> KpiReport:
    """Every KPI for tickets of ``[since, until)`` as of ``now``.

    Raises:
        InvalidRequest: ``since`` is not before ``until``.
    """
    if since >= until:
        raise InvalidRequest("since must be before until")
    facts, history = load_facts(session=session, since=since, until=until)
    notices = load_notices(session=session, since=since, until=until)
    results, lead = compute_all(
        facts, since=since, until=until, now=now, agent_history=history, notices=notices
    )
    results["dedup_ratio"].extra["duplicate_open_tickets"] = duplicate_open_tickets(session=session)
    return KpiReport(since=since, until=until, now=now, results=results, lead_time=lead)


def kpi_tickets(
    *, session: Session, name: str, since: datetime, until: datetime, now: datetime
) -> dict[str, Any]:
    """The ticket ids behind one KPI: numerator, denominator and pending.

    Raises:
        UnknownKpi: no KPI called ``name``.
    """
    report = compute_kpis(session=session, since=since, until=until, now=now)
    if name == "mean_lead_time":
        ids = list(report.lead_time["ticket_ids"])
        return {"name": name, "numerator_ids": ids, "denominator_ids": ids, "pending_ids": []}
    result = report.results.get(name)
    if result is None:
        raise UnknownKpi(f"no KPI called {name!r}")
    return {
        "name": name,
        "numerator_ids": sorted(set(result.numerator_ids)),
        "denominator_ids": sorted(set(result.denominator_ids)),
        "pending_ids": sorted(result.pending_ids),
    }
