"""Attendance against the roster: lateness, early leave, overtime past the roster's real end, absence,
and clock errors a supervisor can fix."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.attendance import Clocked, absences, check_clock, evaluate
from shared.domain.rosters import parse_blocks, rostered_shift, rotation_calendar
from shared.domain.shifts import ShiftPattern
from shared.errors import ValidationError

SYD = ZoneInfo("Australia/Sydney")
PATTERN = ShiftPattern("Australia/Sydney")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SYD)


def test_overtime_on_a_13_hour_night_is_only_the_time_past_the_rosters_real_end() -> None:
    # Night of Sat 2026-04-04: 18:00 (+11:00 = 07:00Z) to Sun 06:00 (+10:00 = 20:00Z): 13 real hours.
    night = rostered_shift(PATTERN, date(2026, 4, 4), "night")
    # Clocked 18:00 → 07:00 local = 07:00Z → 21:00Z = 14 h worked; overtime = 07:00 − 06:00 = 1 h
    # (a "12-hour shift" count would say 2 h).
    r = evaluate(night, at(2026, 4, 4, 18), at(2026, 4, 5, 7))
    assert (r.worked, r.overtime, r.late, r.early_leave) == (14 * H, 1 * H, 0 * H, 0 * H)
    # Clocked 18:00 → 06:00: 13 h worked, all of it rostered: no overtime although 13 > 12.
    r = evaluate(night, at(2026, 4, 4, 18), at(2026, 4, 5, 6))
    assert (r.worked_hours, r.overtime_hours) == (13.0, 0.0)


def test_an_11_hour_spring_forward_night_worked_in_full_is_neither_short_nor_overtime() -> None:
    # Night of Sat 2026-10-03: 18:00 (+10:00) to Sun 06:00 (+11:00): 11 real hours.
    night = rostered_shift(PATTERN, date(2026, 10, 3), "night")
    r = evaluate(night, at(2026, 10, 3, 18), at(2026, 10, 4, 6))
    assert (r.worked_hours, r.overtime, r.early_leave) == (11.0, 0 * H, 0 * H)


def test_lateness_and_early_leave_count_from_the_roster_once_past_the_grace() -> None:
    day = rostered_shift(PATTERN, date(2026, 11, 24), "day")  # 06:00–18:00
    # 06:04 is within the 5-minute grace: not late. 06:20 is late by 20 minutes (all of them).
    assert evaluate(day, at(2026, 11, 24, 6, 4), at(2026, 11, 24, 18)).late == 0 * M
    r = evaluate(day, at(2026, 11, 24, 6, 20), at(2026, 11, 24, 17, 30))
    # Worked 06:20 → 17:30 = 11 h 10 min; left 30 min early; no overtime.
    assert (r.late, r.early_leave, r.overtime, r.worked) == (20 * M, 30 * M, 0 * M, 11 * H + 10 * M)
    # Early arrival 05:30 is not overtime; staying to 18:45 is 45 minutes.
    r = evaluate(day, at(2026, 11, 24, 5, 30), at(2026, 11, 24, 18, 45))
    assert (r.overtime, r.late) == (45 * M, 0 * M)


def test_work_on_a_date_with_no_rostered_shift_is_all_overtime() -> None:
    r = evaluate(None, at(2026, 11, 24, 6), at(2026, 11, 24, 10))
    assert r.overtime == r.worked == 4 * H


@pytest.mark.parametrize(
    ("clock_in", "clock_out", "field"),
    [
        (at(2026, 11, 24, 18), at(2026, 11, 24, 6), "clock_out"),  # night clock-out typed on the start date
        (at(2026, 11, 24, 6), at(2026, 11, 24, 6), "clock_out"),
        (at(2026, 11, 24, 6), at(2026, 11, 25, 7), "clock_out"),  # 25 h: a missed clock-out
        (datetime(2026, 11, 24, 6), at(2026, 11, 24, 18), "clock_in"),
        (at(2026, 11, 24, 6), datetime(2026, 11, 24, 18), "clock_out"),
    ],
)
def test_impossible_clock_times_are_a_message_on_the_field_to_fix(clock_in: datetime, clock_out: datetime,
                                                                  field: str) -> None:
    with pytest.raises(ValidationError) as err:
        evaluate(rostered_shift(PATTERN, date(2026, 11, 24), "day"), clock_in, clock_out)
    assert set(err.value.field_errors) == {field}


def test_clock_out_before_clock_in_says_to_check_the_date() -> None:
    with pytest.raises(ValidationError) as err:
        check_clock(at(2026, 11, 24, 18), at(2026, 11, 24, 6))
    assert "check the date" in err.value.field_errors["clock_out"]
    check_clock(at(2026, 11, 24, 18), None)  # still on shift: fine


def test_absences_are_rostered_work_dates_without_attendance_or_leave() -> None:
    rotation = parse_blocks("4-3", [{"kind": "day", "days": 4}, {"kind": "off", "days": 3}])
    roster = rotation_calendar(rotation, date(2026, 11, 2), date(2026, 11, 2), date(2026, 11, 8), PATTERN)
    # Work 2–5 Nov; off 6–8. Clocked 2 Nov (and, for someone else, 3 Nov); leave 4 Nov → absent 3 and 5 Nov.
    clocked = [Clocked("e1", date(2026, 11, 2)), Clocked("e2", date(2026, 11, 3)), Clocked("e1", date(2026, 11, 7))]
    assert absences("e1", roster, clocked, [date(2026, 11, 4)]) == [date(2026, 11, 3), date(2026, 11, 5)]


def test_the_repeated_hour_of_a_fall_back_night_is_told_apart_by_fold() -> None:
    # Sydney repeats 02:00–03:00 on 2026-04-05. 02:30 (first, +11:00) → 02:30 (second, +10:00) is 1 h later;
    # comparing wall clocks would call it "clock-out not after clock-in".
    first = datetime(2026, 4, 5, 2, 30, tzinfo=SYD, fold=0)
    second = datetime(2026, 4, 5, 2, 30, tzinfo=SYD, fold=1)
    check_clock(first, second)
    assert evaluate(None, first, second).worked == 1 * H
    with pytest.raises(ValidationError):
        check_clock(second, first)
