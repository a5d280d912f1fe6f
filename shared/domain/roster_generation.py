"""Generating a crew's roster ahead from its rotation, editing single days, and the gaps left (issue 14).

- Generation writes one `hr.roster_assignment` per crew member per date, id `<employee>:<date>`
  (`rosters.assignment_id`), payload a function of the rotation, anchor and members only: two desktops
  generating the same weeks offline write the same ids with the same fields, so the hub keeps one row each
  (and a desktop that already holds the rows writes nothing at all).
- A row someone edited by hand (`source: edited`) is never overwritten by a regeneration; a generated row
  whose rotation now says otherwise (anchor or rotation changed) is updated in place, only the fields that
  differ.
- A gap is a (date, shift) no rostered person covers, counted from the rows as they will stand (the other
  crews' rows included), so an edit to `off` that leaves a night empty shows up too.
Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.domain.people import ROSTER_KINDS
from shared.domain.rosters import (
    WORK_KINDS,
    RosterDay,
    Rotation,
    assignment_id,
    assignment_payloads,
    coverage_gaps,
    rostered_shift,
    rotation_calendar,
    shift_hours,
)
from shared.domain.shifts import ShiftPattern
from shared.errors import ValidationError

MAX_WEEKS = 104  # two years ahead; rosters.MAX_CALENDAR_DAYS allows three
GENERATED_FIELDS = ("employee_id", "crew_id", "shift_date", "kind", "source")


@dataclass(frozen=True)
class RosterPlan:
    start: date
    end: date  # inclusive
    creates: dict[str, dict[str, Any]]  # id -> the new row
    updates: dict[str, dict[str, Any]]  # id -> only the fields that change
    kept_edits: tuple[str, ...]  # hand-edited rows the rotation would change, left as they are
    unchanged: int  # rows already as the rotation says

    @property
    def writes(self) -> int:
        return len(self.creates) + len(self.updates)


def check_weeks(value: Any) -> int:
    """How many weeks to generate (1 to MAX_WEEKS), or ValidationError on field `weeks`."""
    try:
        weeks = int(str(value).strip())
    except ValueError:
        raise ValidationError("weeks is not a whole number", {"weeks": "must be a whole number of weeks"}) from None
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationError(f"{weeks} weeks", {"weeks": f"must be from 1 to {MAX_WEEKS} weeks"})
    return weeks


def plan_generation(rotation: Rotation, anchor: date, start: date, weeks: int, pattern: ShiftPattern,
                    crew_id: str, members: Iterable[str],
                    existing: Mapping[str, Mapping[str, Any] | None]) -> RosterPlan:
    """What generating `weeks` from `start` writes, given the rows already held (`existing`: id -> state, for
    any ids; missing or None means no row)."""
    members = sorted(set(members))
    if not members:
        raise ValidationError(f"crew {crew_id} has no members", {"crew_id": f"no employee is in crew {crew_id}"})
    end = start + timedelta(days=7 * weeks - 1)
    calendar = rotation_calendar(rotation, anchor, start, end, pattern)
    creates: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    kept: list[str] = []
    unchanged = 0
    for row_id, payload in assignment_payloads(members, crew_id, calendar).items():
        current = existing.get(row_id)
        if not current:
            creates[row_id] = payload
            continue
        changed = {k: payload[k] for k in GENERATED_FIELDS if current.get(k) != payload[k]}
        if current.get("source") == "edited":
            if {k for k in changed if k != "source"}:
                kept.append(row_id)
            else:
                unchanged += 1
            continue
        if changed:
            updates[row_id] = changed
        else:
            unchanged += 1
    return RosterPlan(start, end, creates, updates, tuple(kept), unchanged)


def plan_edit(employee_id: str, day: date, kind: str, crew_id: str | None, current: Mapping[str, Any] | None,
              notes: str | None = None) -> tuple[str, dict[str, Any], bool]:
    """(row id, payload, is_create) for changing one person's date to `kind`, marked `edited` so a later
    regeneration keeps it; ValidationError on `kind` when it is not a roster kind or nothing changes."""
    if kind not in ROSTER_KINDS:
        raise ValidationError(f"unknown roster kind {kind!r}", {"kind": "must be one of " + ", ".join(ROSTER_KINDS)})
    row_id = assignment_id(employee_id, day)
    if not current:
        payload: dict[str, Any] = {"employee_id": employee_id, "shift_date": day.isoformat(), "kind": kind,
                                   "source": "edited"}
        if crew_id:
            payload["crew_id"] = crew_id
        if notes:
            payload["notes"] = notes
        return row_id, payload, True
    changed: dict[str, Any] = {"kind": kind, "source": "edited"}
    if notes:
        changed["notes"] = notes
    changed = {k: v for k, v in changed.items() if current.get(k) != v}
    if "kind" not in changed and "notes" not in changed:
        raise ValidationError(f"{row_id} is already {kind}", {"kind": f"already rostered {kind} on {day}"})
    return row_id, changed, False


def merged_rows(existing: Mapping[str, Mapping[str, Any]], plan: RosterPlan | None = None) -> dict[str, dict[str, Any]]:
    """The roster rows as they will stand once the plan is written."""
    rows = {k: dict(v) for k, v in existing.items() if v}
    if plan is not None:
        for row_id, payload in plan.creates.items():
            rows[row_id] = dict(payload)
        for row_id, changed in plan.updates.items():
            rows[row_id] = {**rows.get(row_id, {}), **changed}
    return rows


def gaps(rows: Iterable[Mapping[str, Any]], start: date, end: date) -> list[tuple[date, str]]:
    """(date, shift) pairs from `start` to `end` with nobody rostered on that shift (`rosters.coverage_gaps`
    over each person's rows)."""
    by_person: dict[str, list[RosterDay]] = {}
    for r in rows:
        try:
            day = date.fromisoformat(str(r.get("shift_date")))
        except ValueError:
            continue
        if start <= day <= end:
            by_person.setdefault(str(r.get("employee_id")), []).append(RosterDay(day, str(r.get("kind")), None))
    return coverage_gaps(by_person, start, end)


def gap_message(found: list[tuple[date, str]], shown: int = 4) -> str:
    """The words beside the crew field: which shifts nobody covers."""
    if not found:
        return ""
    listed = ", ".join(f"{d.isoformat()} {name}" for d, name in found[:shown])
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    return f"roster gap: nobody is rostered on {listed}{more}"


def rostered_hours(pattern: ShiftPattern, day: date, kind: str) -> float:
    """The real length of what is rostered on `day` in the site's zone: 11 or 13 h on a DST night, 0 off shift."""
    return shift_hours(rostered_shift(pattern, day, kind)) if kind in WORK_KINDS else 0.0
