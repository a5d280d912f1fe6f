"""Preventive maintenance: when a PM plan is next due, and when to raise its work order.

A plan is triggered by engine hours, by the calendar, or by either ("whichever comes first").
- fixed schedules stay on their grid (every 250 h: 250, 500, 750… whenever the service was done): the next
  due is the grid point after the one the last service satisfied, skipping any point the service itself
  already passed (done at 800 h for the 500 h service → next at 1000 h, not an already-overdue 750 h);
- floating schedules count from the last completion (done at 520 h → next at 770 h).
The work order is raised ahead by a lead (hours or days). Its id is derived from the plan and the due
point, so two desktops raising the same PM offline create the same record, not two work orders.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.errors import ValidationError


class Trigger(StrEnum):
    HOURS = "hours"
    CALENDAR = "calendar"
    EITHER = "either"


class Schedule(StrEnum):
    FIXED = "fixed"
    FLOATING = "floating"


class PmPlanError(ValidationError):
    """A PM plan that cannot be scheduled (missing interval or start)."""


@dataclass(frozen=True)
class PmPlan:
    id: str
    trigger: Trigger
    schedule: Schedule
    interval_hours: float | None = None
    interval_days: int | None = None
    lead_hours: float = 0.0
    lead_days: int = 0
    start_hours: float = 0.0
    start_date: date | None = None

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if self.uses_hours and not (self.interval_hours and self.interval_hours > 0):
            errors["interval_hours"] = "is required (a positive number) for an hours-triggered plan"
        if self.uses_calendar:
            if not (self.interval_days and self.interval_days > 0):
                errors["interval_days"] = "is required (a positive number) for a calendar-triggered plan"
            if self.start_date is None:
                errors["start_date"] = "is required for a calendar-triggered plan"
        if self.lead_hours < 0 or self.lead_days < 0:
            errors["lead"] = "must not be negative"
        if errors:
            first = next(iter(errors.items()))
            raise PmPlanError(f"PM plan {self.id}: {first[0]} {first[1]}", errors)

    @property
    def uses_hours(self) -> bool:
        return self.trigger in (Trigger.HOURS, Trigger.EITHER)

    @property
    def uses_calendar(self) -> bool:
        return self.trigger in (Trigger.CALENDAR, Trigger.EITHER)


@dataclass(frozen=True)
class LastDone:
    """The last completed service: when it was done, and which due point it satisfied."""

    done_hours: float | None = None
    done_date: date | None = None
    due_hours: float | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class DuePoint:
    hours: float | None
    on: date | None


def _next_grid_hours(start: float, interval: float, after: float) -> float:
    steps = math.floor((after - start) / interval) + 1
    return start + max(steps, 1) * interval


def _next_grid_date(start: date, interval: int, after: date) -> date:
    steps = (after - start).days // interval + 1
    return start + timedelta(days=max(steps, 1) * interval)


def next_due(plan: PmPlan, last: LastDone | None = None) -> DuePoint:
    """The next due point (hours and/or date) of a plan given its last completed service."""
    hours: float | None = None
    on: date | None = None
    if plan.uses_hours:
        interval = float(plan.interval_hours or 0)
        if last is None or last.done_hours is None:
            hours = plan.start_hours + interval
        elif plan.schedule is Schedule.FLOATING:
            hours = last.done_hours + interval
        else:
            satisfied = last.due_hours if last.due_hours is not None else last.done_hours
            hours = max(
                _next_grid_hours(plan.start_hours, interval, satisfied),
                _next_grid_hours(plan.start_hours, interval, last.done_hours),
            )
    if plan.uses_calendar:
        assert plan.start_date is not None and plan.interval_days  # checked in PmPlan
        days = plan.interval_days
        if last is None or last.done_date is None:
            on = plan.start_date + timedelta(days=days)
        elif plan.schedule is Schedule.FLOATING:
            on = last.done_date + timedelta(days=days)
        else:
            satisfied_on = last.due_date if last.due_date is not None else last.done_date
            on = max(
                _next_grid_date(plan.start_date, days, satisfied_on),
                _next_grid_date(plan.start_date, days, last.done_date),
            )
    return DuePoint(hours, on)


@dataclass(frozen=True)
class DueStatus:
    plan_id: str
    due: DuePoint
    driver: str  # "hours" or "calendar": the trigger that comes first
    expected_on: date | None  # when it falls due (hours projected at the usage rate); None if unknown
    is_due: bool
    raise_now: bool  # inside the lead: raise the work order now
    hours_remaining: float | None
    days_remaining: int | None


def due_status(
    plan: PmPlan,
    last: LastDone | None,
    *,
    current_hours: float | None,
    today: date,
    daily_hours: float | None = None,
) -> DueStatus:
    """Where a plan stands today. `current_hours` is the machine's hour meter (gateways' or logged);
    `daily_hours` its average use per day, to tell which trigger of an "either" plan comes first."""
    due = next_due(plan, last)
    hours_remaining: float | None = None
    hours_on: date | None = None
    hours_due = hours_raise = False
    if due.hours is not None and current_hours is not None:
        hours_remaining = due.hours - current_hours
        hours_due = hours_remaining <= 0
        hours_raise = hours_remaining <= plan.lead_hours
        if hours_due:
            hours_on = today
        elif daily_hours and daily_hours > 0:
            hours_on = today + timedelta(days=math.ceil(hours_remaining / daily_hours))
    days_remaining: int | None = None
    cal_due = cal_raise = False
    if due.on is not None:
        days_remaining = (due.on - today).days
        cal_due = days_remaining <= 0
        cal_raise = days_remaining <= plan.lead_days
    driver = _driver(plan, hours_due, cal_due, hours_on, due.on)
    expected = hours_on if driver == "hours" else due.on
    return DueStatus(
        plan.id,
        due,
        driver,
        expected,
        is_due=hours_due or cal_due,
        raise_now=hours_raise or cal_raise,
        hours_remaining=hours_remaining,
        days_remaining=days_remaining,
    )


def _driver(plan: PmPlan, hours_due: bool, cal_due: bool, hours_on: date | None, cal_on: date | None) -> str:
    if plan.trigger is Trigger.HOURS:
        return "hours"
    if plan.trigger is Trigger.CALENDAR:
        return "calendar"
    if hours_due and not cal_due:
        return "hours"
    if cal_due:
        return "calendar"
    if hours_on is not None and cal_on is not None and hours_on < cal_on:
        return "hours"
    return "calendar"


def pm_work_order_id(plan_id: str, due: DuePoint) -> str:
    """Deterministic id of the work order for one due point of one plan (idempotent raising)."""
    hours = "-" if due.hours is None else f"{due.hours:g}"
    on = "-" if due.on is None else due.on.isoformat()
    return f"pm:{plan_id}:{hours}:{on}"[:128]


def work_order_to_raise(
    plan: PmPlan,
    status: DueStatus,
    *,
    equipment_id: str,
    title: str,
    open_work_order_ids: frozenset[str] = frozenset(),
) -> tuple[str, dict[str, object]] | None:
    """(id, payload) of the `maintenance.work_order` to create now, or None (not inside the lead yet,
    or this due point already has its work order)."""
    if not status.raise_now:
        return None
    wo_id = pm_work_order_id(plan.id, status.due)
    if wo_id in open_work_order_ids:
        return None
    payload: dict[str, object] = {
        "equipment_id": equipment_id,
        "title": title,
        "kind": "preventive",
        "priority": "high" if status.is_due else "medium",
        "status": "requested",
        "pm_plan_id": plan.id,
    }
    if status.due.hours is not None:
        payload["due_hours"] = status.due.hours
    if status.due.on is not None:
        payload["due_date"] = status.due.on.isoformat()
    return wo_id, payload


# --- hour meters ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeterReading:
    """An engine-hour reading: from a gateway (telematics) or logged by a person (usage log)."""

    at: datetime
    hours: float
    source: str = "manual"


@dataclass(frozen=True)
class MeterChange:
    """The hour meter was reset or replaced: from `at` on it reads from `after`, where the old one had
    reached `before` (an `equipment.meter_correction`)."""

    at: datetime
    before: float
    after: float


def corrected_readings(readings: Iterable[MeterReading], changes: Iterable[MeterChange]) -> list[MeterReading]:
    """Readings as engine hours on one scale: a reading at or after a change also counts what the meter had
    run before it (before − after). Without this a replaced meter reads below the old one for years, every
    reading is ignored as a typo and PM never falls due again; with it PM counts on with the new meter."""
    ordered = sorted(changes, key=lambda c: c.at)
    out = []
    for r in readings:
        lift = sum(c.before - c.after for c in ordered if c.at <= r.at)
        out.append(MeterReading(r.at, r.hours + lift, r.source) if lift else r)
    return out


def meter_now(readings: Iterable[MeterReading]) -> float | None:
    """The machine's hour meter: the latest reading in time. A reading lower than an earlier one (a typo,
    or hours keyed against the wrong machine) never winds the meter back; it is ignored. A reset or replaced
    meter is not a typo: pass the readings through `corrected_readings` first."""
    current: float | None = None
    for r in sorted(readings, key=lambda r: r.at):
        if current is None or r.hours >= current:
            current = r.hours
    return current


def daily_rate(readings: Iterable[MeterReading], *, today: date, window_days: int = 30) -> float | None:
    """Average engine hours per day over the last `window_days` (None without two readings a while apart),
    used to tell which trigger of an "either" plan comes first."""
    recent = sorted((r for r in readings if 0 <= (today - r.at.date()).days <= window_days), key=lambda r: r.at)
    monotone: list[MeterReading] = []
    for r in recent:
        if not monotone or r.hours >= monotone[-1].hours:
            monotone.append(r)
    if len(monotone) < 2:
        return None
    span = (monotone[-1].at - monotone[0].at).total_seconds() / 86_400
    if span < 1 / 24:  # readings minutes apart say nothing about a day
        return None
    return (monotone[-1].hours - monotone[0].hours) / span
