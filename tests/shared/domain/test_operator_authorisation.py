"""Operators and the machines they may run (shared/domain/operator_authorisation.py, D81)."""

from __future__ import annotations

from shared.domain.operator_authorisation import FLAG, check_classes, flagged, problem, with_flag

ANA = {"name": "Ana Rojas", "status": "active", "equipment_classes": ["truck", "loader"]}


def test_an_operator_listing_the_class_may_run_it() -> None:
    assert problem("E100", ANA, "truck") is None
    assert problem("E100", ANA, "loader") is None


def test_an_operator_not_listing_the_class_is_warned_with_what_they_may_run() -> None:
    said = problem("E100", ANA, "excavator")
    assert said is not None and "Ana Rojas is not authorised to run an excavator" in said
    assert "truck, loader" in said
    nothing = problem("E101", {"name": "Ben", "status": "active"}, "truck")
    assert nothing is not None and "lists nothing" in nothing


def test_a_suspended_or_departed_operator_is_not_authorised_even_for_their_classes() -> None:
    assert "is suspended" in (problem("E100", {**ANA, "status": "suspended"}, "truck") or "")
    assert "has left" in (problem("E100", {**ANA, "status": "terminated"}, "truck") or "")


def test_an_operator_with_no_employee_record_cannot_be_confirmed() -> None:
    assert "has no employee record" in (problem("Zed", None, "truck") or "")


def test_nothing_is_said_without_an_operator_or_a_known_machine_class() -> None:
    assert problem("", ANA, "excavator") is None
    assert problem(None, ANA, "excavator") is None
    assert problem("E100", ANA, None) is None


def test_classes_must_be_known_and_listed_once() -> None:
    assert check_classes(["truck", "dozer"]) == {}
    assert "is not an equipment class" in check_classes(["truck", "spaceship"])["equipment_classes"]
    assert "listed twice" in check_classes(["truck", "truck"])["equipment_classes"]


def test_the_flag_is_added_once_and_other_flags_kept() -> None:
    once = with_flag({"operator": "E100", "flags": ["other"]})
    assert once["flags"] == ["other", FLAG] and flagged(once)
    assert with_flag(once)["flags"] == ["other", FLAG]
    assert not flagged({"operator": "E100"})
