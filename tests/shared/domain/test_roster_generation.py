"""Roster generation from a rotation (hand-computed across Santiago's DST changes), edits kept on regeneration,
two desktops converging on the same rows, and coverage gaps."""

from __future__ import annotations

from datetime import date, time

import pytest

from shared.domain.roster_generation import (
    check_weeks,
    gap_message,
    gaps,
    merged_rows,
    plan_edit,
    plan_generation,
    rostered_hours,
)
from shared.domain.rosters import parse_blocks
from shared.domain.shifts import ShiftPattern
from shared.errors import ValidationError

SANTIAGO = ShiftPattern("America/Santiago", time(6), time(18))
# 14/7: 7 days, 7 nights, travel, 5 off, travel = 21 days.
FOURTEEN_SEVEN = parse_blocks("14/7", [{"kind": "day", "days": 7}, {"kind": "night", "days": 7},
                                       {"kind": "travel", "days": 1}, {"kind": "off", "days": 5},
                                       {"kind": "travel", "days": 1}])
ANCHOR = date(2026, 8, 24)  # day 1: days 24-30 Aug, nights 31 Aug - 6 Sep, travel 7, off 8-12, travel 13 Sep


def test_a_14_7_generated_across_santiagos_spring_forward_has_an_11_hour_night() -> None:
    plan = plan_generation(FOURTEEN_SEVEN, ANCHOR, date(2026, 8, 31), 2, SANTIAGO, "A", ["e1"], {})
    kinds = {p["shift_date"]: p["kind"] for p in plan.creates.values()}
    assert (plan.start, plan.end, len(plan.creates)) == (date(2026, 8, 31), date(2026, 9, 13), 14)
    assert [kinds[f"2026-09-{d:02d}"] for d in range(5, 14)] == ["night", "night", "travel", "off", "off", "off",
                                                                "off", "off", "travel"]
    assert kinds["2026-08-31"] == "night"
    # Chile springs forward at 24:00 on Saturday 5 Sep 2026: the night from the 5th is 18:00 -> 06:00 = 11 h.
    assert rostered_hours(SANTIAGO, date(2026, 9, 5), "night") == 11.0
    assert rostered_hours(SANTIAGO, date(2026, 9, 6), "night") == 12.0
    assert rostered_hours(SANTIAGO, date(2026, 9, 8), "off") == 0.0
    # ... and falls back at 24:00 on Saturday 4 April 2026: that night is 13 h.
    assert rostered_hours(SANTIAGO, date(2026, 4, 4), "night") == 13.0
    assert plan.creates["e1:2026-09-05"] == {"employee_id": "e1", "crew_id": "A", "shift_date": "2026-09-05",
                                             "kind": "night", "source": "generated"}


def test_regenerating_keeps_hand_edits_and_updates_only_what_the_rotation_changed() -> None:
    first = plan_generation(FOURTEEN_SEVEN, ANCHOR, date(2026, 8, 24), 3, SANTIAGO, "A", ["e1", "e2"], {})
    assert first.writes == 42 and first.unchanged == 0
    rows = merged_rows({}, first)
    row_id, payload, is_create = plan_edit("e1", date(2026, 9, 1), "leave", "A", rows["e1:2026-09-01"])
    assert (row_id, payload, is_create) == ("e1:2026-09-01", {"kind": "leave", "source": "edited"}, False)
    rows[row_id].update(payload)
    # The same generation again writes nothing and leaves the edit alone.
    again = plan_generation(FOURTEEN_SEVEN, ANCHOR, date(2026, 8, 24), 3, SANTIAGO, "A", ["e1", "e2"], rows)
    assert (again.writes, again.kept_edits, again.unchanged) == (0, ("e1:2026-09-01",), 42 - 1)
    # The crew's anchor moves a week later: every row whose kind changes is updated, except the edited one.
    moved = plan_generation(FOURTEEN_SEVEN, date(2026, 8, 31), date(2026, 8, 24), 3, SANTIAGO, "A", ["e1", "e2"],
                            rows)
    assert "e1:2026-09-01" not in moved.updates and moved.kept_edits == ("e1:2026-09-01",)
    # 31 Aug was night 1 and is now day 1; 24 Aug (before the anchor) was day 1 and is the cycle's day 15, travel.
    assert moved.updates["e2:2026-08-31"] == {"kind": "day"} and moved.updates["e1:2026-08-24"] == {"kind": "travel"}
    assert all(set(changed) == {"kind"} for changed in moved.updates.values())
    assert not moved.creates


def test_two_desktops_generating_the_same_weeks_write_identical_rows() -> None:
    a = plan_generation(FOURTEEN_SEVEN, ANCHOR, date(2026, 9, 1), 4, SANTIAGO, "A", ["e2", "e1", "e1"], {})
    b = plan_generation(FOURTEEN_SEVEN, ANCHOR, date(2026, 9, 1), 4, SANTIAGO, "A", ["e1", "e2"], {})
    assert a.creates == b.creates and len(a.creates) == 2 * 28  # one row per person per date, never two
    hub = merged_rows(merged_rows({}, a), b)
    assert len(hub) == 56


def test_a_10_4_crew_pair_leaves_gaps_where_neither_is_on_and_an_edit_can_open_one() -> None:
    ten_four = parse_blocks("10/4", [{"kind": "day", "days": 5}, {"kind": "night", "days": 5},
                                     {"kind": "off", "days": 4}])
    start = date(2026, 9, 1)
    a = plan_generation(ten_four, start, start, 2, SANTIAGO, "A", ["a1"], {})
    b = plan_generation(ten_four, date(2026, 9, 6), start, 2, SANTIAGO, "B", ["b1"], {})
    rows = merged_rows(merged_rows({}, a), b)
    found = gaps(rows.values(), start, a.end)
    # A: days 1-5, nights 6-10, off 11-14. B (anchored the 6th): 1 Sep is its cycle day 10 (a night), 2-5 off,
    # days 6-10, nights 11-14. So days 1-5 are A's, nights 1 Sep only; nights 2-5 Sep nobody; 11-14 days nobody.
    assert found == [(date(2026, 9, d), "night") for d in (2, 3, 4, 5)] + \
        [(date(2026, 9, d), "day") for d in (11, 12, 13, 14)]
    assert gap_message(found) == ("roster gap: nobody is rostered on 2026-09-02 night, 2026-09-03 night, "
                                  "2026-09-04 night, 2026-09-05 night and 4 more")
    row_id, changed, _ = plan_edit("a1", date(2026, 9, 6), "off", "A", rows["a1:2026-09-06"])
    rows[row_id].update(changed)
    assert (date(2026, 9, 6), "night") in gaps(rows.values(), start, a.end)


def test_bad_generation_and_edit_input_is_refused_beside_the_field() -> None:
    for typed in ("0", "105", "two"):
        with pytest.raises(ValidationError) as caught:
            check_weeks(typed)
        assert "weeks" in caught.value.field_errors
    assert check_weeks(" 8 ") == 8
    with pytest.raises(ValidationError) as caught:
        plan_generation(FOURTEEN_SEVEN, ANCHOR, ANCHOR, 1, SANTIAGO, "A", [], {})
    assert "crew_id" in caught.value.field_errors
    with pytest.raises(ValidationError) as caught:
        plan_edit("e1", ANCHOR, "holiday", "A", None)
    assert "kind" in caught.value.field_errors
    with pytest.raises(ValidationError) as caught:
        plan_edit("e1", ANCHOR, "day", "A", {"kind": "day", "source": "edited"})
    assert "already rostered day" in caught.value.field_errors["kind"]
    assert plan_edit("e1", ANCHOR, "off", "A", None) == ("e1:2026-08-24", {
        "employee_id": "e1", "shift_date": "2026-08-24", "kind": "off", "source": "edited", "crew_id": "A"}, True)
