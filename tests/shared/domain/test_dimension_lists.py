"""The dimension-list rules the desktop screen and the CLI import share (shared/domain/dimension_lists.py, D78)."""

from __future__ import annotations

from shared.domain import dimension_lists as dl

VALUES = dl.listed([
    {"dimension": "cost_centre", "value": "MAINT", "name": "Maintenance"},
    {"dimension": "cost_centre", "value": "OLD", "active": False},
    {"dimension": "project", "value": "PIT-3"},
    {"dimension": "equipment", "value": "EX01"},  # listed by an earlier version
])


def test_adding_refuses_duplicates_in_any_case_and_unmanaged_dimensions_and_allows_a_reactivation() -> None:
    assert dl.add_problems(VALUES, "cost_centre", "WASH") == {}
    assert dl.add_problems(VALUES, "cost_centre", "OLD") == {}  # deactivated: re-adding reactivates it
    assert dl.add_problems(VALUES, "project", "MAINT") == {}  # the same word in another list is another value
    assert "listed already (Maintenance)" in dl.add_problems(VALUES, "cost_centre", " MAINT ")["value"]
    assert "differs only in case" in dl.add_problems(VALUES, "cost_centre", "Maint")["value"]
    assert "equipment register" in dl.add_problems(VALUES, "equipment", "EX02")["dimension"]
    assert "not a dimension" in dl.add_problems(VALUES, "shift", "day")["dimension"]
    assert dl.add_problems(VALUES, "project", "  ") == {"value": "is required"}


def test_deactivating_keeps_a_list_from_going_open_and_unsent_uses_safe() -> None:
    assert "last active project" in (dl.deactivate_problem(VALUES, "project:PIT-3") or "")
    assert "last active cost centre" in (dl.deactivate_problem(VALUES, "cost_centre:MAINT") or "")  # OLD is off
    assert dl.deactivate_problem(VALUES, "equipment:EX01") is None  # an open register dimension may go open
    assert "inactive already" in (dl.deactivate_problem(VALUES, "cost_centre:OLD") or "")
    more = dl.listed([*({"dimension": v.dimension, "value": v.value} for v in VALUES.values()),
                      {"dimension": "project", "value": "PIT-4"}])
    assert dl.deactivate_problem(more, "project:PIT-3") is None
    uses = dl.pending_uses([{"cost_centre": "PIT-3"}, {"project": "PIT-3"}, {"project": "PIT-4"}], "project", "PIT-3")
    assert uses == 1 and "1 change(s) not sent" in (dl.deactivate_problem(more, "project:PIT-3", uses) or "")


def test_an_import_is_checked_whole_naming_each_line() -> None:
    rows = [(2, {"dimension": "cost_centre", "value": "WASH", "active": True}),
            (3, {"dimension": "cost_centre", "value": "wash", "active": True}),
            (4, {"dimension": "cost_centre", "value": "maint", "active": True}),
            (5, {"dimension": "site", "value": "north", "active": True})]
    assert dl.check_import(VALUES, rows) == [
        "line 3: cost_centre wash appears already on line 2",
        "line 4: cost_centre MAINT is listed already; maint differs only in case",
        "line 5: site values come from the site register and are not listed here (the dimension stays open, D78); "
        "finance lists cost_centre and project"]
    # Replacing the last project in the same file is fine; only deactivating it is refused.
    assert dl.check_import(VALUES, [(2, {"dimension": "project", "value": "PIT-3", "active": False}),
                                    (3, {"dimension": "project", "value": "PIT-4", "active": True})]) == []
    assert dl.check_import(VALUES, [(2, {"dimension": "project", "value": "PIT-3", "active": False})]) == [
        "line 2: this deactivates the last active project: the hub would accept any project; keep or add one"]
    assert dl.check_import({}, [(2, {"dimension": "project", "value": "PIT-9", "active": False})]) == []
