"""The org tree and the no-loop rule (shared/domain/org_tree.py) on hand-made registers: a 500-person tree, a loop
of three, oneself, two offices each making one half of a loop, and people whose manager is missing or has left."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.domain.org_tree import ReportingCycle, build, check_reports_to, cycle_path, managers_of

TODAY = date(2026, 12, 6)


def _p(boss: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"status": "active", "reports_to": boss, **extra}


def _five_hundred() -> dict[str, dict[str, Any]]:
    """A CEO, 4 GMs, 20 superintendents, 100 supervisors and 375 operators: 1 + 4 + 20 + 100 + 375 = 500."""
    people = {"ceo": _p()}
    gms = [f"gm{i}" for i in range(4)]
    supts = [f"su{i}" for i in range(20)]
    sups = [f"sv{i}" for i in range(100)]
    people |= {g: _p("ceo") for g in gms}
    people |= {s: _p(gms[i % 4]) for i, s in enumerate(supts)}
    people |= {s: _p(supts[i % 20]) for i, s in enumerate(sups)}
    people |= {f"op{i}": _p(sups[i % 100]) for i in range(375)}
    return people


def test_a_500_person_tree_has_one_root_every_person_once_and_the_right_fan_out() -> None:
    people = _five_hundred()
    assert len(people) == 500
    tree = build(people, TODAY)
    assert [r.employee_id for r in tree.roots] == ["ceo"] and tree.no_manager == []
    assert tree.count() == 500
    ceo = tree.roots[0]
    assert [g.employee_id for g in ceo.children] == ["gm0", "gm1", "gm2", "gm3"]
    assert [len(g.children) for g in ceo.children] == [5, 5, 5, 5]
    sv0 = next(s for g in ceo.children for su in g.children for s in su.children if s.employee_id == "sv0")
    assert sorted(len(s.children) for s in [sv0]) == [4]  # op0, op100, op200, op300


def test_moving_a_gm_under_an_operator_of_their_own_line_is_a_loop_naming_the_path() -> None:
    people = _five_hundred()
    managers = managers_of(people)
    # op0 -> sv0 -> su0 -> gm0: gm0 reporting to op0 closes gm0 -> op0 -> sv0 -> su0 -> gm0
    assert cycle_path("gm0", "op0", managers) == ["gm0", "op0", "sv0", "su0", "gm0"]
    with pytest.raises(ReportingCycle) as caught:
        check_reports_to("gm0", "op0", managers)
    assert "gm0 → op0 → sv0 → su0 → gm0" in caught.value.field_errors["reports_to"]
    check_reports_to("gm0", "gm1", managers)  # a sideways move is fine
    check_reports_to("op0", "gm3", managers)


def test_a_loop_of_three_is_refused_on_its_third_edge_and_names_are_used_when_given() -> None:
    managers: dict[str, str | None] = {"a": "b", "b": "c", "c": None}
    with pytest.raises(ReportingCycle) as caught:
        check_reports_to("c", "a", managers, names={"a": "E1 Ana", "b": "E2 Ben", "c": "E3 Cy"})
    assert caught.value.path == ["c", "a", "b", "c"]
    assert "E3 Cy → E1 Ana → E2 Ben → E3 Cy" in str(caught.value)


def test_reporting_to_oneself_is_refused_and_clearing_a_manager_never_is() -> None:
    with pytest.raises(ReportingCycle, match="cannot report to themselves"):
        check_reports_to("a", "a", {"a": None})
    check_reports_to("a", None, {"a": "a"})


def test_two_offices_each_making_one_half_the_first_stands_the_second_is_the_loop() -> None:
    base: dict[str, str | None] = {"a": None, "b": None}
    # Each office alone sees no loop: both halves pass their own desktop check.
    check_reports_to("a", "b", base)
    check_reports_to("b", "a", base)
    # At the hub the first is booked; the second, judged against it, is the loop.
    booked = {**base, "a": "b"}
    assert cycle_path("b", "a", booked) == ["b", "a", "b"]


def test_an_older_loop_above_is_not_blamed_on_an_edit_below_it() -> None:
    managers: dict[str, str | None] = {"x": "y", "y": "x", "z": None}
    assert cycle_path("z", "x", managers) is None


def test_people_whose_manager_is_missing_or_left_are_under_no_manager_with_their_team() -> None:
    people = {
        "boss": _p(),
        "gone": _p("boss", status="terminated"),
        "ended": _p("boss", end_date="2026-11-30"),
        "leaving": _p("boss", end_date="2026-12-31"),  # still here today
        "ana": _p("gone"),
        "ben": _p("ghost"),
        "cy": _p("ended"),
        "dee": _p("ana"),
    }
    tree = build(people, TODAY)
    assert [r.employee_id for r in tree.roots] == ["boss"]
    assert [c.employee_id for c in tree.roots[0].children] == ["leaving"]
    reasons = {n.employee_id: n.reason for n in tree.no_manager}
    assert reasons == {"ana": "manager gone has left", "ben": "manager ghost is not in the register",
                       "cy": "manager ended has left"}
    ana = next(n for n in tree.no_manager if n.employee_id == "ana")
    assert [c.employee_id for c in ana.children] == ["dee"]  # her team comes with her
    assert tree.count() == 6  # the two who left are not in the tree


def test_a_loop_already_in_the_data_is_listed_not_followed_round() -> None:
    people = {"a": _p("b"), "b": _p("c"), "c": _p("a"), "d": _p("a")}
    tree = build(people, TODAY)
    assert tree.roots == []
    reasons = {n.employee_id: n.reason for n in tree.no_manager}
    assert set(reasons) == {"a", "b", "c"} and all("in a reporting loop" in r for r in reasons.values() if r)
    a = next(n for n in tree.no_manager if n.employee_id == "a")
    assert [c.employee_id for c in a.children] == ["d"]
    assert tree.count() == 4


def test_a_5000_deep_chain_builds_without_recursion() -> None:
    people = {"p0": _p()} | {f"p{i}": _p(f"p{i - 1}") for i in range(1, 5000)}
    tree = build(people, TODAY)
    assert tree.count() == 5000
    assert cycle_path("p0", "p4999", managers_of(people)) is not None
