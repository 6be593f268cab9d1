"""The KPI formulas on plain facts: cohorts, the decided rule and the seed variants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud_api.services.kpi_formulas import FollowUpFact, NoticeFact, TicketFacts, compute_all

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SINCE, UNTIL = T0 - timedelta(days=1), T0 + timedelta(days=7)
H = timedelta(hours=1)


def _t(n: int, **kw: object) -> TicketFacts:
    base: dict[str, object] = {
        "id": f"t{n}",
        "source": "gateway",
        "device_id": f"d{n}",
        "accepted_at": T0,
        "dispatched_at": T0,
    }
    base.update(kw)
    return TicketFacts(**base)  # type: ignore[arg-type]


def test_young_open_ticket_is_pending_not_a_miss() -> None:
    tickets = [_t(1, appointment_at=T0 + 0.5 * H), _t(2)]
    results, _ = compute_all(tickets, since=SINCE, until=UNTIL, now=T0 + 0.75 * H)
    response = results["response_1h_rate"]
    assert (response.numerator, response.denominator, response.pending_ids) == (1, 1, ["t2"])
    later, _ = compute_all(tickets, since=SINCE, until=UNTIL, now=T0 + 1.01 * H)
    response = later["response_1h_rate"]
    assert (response.numerator, response.denominator, response.pending_ids) == (1, 2, [])


def test_urgent_tier_counts_30_minutes_in_the_tiered_variant() -> None:
    tickets = [_t(1, urgent=True, appointment_at=T0 + 0.75 * H)]
    results, _ = compute_all(tickets, since=SINCE, until=UNTIL, now=T0 + 2 * H)
    assert results["response_1h_rate"].value == 1.0
    assert results["response_1h_rate"].extra["tiered"]["value"] == 0.0


def test_duplicates_and_gateway_false_alarms_are_not_service_demand() -> None:
    tickets = [
        _t(1, complaints=1),
        _t(2, cancelled_at=T0 + H, cancel_reason="duplicate", complaints=1),
        _t(3, cancelled_at=T0 + H, cancel_reason="no_fault_found"),
        _t(4, source="agent", cancelled_at=T0 + H, cancel_reason="customer_declined"),
    ]
    results, _ = compute_all(tickets, since=SINCE, until=UNTIL, now=T0 + 48 * H)
    complaint = results["complaint_rate"]
    assert (complaint.numerator, complaint.denominator) == (1, 2)  # t1 and t4
    assert complaint.extra["provisional"] is True
    false_alarm = results["false_alarm_rate"]
    assert (false_alarm.numerator_ids, false_alarm.denominator_ids) == (["t3"], ["t1", "t3"])
    # Cancelled tickets are out of every time-target KPI (their clocks were cancelled).
    assert results["completion_24h_rate"].denominator_ids == ["t1"]


def test_completion_customer_adjusted_forgives_the_customer_deferral() -> None:
    deferred = _t(1, completed_at=T0 + 40 * H, operational_paused_s=20 * 3600)
    results, _ = compute_all([deferred], since=SINCE, until=UNTIL, now=T0 + 50 * H)
    completion = results["completion_24h_rate"]
    assert completion.value == 0.0
    assert completion.extra["customer_adjusted"]["value"] == 1.0


def test_remote_resolutions_are_not_on_site_visits() -> None:
    remote = _t(1, completed_at=T0 + 2 * H, resolution="remote")
    results, _ = compute_all([remote], since=SINCE, until=UNTIL, now=T0 + 50 * H)
    assert results["response_1h_rate"].denominator == 0
    assert results["completion_24h_rate"].denominator == 0
    assert results["response_1h_rate"].value is None


def test_follow_up_cohort_is_by_completion_and_satisfaction_by_follow_up_time() -> None:
    before = T0 - 2 * timedelta(days=1)  # accepted before the period, completed inside it
    tickets = [
        _t(1, accepted_at=before, completed_at=T0, follow_ups=(FollowUpFact(T0 + H, "rated", 5),)),
        _t(2, completed_at=T0 + H, follow_ups=(FollowUpFact(T0 + 60 * H, "rated", 3),)),
        _t(3, completed_at=T0 + 2 * H, follow_ups=(FollowUpFact(T0 + 3 * H, "unreachable"),)),
        _t(4, completed_at=T0 + 30 * H),
    ]
    results, _ = compute_all(tickets, since=SINCE, until=UNTIL, now=T0 + 52 * H)
    follow_up = results["follow_up_rate"]
    assert follow_up.numerator_ids == ["t1"]
    assert follow_up.denominator_ids == ["t1", "t2", "t3"]  # t4 is still within its 48 h
    assert follow_up.pending_ids == ["t4"]
    assert follow_up.extra["unreachable"] == 1
    satisfaction = results["satisfaction_rate"]
    assert (satisfaction.numerator, satisfaction.denominator) == (1, 2)


def test_parts_kpi_reports_the_domain_and_the_seed_literal_denominators() -> None:
    tickets = [
        _t(1, parts_started_at=T0, parts_ready_at=T0 + 2 * H),
        _t(2, parts_started_at=T0, parts_ready_at=T0 + 30 * H),
        _t(3),
        _t(4),
    ]
    results, _ = compute_all(tickets, since=SINCE, until=UNTIL, now=T0 + 40 * H)
    parts = results["parts_24h_rate"]
    assert (parts.numerator, parts.denominator) == (1, 2)
    assert parts.extra["seed_literal"] == {"value": 0.25, "numerator": 1, "denominator": 4.0}


def test_proactive_share_looks_back_seven_days_for_a_customer_call() -> None:
    call = _t(9, source="agent", device_id="d1", accepted_at=T0 - 3 * timedelta(days=1))
    old_call = _t(8, source="agent", device_id="d2", accepted_at=T0 - 8 * timedelta(days=1))
    tickets = [_t(1), _t(2), _t(3, source="agent", device_id="d3")]
    results, _ = compute_all(
        tickets, since=SINCE, until=UNTIL, now=T0 + H, agent_history=[call, old_call]
    )
    share = results["proactive_share"]
    assert share.numerator_ids == ["t2"]
    assert share.denominator_ids == ["t1", "t2", "t3"]


def test_mean_lead_time_is_over_gateway_tickets_with_a_prediction() -> None:
    tickets = [
        _t(1, predicted_failure_at=T0 + 10 * timedelta(days=1)),
        _t(2, predicted_failure_at=T0 + 20 * timedelta(days=1)),
        _t(3),
        _t(4, source="agent", predicted_failure_at=T0 + 99 * timedelta(days=1)),
    ]
    _, lead = compute_all(tickets, since=SINCE, until=UNTIL, now=T0)
    assert lead["value_days"] == 15.0
    assert lead["n"] == 2


def test_notice_delivery_counts_sent_within_five_minutes_and_waits_for_young_ones() -> None:
    notices = [
        NoticeFact("t1", T0, sent_at=T0 + timedelta(seconds=20)),
        NoticeFact("t2", T0, sent_at=T0 + timedelta(minutes=9)),
        NoticeFact("t3", T0, failed=True),
        NoticeFact("t4", T0 + timedelta(minutes=8)),
    ]
    results, _ = compute_all(
        [], since=SINCE, until=UNTIL, now=T0 + timedelta(minutes=10), notices=notices
    )
    delivery = results["notice_delivery_rate"]
    assert (delivery.numerator_ids, delivery.denominator_ids) == (["t1"], ["t1", "t2", "t3"])
    assert delivery.pending_ids == ["t4"]
    assert delivery.extra == {"p95_latency_s": 540.0, "failed": 1}


def test_sla_breach_rate_counts_decided_clocks_per_clock() -> None:
    later, soon = T0 + 24 * H, T0 + 0.5 * H
    tickets = [
        _t(1, clock_status=(("appointment", "met", soon), ("completion", "breached", soon))),
        _t(2, clock_status=(("appointment", "running", soon), ("completion", "running", later))),
        _t(3, clock_status=(("appointment", "warned", later), ("dispatch", "cancelled", soon))),
    ]
    # t2's appointment clock is past its deadline: breached though the job has not run.
    results, _ = compute_all(tickets, since=SINCE, until=UNTIL, now=T0 + H)
    breaches = results["sla_breach_rate"]
    assert (breaches.numerator, breaches.denominator) == (2, 3)
    per_clock = breaches.extra["per_clock"]
    assert per_clock["appointment"] == {"breached": 1, "decided": 2, "warned": 1, "value": 0.5}
    assert per_clock["completion"]["value"] == 1.0
    assert per_clock["dispatch"]["value"] is None
