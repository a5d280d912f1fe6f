"""PM due calculation: engine hours or calendar, fixed or floating, whichever first, lead."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.pm import (
    DuePoint,
    LastDone,
    PmPlan,
    PmPlanError,
    Schedule,
    Trigger,
    due_status,
    next_due,
    pm_work_order_id,
    work_order_to_raise,
)
from shared.entities import validate_mutation
from shared.envelopes import Op

D0 = date(2026, 1, 1)


def hours_plan(schedule: Schedule = Schedule.FIXED, **kw: float) -> PmPlan:
    return PmPlan("P1", Trigger.HOURS, schedule, interval_hours=250, **kw)  # type: ignore[arg-type]


def cal_plan(schedule: Schedule = Schedule.FIXED, **kw: int) -> PmPlan:
    return PmPlan("P2", Trigger.CALENDAR, schedule, interval_days=30, start_date=D0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, 250),
        (LastDone(done_hours=480, due_hours=500), 750),  # early: stays on the grid
        (LastDone(done_hours=520, due_hours=500), 750),  # late: stays on the grid
        (LastDone(done_hours=800, due_hours=500), 1000),  # very late: skips the point already passed
        (LastDone(done_hours=750, due_hours=750), 1000),  # exactly on time
        (LastDone(done_hours=260), 500),  # no due recorded: the grid point after the service
    ],
)
def test_fixed_hours(last: LastDone | None, expected: float) -> None:
    assert next_due(hours_plan(), last) == DuePoint(expected, None)


def test_fixed_hours_with_a_start_offset() -> None:
    plan = hours_plan(start_hours=1_000)
    assert next_due(plan).hours == 1_250
    assert next_due(plan, LastDone(done_hours=1_240, due_hours=1_250)).hours == 1_500


@pytest.mark.parametrize(("done", "expected"), [(480, 730), (520, 770), (0, 250)])
def test_floating_hours_count_from_the_last_completion(done: float, expected: float) -> None:
    assert next_due(hours_plan(Schedule.FLOATING), LastDone(done_hours=done, due_hours=500)).hours == expected


def test_calendar_fixed_and_floating() -> None:
    assert next_due(cal_plan()).on == D0 + timedelta(days=30)
    late = LastDone(done_date=D0 + timedelta(days=35), due_date=D0 + timedelta(days=30))
    assert next_due(cal_plan(), late).on == D0 + timedelta(days=60)
    assert next_due(cal_plan(Schedule.FLOATING), late).on == D0 + timedelta(days=65)
    very_late = LastDone(done_date=D0 + timedelta(days=70), due_date=D0 + timedelta(days=30))
    assert next_due(cal_plan(), very_late).on == D0 + timedelta(days=90)


def test_status_hours_lead_and_due() -> None:
    plan = hours_plan(lead_hours=25)
    early = due_status(plan, None, current_hours=200, today=D0)
    assert (early.is_due, early.raise_now, early.hours_remaining) == (False, False, 50)
    inside_lead = due_status(plan, None, current_hours=226, today=D0)
    assert (inside_lead.is_due, inside_lead.raise_now) == (False, True)
    overdue = due_status(plan, None, current_hours=260, today=D0)
    assert (overdue.is_due, overdue.raise_now, overdue.hours_remaining, overdue.expected_on) == (True, True, -10, D0)


def test_status_calendar_lead_days() -> None:
    plan = cal_plan(lead_days=7)
    assert not due_status(plan, None, current_hours=None, today=D0 + timedelta(days=22)).raise_now
    s = due_status(plan, None, current_hours=None, today=D0 + timedelta(days=23))
    assert (s.raise_now, s.is_due, s.days_remaining) == (True, False, 7)
    assert due_status(plan, None, current_hours=None, today=D0 + timedelta(days=31)).is_due


def either(**kw: float) -> PmPlan:
    return PmPlan("P3", Trigger.EITHER, Schedule.FIXED, interval_hours=500, interval_days=90, start_date=D0, **kw)  # type: ignore[arg-type]


def test_either_whichever_comes_first_by_usage_rate() -> None:
    busy = due_status(either(), None, current_hours=100, today=D0, daily_hours=20)  # 400 h left: 20 days
    assert (busy.driver, busy.expected_on) == ("hours", D0 + timedelta(days=20))
    idle = due_status(either(), None, current_hours=100, today=D0, daily_hours=2)  # 200 days > 90
    assert (idle.driver, idle.expected_on) == ("calendar", D0 + timedelta(days=90))
    unknown = due_status(either(), None, current_hours=100, today=D0)
    assert unknown.driver == "calendar"


def test_either_is_due_when_one_trigger_is_reached() -> None:
    by_hours = due_status(either(), None, current_hours=501, today=D0 + timedelta(days=10))
    assert (by_hours.is_due, by_hours.driver) == (True, "hours")
    by_date = due_status(either(), None, current_hours=10, today=D0 + timedelta(days=90))
    assert (by_date.is_due, by_date.driver) == (True, "calendar")


def test_either_raises_inside_either_lead() -> None:
    plan = either(lead_hours=50, lead_days=0)
    assert due_status(plan, None, current_hours=455, today=D0).raise_now
    assert not due_status(plan, None, current_hours=449, today=D0).raise_now


def test_no_hour_meter_reading_means_the_hours_trigger_cannot_fire() -> None:
    s = due_status(hours_plan(), None, current_hours=None, today=D0)
    assert (s.is_due, s.raise_now, s.hours_remaining) == (False, False, None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"trigger": Trigger.HOURS}, "interval_hours"),
        ({"trigger": Trigger.CALENDAR, "interval_days": 30}, "start_date"),
        ({"trigger": Trigger.CALENDAR, "start_date": D0}, "interval_days"),
        ({"trigger": Trigger.HOURS, "interval_hours": 10, "lead_hours": -1}, "lead"),
    ],
)
def test_plans_that_cannot_be_scheduled_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(PmPlanError) as info:
        PmPlan("P", schedule=Schedule.FIXED, **kwargs)  # type: ignore[arg-type]
    assert field in info.value.field_errors


def test_raising_the_work_order_is_idempotent_and_valid() -> None:
    plan = hours_plan(lead_hours=25)
    status = due_status(plan, None, current_hours=240, today=D0)
    raised = work_order_to_raise(plan, status, equipment_id="EX01", title="250 h service")
    assert raised is not None
    wo_id, payload = raised
    assert wo_id == pm_work_order_id("P1", DuePoint(250, None)) == "pm:P1:250:-"
    validate_mutation("maintenance.work_order", Op.CREATE, payload)
    assert payload["due_hours"] == 250 and payload["priority"] == "medium"
    # a second desktop computing the same due point gets the same id; an open one is not raised again
    already = frozenset({wo_id})
    assert work_order_to_raise(plan, status, equipment_id="EX01", title="x", open_work_order_ids=already) is None
    not_yet = due_status(plan, None, current_hours=100, today=D0)
    assert work_order_to_raise(plan, not_yet, equipment_id="EX01", title="x") is None


@given(
    st.sampled_from([Schedule.FIXED, Schedule.FLOATING]),
    st.floats(min_value=1, max_value=2_000),
    st.floats(min_value=0, max_value=100_000),
    st.floats(min_value=0, max_value=100_000),
)
def test_next_due_is_always_after_the_last_service(
    schedule: Schedule, interval: float, done: float, due: float
) -> None:
    plan = PmPlan("P", Trigger.HOURS, schedule, interval_hours=interval)
    nxt = next_due(plan, LastDone(done_hours=done, due_hours=due)).hours
    assert nxt is not None and nxt > done
    if schedule is Schedule.FIXED:
        assert nxt > due


@given(st.integers(min_value=1, max_value=400), st.integers(min_value=0, max_value=2_000),
       st.integers(min_value=0, max_value=2_000))
def test_fixed_calendar_stays_on_the_grid(interval: int, done_days: int, due_days: int) -> None:
    plan = PmPlan("P", Trigger.CALENDAR, Schedule.FIXED, interval_days=interval, start_date=D0)
    on = next_due(plan, LastDone(done_date=D0 + timedelta(days=done_days), due_date=D0 + timedelta(days=due_days))).on
    assert on is not None
    assert (on - D0).days % interval == 0
    assert (on - D0).days > max(done_days, due_days)


def test_hour_meter_takes_the_latest_reading_and_never_winds_back() -> None:
    from datetime import UTC, datetime

    from shared.domain.pm import MeterReading, daily_rate, meter_now

    t = datetime(2026, 1, 1, tzinfo=UTC)
    readings = [MeterReading(t, 1_000, "telematics"), MeterReading(t + timedelta(days=10), 1_150, "telematics"),
                MeterReading(t + timedelta(days=11), 150, "manual"),  # a typo: ignored
                MeterReading(t + timedelta(days=20), 1_300, "manual")]
    assert meter_now(reversed(readings)) == 1_300
    assert meter_now([]) is None
    assert daily_rate(readings, today=D0 + timedelta(days=20)) == 15
    assert daily_rate(readings[:1], today=D0) is None
    assert daily_rate([MeterReading(t, 10), MeterReading(t + timedelta(minutes=5), 11)], today=D0) is None
    assert daily_rate(readings, today=D0 + timedelta(days=60)) is None  # nothing recent


def test_after_a_meter_change_pm_counts_on_with_the_new_meter() -> None:
    """The meter was replaced at 5,010 h: the new one starts at 0. Without the change the machine's meter
    stays at 5,010 until the new one passes it (years) and the 5,250 h service never falls due."""
    from datetime import UTC, datetime

    from shared.domain.pm import MeterChange, MeterReading, corrected_readings, daily_rate, meter_now

    t = datetime(2026, 1, 1, tzinfo=UTC)
    readings = [MeterReading(t, 4_900, "telematics"), MeterReading(t + timedelta(days=5), 5_000, "telematics"),
                MeterReading(t + timedelta(days=7), 40, "telematics"), MeterReading(t + timedelta(days=12), 210)]
    change = MeterChange(t + timedelta(days=6), before=5_010, after=0)
    assert meter_now(readings) == 5_000  # what PM saw before: stuck on the old meter
    corrected = corrected_readings(readings, [change])
    assert [r.hours for r in corrected] == [4_900, 5_000, 5_050, 5_220]
    assert meter_now(corrected) == 5_220
    assert daily_rate(corrected, today=D0 + timedelta(days=12)) == pytest.approx(320 / 12)
    plan = hours_plan(lead_hours=50)
    status = due_status(plan, LastDone(done_hours=5_000, due_hours=5_000), current_hours=meter_now(corrected),
                        today=D0 + timedelta(days=12))
    assert status.due.hours == 5_250 and status.hours_remaining == 30 and status.raise_now
