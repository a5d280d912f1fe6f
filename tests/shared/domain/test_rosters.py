"""Rosters and R&R rotation calendars, with hand-computed fixtures across daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.rosters import (
    assignment_id,
    assignment_payloads,
    coverage_gaps,
    parse_blocks,
    rostered_shift,
    rotation_calendar,
)
from shared.domain.shifts import ShiftPattern
from shared.errors import ValidationError

SYDNEY = ShiftPattern("Australia/Sydney")
SANTIAGO = ShiftPattern("America/Santiago")
# 14/7: 7 days, 7 nights, then 7 off of which the first and last are travel days (21-day cycle).
FOURTEEN_SEVEN = parse_blocks("14/7", [
    {"kind": "day", "days": 7}, {"kind": "night", "days": 7},
    {"kind": "travel", "days": 1}, {"kind": "off", "days": 5}, {"kind": "travel", "days": 1},
])
# 10/4: 5 days, 5 nights, travel, 2 off, travel (14-day cycle).
TEN_FOUR = parse_blocks("10/4", [
    {"kind": "day", "days": 5}, {"kind": "night", "days": 5},
    {"kind": "travel", "days": 1}, {"kind": "off", "days": 2}, {"kind": "travel", "days": 1},
])


def test_fourteen_seven_across_sydneys_april_fall_back_counts_a_13_hour_night() -> None:
    # Anchor Sun 2026-03-22 = cycle day 0. Days: 22–28 Mar; nights: 29 Mar–4 Apr; travel 5 Apr; off 6–10 Apr;
    # travel 11 Apr; day 1 again on 12 Apr. Sydney leaves daylight time at 03:00 on Sun 5 Apr, so the night
    # starting Sat 4 Apr 18:00 (+11:00) ends 06:00 (+10:00): 13 real hours.
    cal = rotation_calendar(FOURTEEN_SEVEN, date(2026, 3, 22), date(2026, 3, 22), date(2026, 4, 12), SYDNEY)
    assert len(cal) == 22
    kinds = [rd.kind for rd in cal]
    assert kinds == ["day"] * 7 + ["night"] * 7 + ["travel"] + ["off"] * 5 + ["travel"] + ["day"]
    by_day = {rd.day: rd for rd in cal}
    assert by_day[date(2026, 4, 4)].hours == 13.0
    assert by_day[date(2026, 4, 3)].hours == 12.0
    assert by_day[date(2026, 4, 5)].shift is None and by_day[date(2026, 4, 5)].hours == 0.0
    # Nights: 6 × 12 + 13 = 85 h; days: 7 × 12 = 84 h; the first day of the next cycle: 12 h. Total 181 h.
    assert sum(rd.hours for rd in cal if rd.kind == "night") == 85.0
    assert sum(rd.hours for rd in cal if rd.kind == "day") == 84.0 + 12.0
    night = by_day[date(2026, 4, 4)].shift
    assert night is not None
    assert night.starts.utcoffset() == timedelta(hours=11) and night.ends.utcoffset() == timedelta(hours=10)


def test_ten_four_across_sydneys_october_spring_forward_counts_an_11_hour_night() -> None:
    # Anchor Thu 2026-09-24: days 24–28 Sep, nights 29 Sep–3 Oct, travel 4 Oct, off 5–6 Oct, travel 7 Oct,
    # day 1 again 8 Oct. Clocks go 02:00 → 03:00 on Sun 4 Oct: the night of Sat 3 Oct is 11 h.
    # Nights: 4 × 12 + 11 = 59 h.
    cal = rotation_calendar(TEN_FOUR, date(2026, 9, 24), date(2026, 9, 24), date(2026, 10, 8), SYDNEY)
    by_day = {rd.day: rd for rd in cal}
    assert by_day[date(2026, 10, 3)].kind == "night" and by_day[date(2026, 10, 3)].hours == 11.0
    assert sum(rd.hours for rd in cal if rd.kind == "night") == 59.0
    assert [by_day[date(2026, 10, d)].kind for d in (4, 5, 6, 7, 8)] == ["travel", "off", "off", "travel", "day"]


def test_santiago_nights_are_13_h_in_april_and_11_h_in_september() -> None:
    # Chile changes at midnight: 5 Apr 2026 00:00 → 4 Apr 23:00 (night of 4 Apr is 13 h);
    # 6 Sep 2026 00:00 → 01:00 (night of 5 Sep is 11 h).
    assert rotation_calendar(FOURTEEN_SEVEN, date(2026, 3, 28), date(2026, 4, 4), date(2026, 4, 4),
                             SANTIAGO)[0].hours == 13.0
    assert rotation_calendar(FOURTEEN_SEVEN, date(2026, 8, 29), date(2026, 9, 5), date(2026, 9, 5),
                             SANTIAGO)[0].hours == 11.0


def test_a_calendar_generated_before_the_anchor_runs_the_cycle_backwards() -> None:
    # 21 Mar is cycle day −1 ≡ 20: the last travel day; 1 Mar is day −21 ≡ 0: a day shift.
    cal = rotation_calendar(FOURTEEN_SEVEN, date(2026, 3, 22), date(2026, 3, 1), date(2026, 3, 21), SYDNEY)
    assert cal[-1].kind == "travel" and cal[0].kind == "day"


def test_rostered_shift_is_in_the_sites_zone() -> None:
    s = rostered_shift(SYDNEY, date(2026, 11, 24), "day")
    assert s.starts == datetime(2026, 11, 24, 6, tzinfo=ZoneInfo("Australia/Sydney"))
    assert s.ends == datetime(2026, 11, 24, 18, tzinfo=ZoneInfo("Australia/Sydney"))
    with pytest.raises(ValidationError):
        rostered_shift(SYDNEY, date(2026, 11, 24), "swing")


@pytest.mark.parametrize(
    ("blocks", "needle"),
    [
        ([], "at least one block"),
        ([{"kind": "swing", "days": 3}], "block 1: kind"),
        ([{"kind": "day", "days": 0}], "block 1: days"),
        ([{"kind": "day", "days": 7}, {"kind": "off", "days": 2.5}], "block 2: days"),
        ([{"kind": "off", "days": 7}], "day or night"),
        ([{"kind": "day", "days": 400}], "at most 366"),
        ("14/7", "at least one block"),
    ],
)
def test_bad_rotation_blocks_are_a_message_on_the_blocks_field(blocks: object, needle: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_blocks("bad", blocks)
    assert needle in err.value.field_errors["blocks"]


def test_calendar_range_errors_name_the_end_field() -> None:
    with pytest.raises(ValidationError) as err:
        rotation_calendar(TEN_FOUR, date(2026, 1, 1), date(2026, 2, 1), date(2026, 1, 31), SYDNEY)
    assert "end" in err.value.field_errors
    with pytest.raises(ValidationError):
        rotation_calendar(TEN_FOUR, date(2026, 1, 1), date(2026, 1, 1), date(2030, 1, 1), SYDNEY)


def test_assignments_are_one_row_per_person_per_date_so_regenerating_replaces() -> None:
    cal = rotation_calendar(TEN_FOUR, date(2026, 9, 24), date(2026, 9, 24), date(2026, 9, 30), SYDNEY)
    rows = assignment_payloads(["e2", "e1", "e1"], "crew-a", cal)
    assert len(rows) == 2 * 7
    assert rows[assignment_id("e1", date(2026, 9, 29))] == {
        "employee_id": "e1", "crew_id": "crew-a", "shift_date": "2026-09-29", "kind": "night", "source": "generated",
    }
    assert rows == assignment_payloads(["e1", "e2"], "crew-a", cal)


def test_coverage_gaps_list_the_shifts_no_crew_is_rostered_on() -> None:
    # 2-2-4: 2 days, 2 nights, 4 off (8-day cycle); four crews anchored 2 days apart cover every shift.
    # Without crew D (anchor +6): dates +6, +7 have no day crew and dates +0, +1 no night crew.
    rotation = parse_blocks("2-2-4", [{"kind": "day", "days": 2}, {"kind": "night", "days": 2},
                                      {"kind": "off", "days": 4}])
    d0 = date(2026, 11, 1)
    calendars = {c: rotation_calendar(rotation, d0 + timedelta(days=off), d0, d0 + timedelta(days=7), SYDNEY)
                 for c, off in (("A", 0), ("B", 2), ("C", 4), ("D", 6))}
    assert coverage_gaps(calendars, d0, d0 + timedelta(days=7)) == []
    del calendars["D"]
    assert coverage_gaps(calendars, d0, d0 + timedelta(days=7)) == [
        (date(2026, 11, 1), "night"), (date(2026, 11, 2), "night"),
        (date(2026, 11, 7), "day"), (date(2026, 11, 8), "day"),
    ]
