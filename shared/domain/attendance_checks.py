"""Attendance rules across rows (issue 14): one person cannot be clocked on two overlapping intervals, and a
person still clocked in cannot clock in again elsewhere. Compared as instants (`attendance` explains why).
Pure: the caller passes the person's other rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.domain.people import MAX_ATTENDANCE_HOURS
from shared.errors import ValidationError


@dataclass(frozen=True)
class Clock:
    row_id: str
    label: str  # how a person names the row: "2026-04-04 day"
    clock_in: datetime
    clock_out: datetime | None


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
                raise ValidationError(msg, {"clock_in": msg})
            if start <= o_start < end:
                msg = f"overlaps {other.label}, clocked in at {other.clock_in:%Y-%m-%d %H:%M}"
                raise ValidationError(msg, {"clock_out": msg})
            continue
        o_end = other.clock_out.astimezone(UTC)
        if start < o_end and o_start < max(end, start + timedelta(microseconds=1)):
            msg = (f"overlaps {other.label}, clocked {other.clock_in:%Y-%m-%d %H:%M} to "
                   f"{other.clock_out:%Y-%m-%d %H:%M}")
            field = "clock_in" if o_start <= start < o_end else "clock_out"
            raise ValidationError(msg, {field: msg})
