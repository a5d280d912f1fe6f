"""Attendance rules across rows (issue 14): one person cannot be clocked on two overlapping intervals, and a
person still clocked in cannot clock in again elsewhere. Compared as instants (`attendance` explains why).
Pure: the caller passes the person's other rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.domain.people import MAX_ATTENDANCE_HOURS
from shared.errors import ValidationError


@dataclass(frozen=True)
class Clock:
    row_id: str
    label: str  # how a person names the row: "2026-04-04 day"
    clock_in: datetime
    clock_out: datetime | None


class ClockOverlap(ValidationError):
    """The row overlaps another row of the same person (`other` names it)."""

    def __init__(self, message: str, field: str, other: Clock) -> None:
        super().__init__(message, {field: message})
        self.other = other


def check_overlap(row: Clock, others: Iterable[Clock]) -> None:
    """ValidationError beside `clock_in` (or `clock_out` when the clock-out runs into the next row) when `row`
    overlaps another row of the same person; an open row counts from its clock-in for up to a day."""
    start = row.clock_in.astimezone(UTC)
    end = row.clock_out.astimezone(UTC) if row.clock_out else start
    for other in others:
        if other.row_id == row.row_id:
            continue
        o_start = other.clock_in.astimezone(UTC)
        if other.clock_out is None:
            if o_start <= start < o_start + timedelta(hours=MAX_ATTENDANCE_HOURS):
                msg = f"still clocked in on {other.label} since {other.clock_in:%Y-%m-%d %H:%M}: clock out there first"
                raise ClockOverlap(msg, "clock_in", other)
            if start <= o_start < end:
                msg = f"overlaps {other.label}, clocked in at {other.clock_in:%Y-%m-%d %H:%M}"
                raise ClockOverlap(msg, "clock_out", other)
            continue
        o_end = other.clock_out.astimezone(UTC)
        if start < o_end and o_start < max(end, start + timedelta(microseconds=1)):
            msg = (f"overlaps {other.label}, clocked {other.clock_in:%Y-%m-%d %H:%M} to "
                   f"{other.clock_out:%Y-%m-%d %H:%M}")
            field = "clock_in" if o_start <= start < o_end else "clock_out"
            raise ClockOverlap(msg, field, other)


def clock_of(row_id: str, state: Mapping[str, Any]) -> Clock:
    """An `hr.attendance` record as the overlap rule reads it (its label: "<shift date> <shift>")."""
    out = state.get("clock_out")
    try:
        return Clock(row_id, f"{state.get('shift_date')} {state.get('shift')}",
                     datetime.fromisoformat(str(state["clock_in"])), datetime.fromisoformat(str(out)) if out else None)
    except (KeyError, ValueError):
        raise ValidationError("an attendance row needs a clock-in time", {"clock_in": "must be a time"}) from None


def neighbour_dates(shift_date: str) -> list[str]:
    """The shift dates a row can overlap: the day before, the day and the day after (a night reaches into the next
    date, and the night before reaches into this one)."""
    day = date.fromisoformat(shift_date)
    return [(day + timedelta(days=offset)).isoformat() for offset in (-1, 0, 1)]


def check_row(row_id: str, row: Mapping[str, Any], others: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """`check_overlap` for a stored row against the same person's other rows of the neighbouring dates; rejected
    rows are not time anyone was paid for and do not count, nor does a rejected row itself."""
    if row.get("status") == "rejected" or not row.get("clock_in"):
        return
    try:
        dates = set(neighbour_dates(str(row.get("shift_date"))))
    except ValueError:
        raise ValidationError("an attendance row needs its shift date", {"shift_date": "must be a date"}) from None
    check_overlap(clock_of(row_id, row), [
        clock_of(i, o) for i, o in others
        if i != row_id and o.get("employee_id") == row.get("employee_id") and o.get("status") != "rejected"
        and str(o.get("shift_date")) in dates and o.get("clock_in")])
