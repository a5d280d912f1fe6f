"""Leave: monthly accrual per leave type, pro-rata for joiners and leavers, the year-end carry-over cap,
and the checks a leave request must pass.

Rules (issue 14):
- The leave year is the calendar year. Each month credits `days_per_month` on its last day; a month the
  person was employed for only part of credits `days_per_month * employed days / days in the month`.
  Each credit is rounded to 0.01 day (half up) on its own, so a balance is the sum of printed credits.
- At year end the balance carries over up to the leave type's cap; the excess is forfeited. A negative
  balance (approved below zero) carries in full: a cap limits what is owed to the person, not by them.
- A request's days are its calendar dates, or only the rostered work dates when a roster is given (leave
  over an R&R break costs nothing). A request may not cross 31 December: split it in two.
- A request is refused when it overlaps another live (requested or approved) request of the same person,
  or when it takes more than is available: the balance on its first day less every other live request of
  that leave year. It may go below zero only when an approver marked it `approved_negative`.
Pure: no clock, no I/O."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from shared.errors import ValidationError

CENT = Decimal("0.01")
LIVE_STATUSES = frozenset({"requested", "approved"})


@dataclass(frozen=True)
class LeaveType:
    code: str
    days_per_month: Decimal
    carry_over_cap: Decimal | None = None  # None: everything carries over


@dataclass(frozen=True)
class LeaveRequest:
    id: str
    employee_id: str
    leave_type: str
    start: date
    end: date  # inclusive
    status: str = "requested"
    approved_negative: bool = False


@dataclass(frozen=True)
class CarryOver:
    carried: Decimal
    forfeited: Decimal


def _days(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def monthly_credits(rule: LeaveType, year: int, hire_date: date,
                    end_date: date | None = None) -> list[tuple[date, Decimal]]:
    """(last day of the month, days credited) for each month of `year` the person was employed in."""
    credits: list[tuple[date, Decimal]] = []
    for month in range(1, 13):
        length = calendar.monthrange(year, month)[1]
        first, last = date(year, month, 1), date(year, month, length)
        employed_from = max(first, hire_date)
        employed_to = min(last, end_date) if end_date is not None else last
        if employed_to < employed_from:
            continue
        employed = (employed_to - employed_from).days + 1
        credits.append((last, _days(rule.days_per_month * employed / length)))
    return credits


def accrued(rule: LeaveType, year: int, hire_date: date, as_of: date, end_date: date | None = None) -> Decimal:
    """Days credited in `year` up to and including `as_of` (a month's credit lands on its last day)."""
    return sum((days for when, days in monthly_credits(rule, year, hire_date, end_date) if when <= as_of),
               Decimal(0))


def year_end(rule: LeaveType, closing_balance: Decimal) -> CarryOver:
    """What of a 31 December balance carries into the next year."""
    if rule.carry_over_cap is None or closing_balance <= rule.carry_over_cap:
        return CarryOver(closing_balance, Decimal(0))
    return CarryOver(rule.carry_over_cap, closing_balance - rule.carry_over_cap)


def request_days(start: date, end: date, rostered_work_days: Iterable[date] | None = None) -> Decimal:
    """Days a request costs: calendar dates, or only rostered work dates when a roster is given."""
    if end < start:
        raise ValidationError("the leave ends before it starts", {"end_date": "must be on or after the first day"})
    if rostered_work_days is None:
        return Decimal((end - start).days + 1)
    return Decimal(sum(1 for d in set(rostered_work_days) if start <= d <= end))


def balance(rule: LeaveType, year: int, hire_date: date, as_of: date, carried_in: Decimal,
            taken: Iterable[Decimal], end_date: date | None = None) -> Decimal:
    """Carried in + accrued to `as_of` − days of the given requests."""
    return carried_in + accrued(rule, year, hire_date, as_of, end_date) - sum(taken, Decimal(0))


def check_request(request: LeaveRequest, rule: LeaveType, hire_date: date, carried_in: Decimal,
                  others: Iterable[LeaveRequest], rostered_work_days: Iterable[date] | None = None,
                  end_date: date | None = None) -> Decimal:
    """The days `request` costs, or ValidationError saying which field to change and why.

    `others` are the person's other requests (any type, any status: only live ones count); `carried_in` is
    this leave type's balance carried into the request's year. `rostered_work_days` (if given) prices every
    request, this one and the others, by the roster."""
    if request.leave_type != rule.code:
        raise ValidationError(f"request {request.id} is {request.leave_type} leave, checked against {rule.code}",
                              {"leave_type": f"must be {rule.code} for this balance"})
    if request.end < request.start:
        raise ValidationError("the leave ends before it starts", {"end_date": "must be on or after the first day"})
    if request.start.year != request.end.year:
        raise ValidationError(f"leave from {request.start} to {request.end} crosses the year end",
                              {"end_date": f"split it: one request to {request.start.year}-12-31, one from "
                                           f"{request.end.year}-01-01"})
    if request.start < hire_date:
        raise ValidationError(f"leave starts before the hire date {hire_date}",
                              {"start_date": f"must be on or after {hire_date}"})
    work_days = None if rostered_work_days is None else frozenset(rostered_work_days)
    live = [o for o in others if o.id != request.id and o.employee_id == request.employee_id
            and o.status in LIVE_STATUSES]
    for other in sorted(live, key=lambda o: (o.start, o.id)):
        if other.start <= request.end and request.start <= other.end:
            msg = (f"overlaps leave {other.id} ({other.leave_type}, {other.start} to {other.end}, {other.status})")
            raise ValidationError(msg, {"start_date": msg})
    cost = request_days(request.start, request.end, work_days)
    same_year = [request_days(o.start, o.end, work_days) for o in live
                 if o.leave_type == request.leave_type and o.start.year == request.start.year]
    available = balance(rule, request.start.year, hire_date, request.start, carried_in, same_year, end_date)
    if cost > available and not request.approved_negative:
        msg = (f"{cost} days requested, {max(available, Decimal(0))} available on {request.start}"
               f" ({available - cost} after it)")
        raise ValidationError(msg, {"end_date": f"only {max(available, Decimal(0))} days available: shorten it, "
                                                "or an approver marks it approved below zero"})
    return cost


def leave_dates(requests: Iterable[LeaveRequest], employee_id: str) -> list[date]:
    """Dates covered by a person's approved leave (for absence and payroll)."""
    days: set[date] = set()
    for r in requests:
        if r.employee_id != employee_id or r.status != "approved":
            continue
        d = r.start
        while d <= r.end:
            days.add(d)
            d += timedelta(days=1)
    return sorted(days)
