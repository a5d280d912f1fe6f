"""Work-order lifecycle: allowed steps, who and when, replay of offline steps; parts consumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.maintenance import (
    Actor,
    Transition,
    TransitionError,
    WorkOrderState,
    WorkOrderStatus,
    part_consumption_payloads,
    replay,
    transition,
)
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError

S = WorkOrderStatus
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
SUP = Actor("sue", frozenset({"maintenance_supervisor"}))
SUP2 = Actor("sam", frozenset({"maintenance_supervisor"}))
PLANNER = Actor("pat", frozenset({"planner"}))
TECH = Actor("tom", frozenset({"technician"}))


def fresh(requested_by: str = "op1") -> WorkOrderState:
    return WorkOrderState("WO1", S.REQUESTED, requested_by, T0)


def test_the_whole_lifecycle_with_who_and_when() -> None:
    state = fresh()
    steps = []
    for n, (to, actor) in enumerate(
        [(S.APPROVED, SUP), (S.PLANNED, PLANNER), (S.IN_PROGRESS, TECH), (S.COMPLETED, TECH), (S.CLOSED, SUP)], 1
    ):
        state, step = transition(state, to, actor, T0 + timedelta(hours=n), transition_id=f"t{n}")
        steps.append(step)
    assert state.status is S.CLOSED and state.last_change_at == T0 + timedelta(hours=5)
    assert (steps[0].from_status, steps[0].to_status, steps[0].by) == (S.REQUESTED, S.APPROVED, "sue")
    payload = steps[-1].as_payload()
    validate_mutation("maintenance.work_order_transition", Op.CREATE, payload)
    assert payload["to_status"] == "closed" and payload["by"] == "sue"


def test_a_skipped_step_names_the_allowed_ones() -> None:
    with pytest.raises(TransitionError) as info:
        transition(fresh(), S.COMPLETED, SUP, T0, transition_id="x")
    message = str(info.value)
    assert "cannot go from requested to completed" in message
    assert "approved, cancelled" in message
    assert info.value.field_errors == {"status": "cannot go from requested to completed"}


def test_closed_is_final() -> None:
    closed = WorkOrderState("WO1", S.CLOSED, "op1", T0)
    with pytest.raises(TransitionError, match="it is final"):
        transition(closed, S.IN_PROGRESS, SUP, T0, transition_id="x")


@pytest.mark.parametrize(
    ("status", "to", "actor"),
    [(S.REQUESTED, S.APPROVED, TECH), (S.REQUESTED, S.APPROVED, PLANNER), (S.COMPLETED, S.CLOSED, TECH),
     (S.APPROVED, S.PLANNED, TECH), (S.APPROVED, S.CANCELLED, PLANNER)],
)
def test_roles_decide_who_may_take_a_step(status: WorkOrderStatus, to: WorkOrderStatus, actor: Actor) -> None:
    with pytest.raises(TransitionError, match="needs one of"):
        transition(WorkOrderState("WO1", status, "op1", T0), to, actor, T0, transition_id="x")


def test_the_requester_cannot_approve_their_own_request() -> None:
    with pytest.raises(TransitionError, match="cannot also approve"):
        transition(fresh(requested_by="sue"), S.APPROVED, SUP, T0, transition_id="x")


def test_a_step_dated_before_the_last_change_is_refused_and_naive_times_too() -> None:
    with pytest.raises(TransitionError, match="before the work order's last change"):
        transition(fresh(), S.APPROVED, SUP, T0 - timedelta(minutes=1), transition_id="x")
    with pytest.raises(TransitionError, match="time zone"):
        transition(fresh(), S.APPROVED, SUP, datetime(2026, 3, 2), transition_id="x")


def test_back_steps_hold_reopen_and_unplan() -> None:
    state = WorkOrderState("WO1", S.IN_PROGRESS, "op1", T0)
    state, _ = transition(state, S.PLANNED, TECH, T0, transition_id="a")  # on hold
    state, _ = transition(state, S.IN_PROGRESS, TECH, T0, transition_id="b")
    state, _ = transition(state, S.COMPLETED, TECH, T0, transition_id="c")
    state, _ = transition(state, S.IN_PROGRESS, SUP, T0, transition_id="d")  # reopened
    assert state.status is S.IN_PROGRESS


def test_a_transition_error_is_a_validation_error() -> None:
    assert issubclass(TransitionError, ValidationError)


def test_two_offline_approvals_one_counts_the_other_is_reported() -> None:
    a = Transition("t1", "WO1", S.REQUESTED, S.APPROVED, "sue", T0 + timedelta(minutes=5), SUP.roles)
    b = Transition("t2", "WO1", S.REQUESTED, S.APPROVED, "sam", T0 + timedelta(minutes=3), SUP2.roles)
    result = replay(fresh(), [a, b])
    assert result.state.status is S.APPROVED
    assert [s.id for s in result.applied] == ["t2"]  # the earlier one
    assert [(s.id, "already approved" in why) for s, why in result.rejected] == [("t1", True)]


def test_replay_reports_steps_against_the_rules() -> None:
    bad = Transition("t1", "WO1", S.REQUESTED, S.APPROVED, "tom", T0 + timedelta(minutes=1), TECH.roles)
    good = Transition("t2", "WO1", S.REQUESTED, S.CANCELLED, "sue", T0 + timedelta(minutes=2), SUP.roles)
    result = replay(fresh(), [bad, good])
    assert result.state.status is S.CANCELLED
    assert result.rejected[0][0].id == "t1" and "needs one of" in result.rejected[0][1]


LIFECYCLE = [
    Transition("t1", "WO1", S.REQUESTED, S.APPROVED, "sue", T0 + timedelta(hours=1), SUP.roles),
    Transition("t2", "WO1", S.APPROVED, S.PLANNED, "pat", T0 + timedelta(hours=2), PLANNER.roles),
    Transition("t2b", "WO1", S.APPROVED, S.CANCELLED, "sam", T0 + timedelta(hours=2, minutes=1), SUP2.roles),
    Transition("t3", "WO1", S.PLANNED, S.IN_PROGRESS, "tom", T0 + timedelta(hours=3), TECH.roles),
    Transition("t4", "WO1", S.IN_PROGRESS, S.COMPLETED, "tom", T0 + timedelta(hours=4), TECH.roles),
]


@given(st.permutations(LIFECYCLE))
def test_replay_does_not_depend_on_arrival_order(steps: list[Transition]) -> None:
    result = replay(fresh(), steps)
    assert result.state.status is S.COMPLETED
    assert [s.id for s in result.applied] == ["t1", "t2", "t3", "t4"]
    assert [s.id for s, _ in result.rejected] == ["t2b"]


def test_part_consumption_writes_a_stock_issue_and_the_link() -> None:
    movement, consumption = part_consumption_payloads(
        work_order_id="WO1", movement_id="M1", store_id="S1", item_id="I1", quantity=2,
        occurred_at="2026-03-01T08:00:00+00:00", by="tom",
    )
    validate_mutation("inventory.movement", Op.CREATE, movement)
    validate_mutation("maintenance.part_consumption", Op.CREATE, consumption)
    assert movement["kind"] == "issue" and consumption["movement_id"] == "M1"
    with pytest.raises(ValidationError):
        part_consumption_payloads(work_order_id="WO1", movement_id="M1", store_id="S1", item_id="I1", quantity=0,
                                  occurred_at="2026-03-01T08:00:00+00:00", by="tom")


def test_only_a_supervisor_reopens_a_completed_job() -> None:
    done = WorkOrderState("WO1", S.COMPLETED, "op1", T0)
    with pytest.raises(TransitionError, match="needs one of"):
        transition(done, S.IN_PROGRESS, TECH, T0, transition_id="x")


def test_work_order_cost_from_labour_and_parts() -> None:
    from decimal import Decimal as D

    from shared.domain.maintenance import work_order_cost

    cost = work_order_cost([("fitter", D("2.5")), ("fitter", D(1)), ("auto_electrician", D(2))],
                           {"fitter": D(95), "auto_electrician": D("110.50")}, [(D(2), D("12.345")), (D(1), D(100))])
    assert (cost.labour_hours, cost.labour, cost.parts, cost.total) == (D("5.5"), D("553.50"), D("124.69"),
                                                                        D("678.19"))
    with pytest.raises(ValidationError, match="no labour rate for boilermaker"):
        work_order_cost([("boilermaker", D(1))], {}, [])
