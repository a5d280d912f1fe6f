"""Rosters: 12-hour day/night shifts per crew in the site's time zone, and R&R rotation calendars.

- A rotation is a cycle of blocks, e.g. 14/7 = 7 days, 7 nights, travel, 5 off, travel (21 days). A crew is on
  day 1 of the cycle on its anchor date; the calendar is generated ahead for any date range (before the
  anchor too: the cycle runs both ways).
- A rostered shift lasts its real time in the site's zone: a night across the spring-forward change is 11 h,
  across the fall-back change 13 h (issue 12). Lengths are computed from instants, never from wall clocks.
- Night shifts belong to the date they start on (as in `shifts`).
Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain.shifts import Shift, ShiftPattern
from shared.errors import ValidationError

BLOCK_KINDS = ("day", "night", "travel", "off")
WORK_KINDS = ("day", "night")
MAX_CYCLE_DAYS = 366
MAX_CALENDAR_DAYS = 3 * 366  # generated ahead a year or three, not forever


@dataclass(frozen=True)
class Block:
    kind: str  # one of BLOCK_KINDS
    days: int


@dataclass(frozen=True)
class Rotation:
    name: str
    blocks: tuple[Block, ...]

    @property
    def cycle_days(self) -> int:
        return sum(b.days for b in self.blocks)

    def kind_on_cycle_day(self, index: int) -> str:
        """The block kind of cycle day `index` (0-based, taken modulo the cycle)."""
        index %= self.cycle_days
        for b in self.blocks:
            if index < b.days:
                return b.kind
            index -= b.days
        raise AssertionError("unreachable: index is below cycle_days")


@dataclass(frozen=True)
class RosterDay:
    day: date
    kind: str  # day | night | travel | off | leave
    shift: Shift | None  # the rostered shift on work days

    @property
    def hours(self) -> float:
        """Real length of the rostered shift (11, 12 or 13 h), 0 on a day without one."""
        return shift_hours(self.shift) if self.shift is not None else 0.0


def parse_blocks(name: str, raw: Sequence[Mapping[str, Any]] | Any) -> Rotation:
    """A rotation from its `hr.rotation_pattern.blocks` payload, or ValidationError on field `blocks`."""
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationError("a rotation needs at least one block", {"blocks": "add at least one block"})
    blocks: list[Block] = []
    for i, item in enumerate(raw, start=1):
        kind = item.get("kind") if isinstance(item, Mapping) else None
        days = item.get("days") if isinstance(item, Mapping) else None
        if kind not in BLOCK_KINDS:
            msg = f"block {i}: kind must be one of " + ", ".join(BLOCK_KINDS)
            raise ValidationError(msg, {"blocks": msg})
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            msg = f"block {i}: days must be a whole number of at least 1"
            raise ValidationError(msg, {"blocks": msg})
        blocks.append(Block(kind, days))
    rotation = Rotation(name, tuple(blocks))
    if rotation.cycle_days > MAX_CYCLE_DAYS:
        msg = f"the cycle is {rotation.cycle_days} days; at most {MAX_CYCLE_DAYS}"
        raise ValidationError(msg, {"blocks": msg})
    if not any(b.kind in WORK_KINDS for b in blocks):
        msg = "a rotation needs at least one day or night block"
        raise ValidationError(msg, {"blocks": msg})
    return rotation


def rostered_shift(pattern: ShiftPattern, day: date, name: str) -> Shift:
    """The day or night shift that starts on `day` in the site's zone."""
    zone = pattern.zone
    day_start = datetime.combine(day, pattern.day_start, tzinfo=zone)
    night_start = datetime.combine(day, pattern.night_start, tzinfo=zone)
    if name == "day":
        return Shift(day, "day", day_start, night_start)
    if name == "night":
        next_day_start = datetime.combine(day + timedelta(days=1), pattern.day_start, tzinfo=zone)
        return Shift(day, "night", night_start, next_day_start)
    raise ValidationError(f"unknown shift {name!r}", {"shift": "must be day or night"})


def shift_hours(shift: Shift) -> float:
    # By timestamps: two datetimes in one zone subtract by wall clock (12 h across a 13 h night).
    return (shift.ends.timestamp() - shift.starts.timestamp()) / 3600


def rotation_calendar(rotation: Rotation, anchor: date, start: date, end: date,
                      pattern: ShiftPattern) -> list[RosterDay]:
    """Every date from `start` to `end` (inclusive) with what the rotation rosters on it."""
    if end < start:
        raise ValidationError("the calendar ends before it starts", {"end": "must be on or after the start"})
    if (end - start).days + 1 > MAX_CALENDAR_DAYS:
        raise ValidationError(f"generate at most {MAX_CALENDAR_DAYS} days at once",
                              {"end": f"at most {MAX_CALENDAR_DAYS} days after the start"})
    days: list[RosterDay] = []
    d = start
    while d <= end:
        kind = rotation.kind_on_cycle_day((d - anchor).days)
        shift = rostered_shift(pattern, d, kind) if kind in WORK_KINDS else None
        days.append(RosterDay(d, kind, shift))
        d += timedelta(days=1)
    return days


def assignment_id(employee_id: str, day: date) -> str:
    """One roster row per person per date: regenerating replaces it instead of adding a second."""
    return f"{employee_id}:{day.isoformat()}"


def assignment_payloads(employee_ids: Iterable[str], crew_id: str,
                        calendar: Iterable[RosterDay]) -> dict[str, dict[str, object]]:
    """`hr.roster_assignment` payloads (by id) for every crew member on every calendar date."""
    days = list(calendar)
    out: dict[str, dict[str, object]] = {}
    for employee_id in sorted(set(employee_ids)):
        for rd in days:
            out[assignment_id(employee_id, rd.day)] = {
                "employee_id": employee_id, "crew_id": crew_id, "shift_date": rd.day.isoformat(),
                "kind": rd.kind, "source": "generated",
            }
    return out


def coverage_gaps(crew_calendars: Mapping[str, Iterable[RosterDay]], start: date, end: date) -> list[tuple[date, str]]:
    """(date, shift) pairs from `start` to `end` that no crew is rostered on: a roster gap to fix before
    publishing it. Crews are given by name with their calendars."""
    covered: set[tuple[date, str]] = set()
    for calendar in crew_calendars.values():
        covered.update((rd.day, rd.kind) for rd in calendar if rd.kind in WORK_KINDS)
    gaps: list[tuple[date, str]] = []
    d = start
    while d <= end:
        gaps.extend((d, name) for name in WORK_KINDS if (d, name) not in covered)
        d += timedelta(days=1)
    return gaps
