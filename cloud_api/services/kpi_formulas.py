"""The KPI formula set of SERVICE_FLOW section 9, on plain facts (no database).

Common rules, applied by every formula here:

* **Cohort**: tickets accepted in ``[since, until)``; the follow-up KPI by completion time;
  satisfaction by follow-up time.
* **Service demand** leaves out tickets cancelled as ``duplicate`` (or ``test``) and
  gateway tickets cancelled ``no_fault_found`` (those are false alarms, counted apart).
  Time-target KPIs also leave out every other cancelled ticket: its clocks were cancelled.
* **Decided rule**: a ticket enters a time-target KPI only when its stop event happened or
  ``now >= start + target`` (then it is a miss). Younger open tickets are ``pending``: in
  neither numerator nor denominator.

Each KPI is a :class:`KpiResult` with value, numerator, denominator, target, pending and
the ticket ids behind each (served at ``ticket_ids_url``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean
from typing import Any, Final

__all__ = [
    "ESCALATION_TARGETS",
    "REPEAT_WINDOW",
    "SEED_KPIS",
    "TARGETS",
    "EscalationLevelFact",
    "FollowUpFact",
    "KpiResult",
    "NoticeFact",
    "TicketFacts",
    "compute_all",
    "in_service_demand",
]

SEED_KPIS: Final = (
    "satisfaction_rate",
    "complaint_rate",
    "response_1h_rate",
    "completion_24h_rate",
    "parts_24h_rate",
    "follow_up_rate",
)

# name -> (target, operator): ">" at least (strictly above), "<" below, "=" exactly all.
TARGETS: Final[dict[str, tuple[float | None, str]]] = {
    "satisfaction_rate": (0.95, ">"),
    "complaint_rate": (0.01, "<"),
    "response_1h_rate": (0.98, ">"),
    "completion_24h_rate": (0.80, ">"),
    "parts_24h_rate": (0.90, ">"),
    "follow_up_rate": (1.0, "="),
    "dispatch_1min_rate": (1.0, "="),
    "proactive_share": (None, ">"),
    "prevented_failure_rate": (None, ">"),
    "false_alarm_rate": (None, "<"),
    "first_time_fix_rate": (None, ">"),
    "notice_delivery_rate": (None, ">"),
    "sla_breach_rate": (None, "<"),
    "repeat_repair_rate": (None, "<"),
    # Each level's deadline is a promise to the customer (DOMAIN.md): all on time.
    "escalation_on_time_rate": (1.0, "="),
    "dedup_ratio": (None, ">"),
    "reservation_expiry_rate": (None, "<"),
    "mtta_min": (None, "<"),
    "mttr_h": (None, "<"),
}

RESPONSE_TARGET: Final = timedelta(hours=1)
URGENT_RESPONSE_TARGET: Final = timedelta(minutes=30)
DISPATCH_TARGET: Final = timedelta(minutes=1)
COMPLETION_TARGET: Final = timedelta(hours=24)
PARTS_TARGET: Final = timedelta(hours=24)
FOLLOW_UP_TARGET: Final = timedelta(hours=48)
PROACTIVE_LOOKBACK: Final = timedelta(days=7)
PROVISIONAL_FOR: Final = timedelta(days=30)
NOTICE_TARGET: Final = timedelta(minutes=5)
NOT_DEMAND: Final = frozenset({"duplicate", "test"})
REPEAT_WINDOW: Final = timedelta(days=30)
# Level deadlines of the three-level escalation, each counted from the escalation's start.
ESCALATION_TARGETS: Final = {1: timedelta(hours=1), 2: timedelta(hours=24), 3: timedelta(hours=48)}


@dataclass(frozen=True, slots=True)
class FollowUpFact:
    """One follow-up call: when, its outcome (rated/declined/unreachable), the score."""

    at: datetime
    outcome: str
    satisfaction: int | None = None


@dataclass(frozen=True, slots=True)
class EscalationLevelFact:
    """One level an escalation reached, and when its level action was recorded.

    ``started_at`` is the escalation's start (every level's deadline counts from it);
    ``acted_at`` the manual raise to the next level or the resolution at this level,
    ``None`` while nobody acted (an automatic raise is no action: the level was missed).
    """

    level: int
    started_at: datetime
    acted_at: datetime | None = None

    @property
    def deadline(self) -> datetime:
        """When this level's action was due."""
        return self.started_at + ESCALATION_TARGETS[self.level]


@dataclass(frozen=True, slots=True)
class NoticeFact:
    """One notice on a delivering channel (e-mail, webhook): queued, sent or given up."""

    ticket_id: str
    created_at: datetime
    sent_at: datetime | None = None
    failed: bool = False


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the KPIs need to know about one ticket, read from its timeline and clocks.

    Times are the *first* occurrence of each event (a reassignment or a rescheduled
    appointment never improves a KPI).
    """

    id: str
    source: str
    device_id: str
    accepted_at: datetime
    urgent: bool = False
    dispatched_at: datetime | None = None
    appointment_at: datetime | None = None
    departures: int = 0
    completed_at: datetime | None = None
    resolution: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    predicted_failure_at: datetime | None = None
    parts_started_at: datetime | None = None
    parts_ready_at: datetime | None = None
    operational_paused_s: float = 0.0
    complaints: int = 0
    follow_ups: tuple[FollowUpFact, ...] = ()
    repeat_of: str | None = None
    closed_at: datetime | None = None
    # When the first ticket linked ``repeat_of`` this one was accepted (it may lie after the
    # period: repeats are looked up for every ticket, wherever they fall).
    repeated_at: datetime | None = None
    occurrences: int = 1
    escalation_levels: tuple[EscalationLevelFact, ...] = ()
    reservation_lines: int = 0
    expired_lines: int = 0
    # (clock name, status, deadline) of each SLA clock of the ticket.
    clock_status: tuple[tuple[str, str, datetime], ...] = ()

    @property
    def cancelled(self) -> bool:
        """Whether the ticket was cancelled."""
        return self.cancelled_at is not None

    @property
    def on_site(self) -> bool:
        """Whether the ticket needs (or needed) a visit, i.e. was not solved remotely."""
        return self.resolution != "remote"


@dataclass(slots=True)
class KpiResult:
    """One KPI with the ticket ids behind it."""

    name: str
    numerator_ids: list[str] = field(default_factory=list)
    denominator_ids: list[str] = field(default_factory=list)
    pending_ids: list[str] = field(default_factory=list)
    numerator_count: float | None = None
    denominator_count: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def numerator(self) -> float:
        """How many met the formula (a count unless set otherwise)."""
        if self.numerator_count is not None:
            return self.numerator_count
        return float(len(self.numerator_ids))

    @property
    def denominator(self) -> float:
        """How many were decided."""
        if self.denominator_count is not None:
            return self.denominator_count
        return float(len(self.denominator_ids))

    @property
    def value(self) -> float | None:
        """Numerator ÷ denominator, ``None`` without a denominator."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def target(self) -> float | None:
        """The seeds' target."""
        return TARGETS.get(self.name, (None, ">"))[0]

    @property
    def target_op(self) -> str:
        """How the value compares with the target."""
        return TARGETS.get(self.name, (None, ">"))[1]


def in_service_demand(t: TicketFacts) -> bool:
    """Counted as service demand: not a duplicate/test, not a gateway false alarm."""
    if t.cancel_reason in NOT_DEMAND:
        return False
    return not (t.source == "gateway" and t.cancel_reason == "no_fault_found")


def _in(ts: datetime | None, since: datetime, until: datetime) -> bool:
    return ts is not None and since <= ts < until


def _timed(
    name: str,
    tickets: Iterable[TicketFacts],
    now: datetime,
    start: Callable[[TicketFacts], datetime | None],
    stop: Callable[[TicketFacts], datetime | None],
    target: Callable[[TicketFacts], timedelta],
) -> KpiResult:
    """A time-target KPI under the decided rule."""
    result = KpiResult(name)
    for t in tickets:
        begun, ended = start(t), stop(t)
        if begun is None:
            continue
        limit = begun + target(t)
        if ended is None and now < limit:
            result.pending_ids.append(t.id)
            continue
        result.denominator_ids.append(t.id)
        if ended is not None and ended <= limit:
            result.numerator_ids.append(t.id)
    return result


def _timed_cohort(
    tickets: Sequence[TicketFacts], since: datetime, until: datetime
) -> list[TicketFacts]:
    return [
        t
        for t in tickets
        if _in(t.accepted_at, since, until) and in_service_demand(t) and not t.cancelled
    ]


def response_1h(cohort: Sequence[TicketFacts], now: datetime) -> KpiResult:
    """First appointment booked within 60 min of acceptance (tiered variant in ``extra``)."""
    visits = [t for t in cohort if t.on_site]
    result = _timed(
        "response_1h_rate",
        visits,
        now,
        lambda t: t.accepted_at,
        lambda t: t.appointment_at,
        lambda _t: RESPONSE_TARGET,
    )
    tiered = _timed(
        "response_tiered_rate",
        visits,
        now,
        lambda t: t.accepted_at,
        lambda t: t.appointment_at,
        lambda t: URGENT_RESPONSE_TARGET if t.urgent else RESPONSE_TARGET,
    )
    result.extra["tiered"] = _summary(tiered)
    return result


def dispatch_1min(cohort: Sequence[TicketFacts], now: datetime) -> KpiResult:
    """Dispatched within 60 s of acceptance."""
    return _timed(
        "dispatch_1min_rate",
        cohort,
        now,
        lambda t: t.accepted_at,
        lambda t: t.dispatched_at,
        lambda _t: DISPATCH_TARGET,
    )


def completion_24h(cohort: Sequence[TicketFacts], now: datetime) -> KpiResult:
    """Completed within 24 h on the customer clock; the operational variant in ``extra``."""
    visits = [t for t in cohort if t.on_site]
    result = _timed(
        "completion_24h_rate",
        visits,
        now,
        lambda t: t.accepted_at,
        lambda t: t.completed_at,
        lambda _t: COMPLETION_TARGET,
    )
    adjusted = _timed(
        "completion_24h_customer_adjusted",
        visits,
        now,
        lambda t: t.accepted_at,
        lambda t: t.completed_at,
        lambda t: COMPLETION_TARGET + timedelta(seconds=t.operational_paused_s),
    )
    result.extra["customer_adjusted"] = _summary(adjusted)
    return result


def parts_24h(cohort: Sequence[TicketFacts], now: datetime, demand: int) -> KpiResult:
    """All part lines at the station within 24 h of the first line (DOMAIN denominator)."""
    result = _timed(
        "parts_24h_rate",
        cohort,
        now,
        lambda t: t.parts_started_at,
        lambda t: t.parts_ready_at,
        lambda _t: PARTS_TARGET,
    )
    literal = result.numerator / demand if demand else None
    result.extra["seed_literal"] = {
        "value": literal,
        "numerator": result.numerator,
        "denominator": float(demand),
    }
    return result


def follow_up_48h(
    tickets: Sequence[TicketFacts], since: datetime, until: datetime, now: datetime
) -> KpiResult:
    """Rated or declined follow-up within 48 h of completion, by completion time."""
    done = [t for t in tickets if _in(t.completed_at, since, until) and in_service_demand(t)]

    def first_answer(t: TicketFacts) -> datetime | None:
        answered = [f.at for f in t.follow_ups if f.outcome in ("rated", "declined")]
        return min(answered) if answered else None

    result = _timed(
        "follow_up_rate",
        done,
        now,
        lambda t: t.completed_at,
        first_answer,
        lambda _t: FOLLOW_UP_TARGET,
    )
    unreachable = [t.id for t in done if any(f.outcome == "unreachable" for f in t.follow_ups)]
    result.extra["unreachable"] = len(unreachable)
    return result


def satisfaction(tickets: Sequence[TicketFacts], since: datetime, until: datetime) -> KpiResult:
    """Follow-ups rated 4-5 ÷ follow-ups with a rating, by follow-up time."""
    result = KpiResult("satisfaction_rate")
    for t in tickets:
        if not in_service_demand(t):
            continue
        for f in t.follow_ups:
            if f.satisfaction is None or not _in(f.at, since, until):
                continue
            result.denominator_ids.append(t.id)
            if f.satisfaction >= 4:
                result.numerator_ids.append(t.id)
    return result


def complaints(cohort: Sequence[TicketFacts], until: datetime, now: datetime) -> KpiResult:
    """Distinct complaints ÷ service demand; provisional for 30 days after ``until``."""
    result = KpiResult("complaint_rate")
    result.denominator_ids = [t.id for t in cohort]
    total = 0
    for t in cohort:
        if t.complaints:
            result.numerator_ids.append(t.id)
            total += t.complaints
    result.numerator_count = float(total)
    result.extra["provisional"] = now < until + PROVISIONAL_FOR
    return result


def proactive_share(
    cohort: Sequence[TicketFacts], agent_tickets: Sequence[TicketFacts]
) -> KpiResult:
    """Gateway tickets with no agent ticket on the device in the 7 days before ÷ all."""
    result = KpiResult("proactive_share")
    by_device: dict[str, list[datetime]] = {}
    for a in agent_tickets:
        by_device.setdefault(a.device_id, []).append(a.accepted_at)
    for t in cohort:
        result.denominator_ids.append(t.id)
        if t.source != "gateway":
            continue
        calls = by_device.get(t.device_id, [])
        if not any(t.accepted_at - PROACTIVE_LOOKBACK <= c < t.accepted_at for c in calls):
            result.numerator_ids.append(t.id)
    return result


def mean_lead_time(cohort: Sequence[TicketFacts]) -> dict[str, Any]:
    """Mean time from acceptance to the predicted failure over gateway tickets with one."""
    leads = [
        (t.id, (t.predicted_failure_at - t.accepted_at).total_seconds())
        for t in cohort
        if t.source == "gateway" and t.predicted_failure_at is not None
    ]
    seconds = mean(s for _, s in leads) if leads else None
    return {
        "value_hours": seconds / 3600 if seconds is not None else None,
        "value_days": seconds / 86400 if seconds is not None else None,
        "n": len(leads),
        "ticket_ids": [i for i, _ in leads],
    }


def prevented_failure(cohort: Sequence[TicketFacts], now: datetime) -> KpiResult:
    """Gateway tickets completed before the predicted failure ÷ those with a prediction."""
    predicted = [t for t in cohort if t.source == "gateway" and t.predicted_failure_at]
    return _timed(
        "prevented_failure_rate",
        predicted,
        now,
        lambda t: t.accepted_at,
        lambda t: t.completed_at,
        lambda t: (t.predicted_failure_at or t.accepted_at) - t.accepted_at,
    )


def false_alarms(tickets: Sequence[TicketFacts], since: datetime, until: datetime) -> KpiResult:
    """Gateway tickets cancelled ``no_fault_found`` ÷ gateway tickets."""
    result = KpiResult("false_alarm_rate")
    for t in tickets:
        if t.source != "gateway" or not _in(t.accepted_at, since, until):
            continue
        if t.cancel_reason in NOT_DEMAND:
            continue
        result.denominator_ids.append(t.id)
        if t.cancel_reason == "no_fault_found":
            result.numerator_ids.append(t.id)
    return result


def first_time_fix(cohort: Sequence[TicketFacts]) -> KpiResult:
    """Completed on-site tickets with one departure and no repeat ticket ÷ completed."""
    result = KpiResult("first_time_fix_rate")
    for t in cohort:
        if t.completed_at is None or not t.on_site:
            continue
        result.denominator_ids.append(t.id)
        if t.departures <= 1 and t.repeated_at is None:
            result.numerator_ids.append(t.id)
    return result


def repeat_repair(
    tickets: Sequence[TicketFacts], since: datetime, until: datetime, now: datetime
) -> KpiResult:
    """Closed tickets followed by a ``repeat_of`` ticket within 30 days ÷ closed tickets.

    Cohort by ``closed_at`` (the repeat window opens at closing), so every numerator can
    still grow until 30 days after ``until``: ``provisional`` until then. Closed tickets
    whose window is still open stay in the denominator and are counted in ``window_open``.
    """
    result = KpiResult("repeat_repair_rate")
    window_open = 0
    for t in tickets:
        closed = t.closed_at
        if closed is None or not _in(closed, since, until) or not in_service_demand(t):
            continue
        result.denominator_ids.append(t.id)
        if t.repeated_at is not None and t.repeated_at - closed <= REPEAT_WINDOW:
            result.numerator_ids.append(t.id)
        elif now < closed + REPEAT_WINDOW:
            window_open += 1
    result.extra["provisional"] = now < until + PROVISIONAL_FOR
    result.extra["window_open"] = window_open
    return result


def escalation_on_time(
    tickets: Sequence[TicketFacts], since: datetime, until: datetime, now: datetime
) -> KpiResult:
    """Level actions recorded within 1 h / 24 h / 48 h ÷ escalations reaching that level.

    Cohort by the escalation's start. Decided rule per level: a level enters when its
    action was recorded or its deadline has passed (a miss); before that it is pending.
    ``extra["per_level"]`` holds the rate of each level.
    """
    result = KpiResult("escalation_on_time_rate")
    per_level = {k: {"on_time": 0, "decided": 0, "pending": 0} for k in ESCALATION_TARGETS}
    for t in tickets:
        if not in_service_demand(t):
            continue
        for lv in t.escalation_levels:
            if not _in(lv.started_at, since, until):
                continue
            counts = per_level[lv.level]
            if lv.acted_at is None and now < lv.deadline:
                counts["pending"] += 1
                result.pending_ids.append(t.id)
                continue
            counts["decided"] += 1
            result.denominator_ids.append(t.id)
            if lv.acted_at is not None and lv.acted_at <= lv.deadline:
                counts["on_time"] += 1
                result.numerator_ids.append(t.id)
    result.extra["per_level"] = {
        str(level): {**c, "value": c["on_time"] / c["decided"] if c["decided"] else None}
        for level, c in per_level.items()
    }
    return result


def dedup(tickets: Sequence[TicketFacts], since: datetime, until: datetime) -> KpiResult:
    """Gateway detections absorbed as occurrences ÷ gateway submissions (every intake call).

    Every gateway ticket accepted in the period counts, cancelled ones too: a submission
    suppressed after a ``no_fault_found`` is absorbed by the cancelled ticket.
    """
    result = KpiResult("dedup_ratio")
    absorbed = submissions = 0
    for t in tickets:
        if t.source != "gateway" or not _in(t.accepted_at, since, until):
            continue
        result.denominator_ids.append(t.id)
        submissions += t.occurrences
        if t.occurrences > 1:
            result.numerator_ids.append(t.id)
            absorbed += t.occurrences - 1
    result.numerator_count, result.denominator_count = float(absorbed), float(submissions)
    return result


def reservation_expiry(cohort: Sequence[TicketFacts]) -> KpiResult:
    """Reservation lines that expired ÷ lines reserved, over the period's tickets."""
    result = KpiResult("reservation_expiry_rate")
    expired = reserved = 0
    for t in cohort:
        if not t.reservation_lines:
            continue
        result.denominator_ids.append(t.id)
        reserved += t.reservation_lines
        if t.expired_lines:
            result.numerator_ids.append(t.id)
            expired += t.expired_lines
    result.numerator_count, result.denominator_count = float(expired), float(reserved)
    return result


def mean_duration(
    name: str,
    tickets: Sequence[TicketFacts],
    stop: Callable[[TicketFacts], datetime | None],
    unit: timedelta,
) -> KpiResult:
    """Mean (``value``) and p90 (``extra``) of acceptance → ``stop`` over stopped tickets.

    Reported next to the rates so an average cannot hide a tail (SERVICE_FLOW section 9).
    ``numerator`` is the summed duration in ``unit``, ``denominator`` the tickets.
    """
    result = KpiResult(name)
    durations: list[float] = []
    for t in tickets:
        ended = stop(t)
        if ended is None:
            continue
        result.denominator_ids.append(t.id)
        result.numerator_ids.append(t.id)
        durations.append((ended - t.accepted_at) / unit)
    durations.sort()
    result.numerator_count = float(sum(durations))
    result.extra["p90"] = (
        durations[min(len(durations) - 1, int(0.9 * len(durations)))] if durations else None
    )
    result.extra["unit"] = "min" if unit == timedelta(minutes=1) else "h"
    return result


def notice_delivery(notices: Sequence[NoticeFact], now: datetime) -> KpiResult:
    """Notices sent within 5 min of being queued ÷ decided notices; p95 latency in ``extra``."""
    result = KpiResult("notice_delivery_rate")
    latencies: list[float] = []
    for n in notices:
        if n.sent_at is None and not n.failed and now < n.created_at + NOTICE_TARGET:
            result.pending_ids.append(n.ticket_id)
            continue
        result.denominator_ids.append(n.ticket_id)
        if n.sent_at is not None:
            latency = n.sent_at - n.created_at
            latencies.append(latency.total_seconds())
            if latency <= NOTICE_TARGET:
                result.numerator_ids.append(n.ticket_id)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else None
    result.extra["p95_latency_s"] = p95
    result.extra["failed"] = sum(1 for n in notices if n.failed)
    return result


def sla_breaches(cohort: Sequence[TicketFacts], now: datetime) -> KpiResult:
    """Breached ÷ decided (met or breached) SLA clocks, overall and per clock in ``extra``.

    A running or warned clock past its deadline is breached even before the SLA job has
    marked it (the decided rule); before its deadline it is undecided. Cancelled clocks
    are left out.
    """
    result = KpiResult("sla_breach_rate")
    per_clock: dict[str, dict[str, int]] = {}
    breached = decided = 0
    for t in cohort:
        for name, stored, deadline in t.clock_status:
            overdue = stored in ("running", "warned") and now >= deadline
            status = "breached" if overdue else stored
            counts = per_clock.setdefault(name, {"breached": 0, "decided": 0, "warned": 0})
            counts["warned"] += status == "warned"
            if status not in ("met", "breached"):
                continue
            counts["decided"] += 1
            decided += 1
            result.denominator_ids.append(t.id)
            if status == "breached":
                counts["breached"] += 1
                breached += 1
                result.numerator_ids.append(t.id)
    result.numerator_count, result.denominator_count = float(breached), float(decided)
    result.extra["per_clock"] = {
        name: {**c, "value": c["breached"] / c["decided"] if c["decided"] else None}
        for name, c in sorted(per_clock.items())
    }
    return result


def _summary(result: KpiResult) -> dict[str, Any]:
    return {
        "value": result.value,
        "numerator": result.numerator,
        "denominator": result.denominator,
        "pending": len(result.pending_ids),
    }


def compute_all(
    tickets: Sequence[TicketFacts],
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    agent_history: Sequence[TicketFacts] = (),
    notices: Sequence[NoticeFact] = (),
) -> tuple[dict[str, KpiResult], dict[str, Any]]:
    """Every KPI for ``[since, until)`` at ``now``; returns (rates, mean lead time).

    ``tickets`` must hold every ticket accepted, completed, followed up, closed or
    escalated in the period;
    ``agent_history`` the agent tickets of the 7 days before ``since`` (for the proactive
    share's look-back), in addition to those among ``tickets``; ``notices`` the notices
    queued in the period on delivering channels.
    """
    cohort = [t for t in tickets if _in(t.accepted_at, since, until) and in_service_demand(t)]
    timed = _timed_cohort(tickets, since, until)
    agents = [t for t in (*tickets, *agent_history) if t.source != "gateway"]
    visits = [t for t in timed if t.on_site]
    results = [
        satisfaction(tickets, since, until),
        complaints(cohort, until, now),
        response_1h(timed, now),
        completion_24h(timed, now),
        parts_24h(timed, now, demand=len(cohort)),
        follow_up_48h(tickets, since, until, now),
        dispatch_1min(timed, now),
        proactive_share(cohort, agents),
        prevented_failure(timed, now),
        false_alarms(tickets, since, until),
        first_time_fix(cohort),
        notice_delivery(notices, now),
        sla_breaches(cohort, now),
        repeat_repair(tickets, since, until, now),
        escalation_on_time(tickets, since, until, now),
        dedup(tickets, since, until),
        reservation_expiry(cohort),
        mean_duration("mtta_min", visits, lambda t: t.appointment_at, timedelta(minutes=1)),
        mean_duration("mttr_h", visits, lambda t: t.completed_at, timedelta(hours=1)),
    ]
    return {r.name: r for r in results}, mean_lead_time(cohort)
