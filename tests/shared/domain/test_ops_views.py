"""The record → rule adapters the offline screens use: same answers as the domain rules, bad rows reported."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.domain import pm
from shared.domain.approvals import ApprovalError, ApprovalStatus, Verdict
from shared.domain.maintenance import Actor, WorkOrderStatus
from shared.domain.ops_views import (
    chains_from,
    current_meter_reading,
    decision_payload,
    delegations_from,
    legal_steps,
    may_decide,
    meter_readings,
    pm_due,
    po_progress_from,
    request_view,
    stock_lines,
    work_order_replay,
)
from shared.domain.pm import PmPlanError
from shared.domain.procurement import PoStatus

T = "2026-07-01T06:00:00+00:00"


def mv(kind: str, qty: float, at: str, cost: float | None = None, item: str = "I1") -> dict[str, object]:
    row: dict[str, object] = {"kind": kind, "store_id": "S1", "item_id": item, "quantity": qty, "occurred_at": at}
    if cost is not None:
        row["unit_cost"] = cost
    return row


def test_stock_lines_value_the_ledger_and_flag_negative_and_unreadable_rows() -> None:
    rows = [("m1", mv("receipt", 10, "2026-07-01T06:00:00+00:00", 4)),
            ("m2", mv("receipt", 10, "2026-07-01T07:00:00+00:00", 6)),
            ("m3", mv("issue", 5, "2026-07-01T08:00:00+00:00")),
            ("m4", mv("issue", 3, "2026-07-01T08:00:00+00:00", item="I2")),
            ("bad", {"kind": "issue", "store_id": "S1"})]
    lines = {(ln.store_id, ln.item_id): ln for ln in stock_lines(rows)}
    assert lines[("S1", "I1")].quantity == 15 and lines[("S1", "I1")].average_cost == 5
    assert not lines[("S1", "I1")].needs_review
    assert lines[("S1", "I2")].quantity == -3 and lines[("S1", "I2")].reason == "negative balance"
    assert lines[("?", "?")].needs_review and "bad" in lines[("?", "?")].reason


def test_stock_that_dipped_below_zero_and_recovered_still_asks_for_review() -> None:
    rows = [("m1", mv("issue", 2, "2026-07-01T06:00:00+00:00")),
            ("m2", mv("receipt", 5, "2026-07-01T07:00:00+00:00", 3))]
    [line] = stock_lines(rows)
    assert line.quantity == 3 and line.needs_review and "below zero 1" in line.reason


def step(sid: str, frm: str, to: str, by: str, at: str, roles: tuple[str, ...]) -> tuple[str, dict[str, object]]:
    return sid, {"work_order_id": "W1", "from_status": frm, "to_status": to, "by": by, "at": at, "roles": list(roles)}


def test_work_order_replay_and_the_steps_a_person_may_take() -> None:
    wo = {"requested_by": "op", "requested_at": T}
    steps = [step("s1", "requested", "approved", "sup", "2026-07-01T07:00:00+00:00", ("maintenance_supervisor",)),
             step("s2", "requested", "approved", "sup2", "2026-07-01T07:30:00+00:00", ("maintenance_supervisor",)),
             step("s0", "approved", "planned", "pl", "2026-07-01T08:00:00+00:00", ("planner",))]
    result = work_order_replay("W1", wo, steps)
    assert result.state.status is WorkOrderStatus.PLANNED and len(result.rejected) == 1
    later = datetime(2026, 7, 2, tzinfo=UTC)
    assert legal_steps(result.state, Actor("tech", frozenset({"technician"})), later) == [WorkOrderStatus.IN_PROGRESS]
    planner = legal_steps(result.state, Actor("pl", frozenset({"planner"})), later)
    assert planner == [WorkOrderStatus.APPROVED, WorkOrderStatus.IN_PROGRESS]
    assert legal_steps(result.state, Actor("x", frozenset()), later) == []
    # The requester may not approve their own request; a supervisor who did not request it may.
    fresh = work_order_replay("W1", wo, []).state
    assert WorkOrderStatus.APPROVED not in legal_steps(fresh, Actor("op", frozenset({"admin"})), later)
    assert legal_steps(fresh, Actor("sup", frozenset({"admin"})), later) == [WorkOrderStatus.APPROVED,
                                                                             WorkOrderStatus.CANCELLED]


def test_a_work_order_without_times_starts_at_the_epoch() -> None:
    assert work_order_replay("W9", {}, []).state.status is WorkOrderStatus.REQUESTED


def test_po_progress_from_partial_receipts() -> None:
    po = {"lines": [{"line_id": "1", "item_id": "I1", "store_id": "S1", "quantity": 10, "unit_price": 5}]}
    lines, progress = po_progress_from(po, [("g1", {"line_id": "1", "quantity": 4})])
    assert progress.status is PoStatus.PARTIALLY_RECEIVED and progress.outstanding == {"1": Decimal(6)}
    _, done = po_progress_from(po, [("g1", {"line_id": "1", "quantity": 4}), ("g2", {"line_id": "1", "quantity": 6})])
    assert done.status is PoStatus.RECEIVED and len(lines) == 1


CHAIN = ("c1", {"document_type": "procurement.purchase_order", "levels": [
    {"min_amount": 0, "approver_user": "sup"}, {"min_amount": 1000, "approver_role": "manager"}]})


def test_request_routing_who_may_decide_and_the_decision_row() -> None:
    chains = chains_from([CHAIN])
    delegations = delegations_from([("d1", {"delegator": "sup", "delegate": "deputy", "starts_on": "2026-07-01",
                                             "ends_on": "2026-07-31"}), ("bad", {"delegator": "x"})])
    req = {"document_type": "procurement.purchase_order", "document_id": "PO1", "amount": 5000, "requested_by": "buyer"}
    view = request_view("R1", req, [], chains, delegations)
    assert view.state is not None and view.state.current_level == 0 and len(view.levels) == 2
    on = date(2026, 7, 10)
    assert may_decide(view, "sup", frozenset(), delegations, on)
    assert may_decide(view, "deputy", frozenset(), delegations, on)
    assert not may_decide(view, "deputy", frozenset(), delegations, date(2026, 8, 1))
    assert not may_decide(view, "buyer", frozenset({"manager"}), delegations, on)
    row = decision_payload(view, Verdict.APPROVE, "deputy", frozenset(), datetime(2026, 7, 10, tzinfo=UTC))
    after = request_view("R1", req, [("D1", row)], chains, delegations)
    assert after.state is not None and after.state.current_level == 1
    assert may_decide(after, "boss", frozenset({"manager"}), delegations, on)
    assert not may_decide(after, "sup", frozenset(), delegations, on)
    done = request_view("R1", req, [("D1", row), ("D2", decision_payload(
        after, Verdict.APPROVE, "boss", frozenset({"manager"}), datetime(2026, 7, 11, tzinfo=UTC)))], chains,
                        delegations)
    assert done.state is not None and done.state.status is ApprovalStatus.APPROVED
    with pytest.raises(ApprovalError):
        decision_payload(done, Verdict.REJECT, "boss", frozenset(), datetime(2026, 7, 12, tzinfo=UTC))


def test_a_request_without_a_chain_is_reported_not_hidden() -> None:
    view = request_view("R2", {"document_type": "unknown", "amount": 1}, [], [], [])
    assert view.state is None and "no approval chain" in view.problem


def test_pm_due_from_the_hour_meter_of_shift_logs() -> None:
    logs = [{"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "day", "hour_meter_end": 1180},
            {"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "night", "hour_meter_end": 1190},
            {"equipment_id": "E1", "shift_date": "2026-07-02", "shift": "day", "hour_meter_end": 1185},  # typo: ignored
            {"equipment_id": "E2", "shift_date": "bad", "hour_meter_end": 5}]
    readings = meter_readings(logs)
    assert set(readings) == {"E1"}
    plan = {"trigger": "hours", "schedule": "fixed", "interval_hours": 250, "lead_hours": 25, "start_hours": 1000,
            "last_done_hours": 1000, "last_done_date": "2026-06-01"}
    status = pm_due("P1", plan, readings["E1"], date(2026, 7, 3))
    assert status.due.hours == 1250 and status.hours_remaining == 60 and not status.raise_now
    later = pm_due("P1", plan, [*readings["E1"], pm.MeterReading(datetime(2026, 7, 3, tzinfo=UTC), 1230)],
                   date(2026, 7, 3))
    assert later.raise_now and not later.is_due
    with pytest.raises(PmPlanError):
        pm_due("P2", {"trigger": "calendar", "schedule": "fixed"}, [], date(2026, 7, 3))


def test_pm_follows_a_meter_correction_record_from_the_shift_it_was_found_in() -> None:
    logs = [{"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "day", "hour_meter_end": 1990},
            {"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "night", "hour_meter_end": 4},  # new meter
            {"equipment_id": "E1", "shift_date": "2026-07-02", "shift": "day", "hour_meter_end": 15},
            {"equipment_id": "E2", "shift_date": "2026-07-01", "shift": "day", "hour_meter_end": 300}]
    corrections = [{"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "night", "before": 1995, "after": 0,
                    "at": "2026-07-01T20:00:00+00:00", "source": "telematics"}, {"equipment_id": "E1"}]  # unreadable
    readings = meter_readings(logs, corrections)
    assert [r.hours for r in readings["E1"]] == [1990, 1999, 2010] and [r.hours for r in readings["E2"]] == [300]
    plan = {"trigger": "hours", "schedule": "fixed", "interval_hours": 250, "lead_hours": 25,
            "last_done_hours": 2000}
    status = pm_due("P1", plan, readings["E1"], date(2026, 7, 3))
    assert status.due.hours == 2250 and status.hours_remaining == 240


def test_the_current_meter_reading_is_the_new_meters_after_a_correction() -> None:
    logs = [{"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "day", "hour_meter_end": 1990},
            {"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "night", "hour_meter_end": 4},  # new meter
            {"equipment_id": "E1", "shift_date": "2026-07-02", "shift": "day", "hour_meter_end": 15}]
    correction = {"equipment_id": "E1", "shift_date": "2026-07-01", "shift": "night", "before": 1995, "after": 0}
    assert current_meter_reading(logs) == 1990  # no correction: meters never wind back
    assert current_meter_reading(logs, [correction]) == 15
    assert current_meter_reading(logs[:1], [correction]) == 0  # replaced, nothing read off the new one yet
    assert current_meter_reading([], []) is None
    later = {**correction, "shift_date": "2026-07-02", "shift": "night", "before": 15, "after": 2}
    assert current_meter_reading(logs, [correction, later]) == 2  # the latest change decides
