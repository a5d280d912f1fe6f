"""12-hour shifts in a site's time zone (default 06:00 day, 18:00 night), and splitting intervals at
shift boundaries. Pure: no clock, no I/O. A night shift belongs to the date it starts on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ShiftPattern:
    time_zone: str = "UTC"
    day_start: time = time(6, 0)
    night_start: time = time(18, 0)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, order=True)
class Shift:
    shift_date: date
    name: str  # "day" | "night"
    starts: datetime  # aware
    ends: datetime  # aware

    @property
    def key(self) -> str:
        return f"{self.shift_date.isoformat()}:{self.name}"


def _local(pattern: ShiftPattern, d: date, t: time) -> datetime:
    return datetime.combine(d, t, tzinfo=pattern.zone)


def shift_at(pattern: ShiftPattern, instant: datetime) -> Shift:
    """The shift an aware instant falls in (start inclusive, end exclusive)."""
    if instant.tzinfo is None:
        raise ValueError("shift_at needs an aware datetime")
    local = instant.astimezone(pattern.zone)
    d = local.date()
    day_start, night_start = _local(pattern, d, pattern.day_start), _local(pattern, d, pattern.night_start)
    # Compared as instants: datetimes sharing one tzinfo compare by wall clock, and in the hour a fall-back night
    # repeats, 02:15 (the second time) is after a 02:30 boundary although its wall clock is before it.
    at = instant.astimezone(UTC)
    if day_start.astimezone(UTC) <= at < night_start.astimezone(UTC):
        return Shift(d, "day", day_start, night_start)
    if at >= night_start.astimezone(UTC):
        return Shift(d, "night", night_start, _local(pattern, d + timedelta(days=1), pattern.day_start))
    previous = d - timedelta(days=1)
    return Shift(previous, "night", _local(pattern, previous, pattern.night_start), day_start)


def split_by_shift(pattern: ShiftPattern, start: datetime, end: datetime) -> list[tuple[Shift, datetime, datetime]]:
    """Cut [start, end) at every shift boundary it crosses."""
    pieces: list[tuple[Shift, datetime, datetime]] = []
    cursor = start
    while cursor < end:
        shift = shift_at(pattern, cursor)
        piece_end = min(end, shift.ends)
        pieces.append((shift, cursor, piece_end))
        cursor = piece_end
    return pieces
