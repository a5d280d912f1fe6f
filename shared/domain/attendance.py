"""Attendance against the roster: worked time, lateness, leaving early, overtime and absence.

Rules:
- Worked time is clock-out minus clock-in as instants (a 13 h night clocked 18:00 to 06:00 is 13 h worked).
- Late = clock-in after the rostered start by more than the site's grace; the minutes counted are all of
  them from the start (grace forgives, it does not discount). Early leave is the mirror at the end.
- Overtime is time worked past the roster's *real* end only: on a 13 h fall-back night, clocking out at
  07:00 is 1 h overtime, and clocking out at 06:00 is none, although 13 h is more than 12. Arriving early
  is not overtime (it needs an approval the supervisor gives by editing the roster). On a date with no
  rostered shift, all worked time is overtime.
- A rostered work shift with no attendance row is an absence, unless leave covers the date.
- Clock-out before (or at) clock-in, a naive time, or more than 24 h clocked is a field error.
Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.domain.people import MAX_ATTENDANCE_HOURS
from shared.domain.rosters import RosterDay
from shared.domain.shifts import Shift
from shared.errors import ValidationError

_ZERO = timedelta(0)


def _utc(instant: datetime) -> datetime:
    # Two datetimes sharing one tzinfo compare and subtract by wall clock (a 13 h night would be 12 h, and the
    # repeated hour's two 01:30s would be equal): every comparison here is between instants in UTC.
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class AttendanceResult:
    worked: timedelta
    late: timedelta
    early_leave: timedelta
    overtime: timedelta

    @property
    def worked_hours(self) -> float:
        return self.worked.total_seconds() / 3600

    @property
    def overtime_hours(self) -> float:
        return self.overtime.total_seconds() / 3600


def check_clock(clock_in: datetime, clock_out: datetime | None) -> None:
    """ValidationError with a message next to the field a supervisor must fix."""
    if clock_in.tzinfo is None:
        raise ValidationError("clock-in has no time zone", {"clock_in": "must carry a time zone"})
    if clock_out is None:
        return
    if clock_out.tzinfo is None:
        raise ValidationError("clock-out has no time zone", {"clock_out": "must carry a time zone"})
    if _utc(clock_out) <= _utc(clock_in):
        msg = f"clock-out {clock_out.isoformat()} is not after clock-in {clock_in.isoformat()}"
        raise ValidationError(msg, {"clock_out": "must be after clock-in (check the date for a night shift)"})
    if _utc(clock_out) - _utc(clock_in) > timedelta(hours=MAX_ATTENDANCE_HOURS):
        msg = f"clock-out is more than {MAX_ATTENDANCE_HOURS} h after clock-in"
        raise ValidationError(msg, {"clock_out": f"more than {MAX_ATTENDANCE_HOURS} h after clock-in: "
                                                 "was a clock-out missed?"})


def evaluate(rostered: Shift | None, clock_in: datetime, clock_out: datetime,
             grace: timedelta = timedelta(minutes=5)) -> AttendanceResult:
    """One attendance row measured against the shift it was rostered for (None: not rostered that day)."""
    check_clock(clock_in, clock_out)
    clock_in, clock_out = _utc(clock_in), _utc(clock_out)
    worked = clock_out - clock_in
    if rostered is None:
        return AttendanceResult(worked, _ZERO, _ZERO, worked)
    starts, ends = _utc(rostered.starts), _utc(rostered.ends)
    late = clock_in - starts
    early = ends - clock_out
    overtime = clock_out - max(ends, clock_in)
    return AttendanceResult(
        worked=worked,
        late=late if late > grace else _ZERO,
        early_leave=early if early > grace else _ZERO,
        overtime=max(overtime, _ZERO),
    )


@dataclass(frozen=True)
class Clocked:
    """An attendance row reduced to what absence needs."""

    employee_id: str
    shift_date: date


def absences(employee_id: str, roster: Iterable[RosterDay], clocked: Iterable[Clocked],
             leave_days: Iterable[date] = ()) -> list[date]:
    """Rostered work dates with neither an attendance row nor leave."""
    present = {c.shift_date for c in clocked if c.employee_id == employee_id}
    on_leave = set(leave_days)
    return sorted(rd.day for rd in roster
                  if rd.shift is not None and rd.day not in present and rd.day not in on_leave)
