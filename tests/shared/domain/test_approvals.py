"""Approval routing by document type and amount, delegation for a period, decision order, history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.approvals import (
    ApprovalError,
    ApprovalStatus,
    Chain,
    Decision,
    Delegation,
    Level,
    Verdict,
    acts_for,
    check_delegation,
    evaluate,
    route,
    waiting_on,
)

PO = "procurement.purchase_order"
CHAINS = [
    Chain(PO, (Level(D(0), approver_user="sup"), Level(D(10_000), approver_user="mgr"),
               Level(D(100_000), approver_role="general_manager"))),
    Chain("hr.leave", (Level(D(0), approver_role="hr"),)),
    Chain("old", (Level(D(0), approver_user="x"),), active=False),
]
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
DAY = T0.date()


def dec(n: int, level: int, by: str, verdict: Verdict = Verdict.APPROVE, *, amount: int = 50_000,
        minutes: int | None = None, roles: frozenset[str] = frozenset()) -> Decision:
    return Decision(f"d{n}", level, verdict, by, roles, T0 + timedelta(minutes=n if minutes is None else minutes),
                    D(amount))


def ev(decisions: list[Decision], *, amount: int = 50_000, delegations: tuple[Delegation, ...] = (),
       requested_by: str = "buyer") -> tuple[ApprovalStatus, int | None, list[str]]:
    levels = route(CHAINS, PO, D(amount))
    state = evaluate(document_type=PO, amount=D(amount), requested_by=requested_by, levels=levels,
                     decisions=decisions, delegations=delegations)
    return state.status, state.current_level, [h.note for h in state.history if not h.counted]


@pytest.mark.parametrize(
    ("amount", "approvers"),
    [(0, ["sup"]), (9_999, ["sup"]), (10_000, ["sup", "mgr"]), (100_000, ["sup", "mgr", "general_manager"])],
)
def test_route_by_amount_thresholds(amount: int, approvers: list[str]) -> None:
    assert [lv.approver_user or lv.approver_role for lv in route(CHAINS, PO, D(amount))] == approvers


def test_route_errors() -> None:
    with pytest.raises(ApprovalError, match="no approval chain"):
        route(CHAINS, "old", D(1))
    with pytest.raises(ApprovalError, match="never negative"):
        route(CHAINS, PO, D(-1))
    with pytest.raises(ApprovalError, match="two active"):
        route([*CHAINS, CHAINS[1]], "hr.leave", D(1))
    with pytest.raises(ApprovalError, match="no level"):
        route([Chain("t", (Level(D(100), approver_user="a"),))], "t", D(5))
    with pytest.raises(ApprovalError):
        Level(D(0))


def test_levels_are_decided_in_order() -> None:
    assert ev([]) == (ApprovalStatus.PENDING, 0, [])
    assert ev([dec(1, 0, "sup")])[:2] == (ApprovalStatus.PENDING, 1)
    assert ev([dec(1, 0, "sup"), dec(2, 1, "mgr")]) == (ApprovalStatus.APPROVED, None, [])


def test_a_reject_ends_it_and_later_decisions_are_history_only() -> None:
    status, level, notes = ev([dec(1, 0, "sup", Verdict.REJECT), dec(2, 1, "mgr")])
    assert (status, level) == (ApprovalStatus.REJECTED, None)
    assert notes == ["after the document was already rejected"]


def test_a_decision_ahead_of_its_turn_does_not_count() -> None:
    status, level, notes = ev([dec(1, 1, "mgr"), dec(2, 0, "sup")])
    assert (status, level) == (ApprovalStatus.PENDING, 1)
    assert "before level 1" in notes[0]


def test_the_requester_and_strangers_cannot_decide() -> None:
    assert ev([dec(1, 0, "sup")], requested_by="sup")[2] == ["the requester cannot decide on their own request"]
    assert ev([dec(1, 0, "tom")])[2] == ["tom is not an approver for level 1"]


def test_an_amount_raised_after_the_decision_needs_a_new_one() -> None:
    status, level, notes = ev([dec(1, 0, "sup", amount=20_000)], amount=30_000)
    assert (status, level) == (ApprovalStatus.PENDING, 0)
    assert "now asks for 30000" in notes[0]


def test_role_levels() -> None:
    decisions = [dec(1, 0, "sup", amount=200_000), dec(2, 1, "mgr", amount=200_000),
                 dec(3, 2, "gm", amount=200_000, roles=frozenset({"general_manager"}))]
    assert ev(decisions, amount=200_000)[0] is ApprovalStatus.APPROVED
    decisions[2] = dec(3, 2, "gm", amount=200_000, roles=frozenset({"planner"}))
    assert ev(decisions, amount=200_000)[:2] == (ApprovalStatus.PENDING, 2)


LEAVE = Delegation("sup", "deputy", DAY - timedelta(days=1), DAY + timedelta(days=1))


def test_a_delegate_acts_within_the_dates_and_the_history_says_for_whom() -> None:
    levels = route(CHAINS, PO, D(5_000))
    state = evaluate(document_type=PO, amount=D(5_000), requested_by="buyer", levels=levels,
                     decisions=[dec(1, 0, "deputy", amount=5_000)], delegations=[LEAVE])
    assert state.status is ApprovalStatus.APPROVED
    assert state.history[0].on_behalf_of == "sup"
    late = dec(1, 0, "deputy", amount=5_000, minutes=3 * 24 * 60)
    assert ev([late], amount=5_000, delegations=(LEAVE,))[:2] == (ApprovalStatus.PENDING, 0)


def test_delegation_for_other_document_types_does_not_count() -> None:
    only_leave = Delegation("sup", "deputy", DAY, DAY, frozenset({"hr.leave"}))
    assert ev([dec(1, 0, "deputy", amount=5_000)], amount=5_000, delegations=(only_leave,))[0] is ApprovalStatus.PENDING


def test_delegations_chain_and_loops_in_synced_data_do_not_hang() -> None:
    onward = Delegation("deputy", "third", DAY, DAY)
    assert acts_for("third", [LEAVE, onward], DAY, PO) == {"third", "deputy", "sup"}
    # two offline desktops may each have saved half of a loop: evaluation still terminates
    loop = [Delegation("a", "b", DAY, DAY), Delegation("b", "a", DAY, DAY)]
    assert acts_for("a", loop, DAY, PO) == {"a", "b"}


def test_check_delegation_refuses_self_reversed_dates_and_loops() -> None:
    with pytest.raises(ApprovalError, match="themselves"):
        check_delegation(Delegation("a", "a", DAY, DAY), [])
    with pytest.raises(ApprovalError, match="ends after"):
        check_delegation(Delegation("a", "b", DAY, DAY - timedelta(days=1)), [])
    existing = [Delegation("b", "c", DAY, DAY + timedelta(days=5)), Delegation("c", "a", DAY, DAY + timedelta(days=5))]
    with pytest.raises(ApprovalError, match="loop"):
        check_delegation(Delegation("a", "b", DAY + timedelta(days=2), DAY + timedelta(days=3)), existing)
    # the same people in a period that does not overlap: fine
    check_delegation(Delegation("a", "b", DAY + timedelta(days=6), DAY + timedelta(days=9)), existing)
    check_delegation(Delegation("a", "d", DAY, DAY), existing)


def test_two_offline_decisions_on_one_level_the_first_counts() -> None:
    levels = route(CHAINS, PO, D(5_000))
    approve = dec(2, 0, "sup", amount=5_000)
    reject = dec(1, 0, "deputy", Verdict.REJECT, amount=5_000)
    state = evaluate(document_type=PO, amount=D(5_000), requested_by="buyer", levels=levels,
                     decisions=[approve, reject], delegations=[LEAVE])
    assert state.status is ApprovalStatus.REJECTED
    assert [(h.decision.id, h.counted) for h in state.history] == [("d1", True), ("d2", False)]


def test_waiting_on_names_the_approver_and_their_delegates() -> None:
    levels = route(CHAINS, PO, D(50_000))
    state = evaluate(document_type=PO, amount=D(50_000), requested_by="buyer", levels=levels, decisions=[])
    assert waiting_on(state, levels, [LEAVE], DAY, PO) == {"sup", "deputy"}
    assert waiting_on(state, levels, [LEAVE], DAY + timedelta(days=5), PO) == {"sup"}


DECISIONS = [
    dec(1, 0, "deputy"), dec(2, 0, "sup", Verdict.REJECT), dec(3, 1, "mgr"), dec(4, 1, "buyer"), dec(5, 2, "mgr"),
]


@given(st.permutations(DECISIONS))
def test_every_device_reaches_the_same_state_whatever_the_arrival_order(decisions: list[Decision]) -> None:
    levels = route(CHAINS, PO, D(50_000))
    state = evaluate(document_type=PO, amount=D(50_000), requested_by="buyer", levels=levels,
                     decisions=decisions, delegations=[LEAVE])
    assert state.status is ApprovalStatus.APPROVED
    assert [h.decision.id for h in state.history] == ["d1", "d2", "d3", "d4", "d5"]
    assert [h.counted for h in state.history] == [True, False, True, False, False]


def test_decisions_without_an_hour_on_the_same_day_are_checked_against_that_day() -> None:
    assert LEAVE.covers(date(2026, 5, 5), PO) and not LEAVE.covers(date(2026, 5, 6), PO)


def test_a_rejection_stands_even_if_the_amount_grew_since() -> None:
    status, _, notes = ev([dec(1, 0, "sup", Verdict.REJECT, amount=20_000)], amount=30_000)
    assert status is ApprovalStatus.REJECTED and notes == []


PEOPLE = ["a", "b", "c", "d", "e"]


@given(st.lists(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE)), max_size=15))
def test_delegations_accepted_one_by_one_never_form_a_loop(pairs: list[tuple[str, str]]) -> None:
    accepted: list[Delegation] = []
    for delegator, delegate in pairs:
        candidate = Delegation(delegator, delegate, DAY, DAY)
        try:
            check_delegation(candidate, accepted)
        except ApprovalError:
            continue
        accepted.append(candidate)
    graph: dict[str, set[str]] = {}
    for d in accepted:
        graph.setdefault(d.delegator, set()).add(d.delegate)

    def reaches(start: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == target or (n not in seen and reaches(n, target, seen | {n})) for n in graph.get(start, ()))

    assert not any(reaches(p, p) for p in PEOPLE)
    for p in PEOPLE:  # and whoever acts for whom is finite and includes oneself
        assert p in acts_for(p, accepted, DAY, PO)


def test_a_sites_own_chain_wins_over_the_tenant_default() -> None:
    default = Chain(PO, (Level(D(0), approver_user="hq"),))
    north = Chain(PO, (Level(D(0), approver_user="north-mgr"),), site_id="north")
    south = Chain(PO, (Level(D(0), approver_user="south-mgr"),), site_id="south")
    chains = [default, north, south]
    assert [lv.approver_user for lv in route(chains, PO, D(5), "north")] == ["north-mgr"]
    assert [lv.approver_user for lv in route(chains, PO, D(5), "south")] == ["south-mgr"]
    assert [lv.approver_user for lv in route(chains, PO, D(5), "east")] == ["hq"]  # no chain of its own
    assert [lv.approver_user for lv in route(chains, PO, D(5))] == ["hq"]
    with pytest.raises(ApprovalError, match="no approval chain"):
        route([north], PO, D(5), "east")
    with pytest.raises(ApprovalError, match="two active"):
        route([north, north], PO, D(5), "north")
