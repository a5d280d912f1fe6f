"""Leave accrual, carry-over and request checks, with the arithmetic written out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.leave import (
    LeaveRequest,
    LeaveType,
    accrued,
    balance,
    check_request,
    leave_dates,
    monthly_credits,
    request_days,
    year_end,
)
from shared.domain.rosters import parse_blocks, rotation_calendar
from shared.domain.shifts import ShiftPattern
from shared.errors import ValidationError

ANNUAL = LeaveType("AL", D("1.5"), carry_over_cap=D("5"))
JOINED = date(2026, 7, 16)


def req(rid: str, start: date, end: date, status: str = "requested", *, negative: bool = False,
        employee: str = "e1", leave_type: str = "AL") -> LeaveRequest:
    return LeaveRequest(rid, employee, leave_type, start, end, status, negative)


def test_accrual_over_a_year_for_a_mid_july_joiner_is_pro_rata_in_the_first_month() -> None:
    # Joined 16 Jul: employed 16 of July's 31 days → 1.5 × 16 / 31 = 0.7742 → 0.77.
    # Aug–Dec: 5 × 1.50 = 7.50. Year: 0.77 + 7.50 = 8.27. Nothing before July.
    credits = monthly_credits(ANNUAL, 2026, JOINED)
    assert credits[0] == (date(2026, 7, 31), D("0.77"))
    assert [c for _, c in credits[1:]] == [D("1.50")] * 5
    assert accrued(ANNUAL, 2026, JOINED, date(2026, 7, 30)) == 0  # July's credit lands on the 31st
    assert accrued(ANNUAL, 2026, JOINED, date(2026, 7, 31)) == D("0.77")
    assert accrued(ANNUAL, 2026, JOINED, date(2026, 10, 5)) == D("3.77")  # 0.77 + Aug 1.50 + Sep 1.50
    assert accrued(ANNUAL, 2026, JOINED, date(2026, 12, 31)) == D("8.27")


def test_a_full_year_accrues_twelve_months_and_a_leaver_stops_pro_rata() -> None:
    # Hired years ago: 12 × 1.5 = 18.00.
    assert accrued(ANNUAL, 2026, date(2019, 3, 1), date(2026, 12, 31)) == D("18.00")
    # Last day 10 Mar: Jan 1.50 + Feb 1.50 + Mar 1.5 × 10 / 31 = 0.4839 → 0.48; total 3.48.
    assert accrued(ANNUAL, 2026, date(2019, 3, 1), date(2026, 12, 31), end_date=date(2026, 3, 10)) == D("3.48")


def test_carry_over_is_capped_at_year_end_and_the_excess_is_forfeited() -> None:
    # The joiner closes 2026 with 8.27 accrued − 2 days taken = 6.27: 5.00 carries (the cap), 1.27 is lost.
    closing = balance(ANNUAL, 2026, JOINED, date(2026, 12, 31), D(0), [D(2)])
    assert closing == D("6.27")
    carry = year_end(ANNUAL, closing)
    assert (carry.carried, carry.forfeited) == (D("5"), D("1.27"))
    # 2027 balance on 1 Mar: 5.00 carried + Jan 1.50 + Feb 1.50 = 8.00.
    assert balance(ANNUAL, 2027, JOINED, date(2027, 3, 1), carry.carried, []) == D("8.00")


def test_carry_over_below_the_cap_negative_or_uncapped_carries_in_full() -> None:
    assert (year_end(ANNUAL, D("3.25")).carried, year_end(ANNUAL, D("3.25")).forfeited) == (D("3.25"), D(0))
    assert year_end(ANNUAL, D("-2")).carried == D("-2")  # owed by the person: carried, never forgiven by the cap
    assert year_end(LeaveType("LSL", D("0.5")), D("40")).carried == D("40")


def test_overlapping_leave_is_refused_with_the_other_requests_dates() -> None:
    booked = req("lr-1", date(2026, 11, 2), date(2026, 11, 6), "approved")
    with pytest.raises(ValidationError) as err:
        check_request(req("lr-2", date(2026, 11, 6), date(2026, 11, 8)), ANNUAL, date(2019, 1, 1), D(0), [booked])
    msg = err.value.field_errors["start_date"]
    assert "lr-1" in msg and "2026-11-02 to 2026-11-06" in msg
    # A cancelled request, another person's leave, or the request itself (an edit) do not overlap.
    others = [req("lr-1", date(2026, 11, 2), date(2026, 11, 6), "cancelled"),
              req("lr-9", date(2026, 11, 2), date(2026, 11, 6), "approved", employee="e2"),
              req("lr-2", date(2026, 11, 6), date(2026, 11, 8), "approved")]
    assert check_request(req("lr-2", date(2026, 11, 6), date(2026, 11, 8)), ANNUAL, date(2019, 1, 1), D(0),
                         others) == D(3)


def test_a_request_over_the_balance_is_refused_unless_approved_below_zero() -> None:
    # On 5 Oct the joiner has 0.77 + 1.50 + 1.50 = 3.77; 5 Oct–9 Oct is 5 days.
    five = req("lr-1", date(2026, 10, 5), date(2026, 10, 9))
    with pytest.raises(ValidationError) as err:
        check_request(five, ANNUAL, JOINED, D(0), [])
    assert "5 days requested, 3.77 available on 2026-10-05" in str(err.value)
    assert "only 3.77 days available" in err.value.field_errors["end_date"]
    assert check_request(req("lr-1", date(2026, 10, 5), date(2026, 10, 9), negative=True), ANNUAL, JOINED, D(0),
                         []) == D(5)


def test_other_live_requests_of_the_year_are_taken_off_the_balance() -> None:
    # 3 days 5–7 Oct: 3 ≤ 3.77, accepted.
    first = req("lr-1", date(2026, 10, 5), date(2026, 10, 7), "approved")
    assert check_request(first, ANNUAL, JOINED, D(0), []) == D(3)
    # 2 days 9–10 Nov: on 9 Nov 3.77 + Oct 1.50 = 5.27, less the 3 booked = 2.27 ≥ 2, accepted.
    second = req("lr-2", date(2026, 11, 9), date(2026, 11, 10), "requested")
    assert check_request(second, ANNUAL, JOINED, D(0), [first]) == D(2)
    # 1 day on 1 Dec: 5.27 (Nov's credit lands on 30 Nov: + 1.50 = 6.77) − 3 − 2 = 1.77 ≥ 1, accepted;
    # 2 days 1–2 Dec: 2 > 1.77, refused.
    assert check_request(req("lr-3", date(2026, 12, 1), date(2026, 12, 1)), ANNUAL, JOINED, D(0),
                         [first, second]) == D(1)
    with pytest.raises(ValidationError):
        check_request(req("lr-3", date(2026, 12, 1), date(2026, 12, 2)), ANNUAL, JOINED, D(0), [first, second])
    # A rejected request frees its days: without lr-2, 6.77 − 3 = 3.77 ≥ 2.
    rejected = req("lr-2", date(2026, 11, 9), date(2026, 11, 10), "rejected")
    assert check_request(req("lr-3", date(2026, 12, 1), date(2026, 12, 2)), ANNUAL, JOINED, D(0),
                         [first, rejected]) == D(2)


def test_leave_priced_by_the_roster_costs_only_rostered_work_days() -> None:
    # 14/7 anchored 2 Nov: work 2–15 Nov, R&R 16–22 Nov. Leave 13–20 Nov covers 13, 14, 15 Nov of work: 3 days.
    rotation = parse_blocks("14/7", [{"kind": "day", "days": 7}, {"kind": "night", "days": 7},
                                     {"kind": "off", "days": 7}])
    cal = rotation_calendar(rotation, date(2026, 11, 2), date(2026, 11, 2), date(2026, 11, 30),
                            ShiftPattern("Australia/Perth"))
    work = [rd.day for rd in cal if rd.shift is not None]
    assert request_days(date(2026, 11, 13), date(2026, 11, 20), work) == D(3)
    assert request_days(date(2026, 11, 13), date(2026, 11, 20)) == D(8)
    assert check_request(req("lr-1", date(2026, 11, 13), date(2026, 11, 20)), ANNUAL, date(2019, 1, 1), D(0), [],
                         work) == D(3)


@pytest.mark.parametrize(
    ("start", "end", "field", "needle"),
    [
        (date(2026, 12, 28), date(2027, 1, 4), "end_date", "split it"),
        (date(2026, 11, 9), date(2026, 11, 2), "end_date", "on or after"),
        (date(2026, 7, 1), date(2026, 7, 2), "start_date", "2026-07-16"),
    ],
)
def test_impossible_leave_dates_are_a_message_on_the_field(start: date, end: date, field: str, needle: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_request(req("lr-1", start, end, negative=True), ANNUAL, JOINED, D(0), [])
    assert needle in err.value.field_errors[field]


def test_leave_dates_are_the_approved_days_of_one_person() -> None:
    rs = [req("a", date(2026, 11, 30), date(2026, 12, 2), "approved"), req("b", date(2026, 12, 5), date(2026, 12, 5)),
          req("c", date(2026, 12, 9), date(2026, 12, 9), "approved", employee="e2")]
    assert leave_dates(rs, "e1") == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]


def test_a_request_checked_against_another_leave_types_balance_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        check_request(req("lr-1", date(2026, 11, 2), date(2026, 11, 2), leave_type="SL"), ANNUAL, JOINED, D(0), [])
    assert "AL" in err.value.field_errors["leave_type"]
