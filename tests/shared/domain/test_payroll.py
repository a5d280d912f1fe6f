"""Payroll export: the documented CSV layout, byte-identical re-exports, and refusals with a field."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.payroll import (
    Allowance,
    LeaveTaken,
    Period,
    WorkedShift,
    export,
    leave_items,
    worked_from_reconciliation,
)
from shared.domain.reconciliation import Decision, Line, reconcile
from shared.errors import ValidationError

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 14))
EMPLOYEES = {"E001": "Ana Soto", "E002": "Ben Ruiz, Jr."}
SHIFTS = [
    WorkedShift("E001", date(2026, 11, 2), D("12.00")),
    WorkedShift("E001", date(2026, 11, 3), D("12.50"), D("0.50")),
    WorkedShift("E001", date(2026, 11, 15), D("12.00")),  # next period's
    WorkedShift("E002", date(2026, 11, 1), D("14.00"), D("1.00")),  # the 13 h night + 1 h overtime
]
ALLOWANCES = [
    Allowance("E001", date(2026, 11, 3), "NIGHT", D(1)),
    Allowance("E001", date(2026, 11, 4), "NIGHT", D(1)),
    Allowance("E002", date(2026, 11, 7), "TRAVEL", D(1)),
    Allowance("E002", date(2026, 10, 31), "TRAVEL", D(1)),  # last period's
]
LEAVE = [LeaveTaken("E002", date(2026, 11, 10), "AL"), LeaveTaken("E002", date(2026, 11, 11), "AL")]

# E001: ORD = (12.00 − 0) + (12.50 − 0.50) = 24.00; OT = 0.50; NIGHT = 1 + 1 = 2.
# E002: ORD = 14.00 − 1.00 = 13.00; OT = 1.00; TRAVEL = 1 (31 Oct is outside); AL = 2 days.
EXPECTED = (
    "period,employee_number,employee_name,kind,code,quantity,unit,multiplier,rate_cents,amount_cents\n"
    "2026-11-01..2026-11-14,E001,Ana Soto,hours,ORD,24.00,h,,,\n"
    "2026-11-01..2026-11-14,E001,Ana Soto,hours,OT,0.50,h,,,\n"
    "2026-11-01..2026-11-14,E001,Ana Soto,allowance,NIGHT,2.00,ea,,,\n"
    '2026-11-01..2026-11-14,E002,"Ben Ruiz, Jr.",hours,ORD,13.00,h,,,\n'
    '2026-11-01..2026-11-14,E002,"Ben Ruiz, Jr.",hours,OT,1.00,h,,,\n'
    '2026-11-01..2026-11-14,E002,"Ben Ruiz, Jr.",allowance,TRAVEL,1.00,ea,,,\n'
    '2026-11-01..2026-11-14,E002,"Ben Ruiz, Jr.",leave,AL,2.00,d,,,\n'
)


def test_the_export_is_the_documented_layout_with_hand_computed_totals() -> None:
    assert export(PERIOD, EMPLOYEES, SHIFTS, ALLOWANCES, LEAVE) == EXPECTED


def test_the_same_period_exported_from_shuffled_inputs_is_byte_identical() -> None:
    rng = random.Random(14)
    for _ in range(20):
        shifts, allowances, leave = list(SHIFTS), list(ALLOWANCES), list(LEAVE)
        for items in (shifts, allowances, leave):
            rng.shuffle(items)
        employees = dict(rng.sample(sorted(EMPLOYEES.items()), k=len(EMPLOYEES)))
        assert export(PERIOD, employees, shifts, allowances, leave).encode() == EXPECTED.encode()


def test_paid_hours_come_from_reconciliation_and_wait_for_open_lines() -> None:
    # Clocked 12 h, gateway 4 h, logged 11 h: flagged. Until decided, no export; corrected to 10 h paid with 1 h
    # overtime from attendance: ORD 9.00, OT 1.00. An overtime of 3 h is capped at a corrected 2 h paid.
    ln = Line("emp-1", date(2026, 11, 5), "day", D("4.00"), D("11.00"), D("12.00"))
    numbers = {"emp-1": "E001"}
    with pytest.raises(ValidationError) as err:
        worked_from_reconciliation([ln], reconcile([ln], D("0.5")), numbers)
    assert "period" in err.value.field_errors and ln.key in str(err.value)
    outcome = reconcile([ln], D("0.5"), [Decision(ln.key, "correct", "left at 16:00", paid_hours=D("10.00"))])
    shifts = worked_from_reconciliation([ln], outcome, numbers, {ln.key: D("1.00")})
    assert export(PERIOD, {"E001": "Ana Soto"}, shifts).splitlines()[1:] == [
        "2026-11-01..2026-11-14,E001,Ana Soto,hours,ORD,9.00,h,,,",
        "2026-11-01..2026-11-14,E001,Ana Soto,hours,OT,1.00,h,,,",
    ]
    outcome = reconcile([ln], D("0.5"), [Decision(ln.key, "correct", "sent home", paid_hours=D("2.00"))])
    assert worked_from_reconciliation([ln], outcome, numbers, {ln.key: D("3")})[0].overtime_hours == D("2.00")
    with pytest.raises(ValidationError) as err:
        worked_from_reconciliation([ln], outcome, {})
    assert "employee_number" in err.value.field_errors


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"shifts": [WorkedShift("E999", date(2026, 11, 2), D(12))]}, "employee_number"),
        ({"shifts": [WorkedShift("E001", date(2026, 11, 2), D(2), D(3))]}, "overtime_hours"),
        ({"shifts": [WorkedShift("E001", date(2026, 11, 2), D(-1))]}, "quantity"),
        ({"allowances": [Allowance("E001", date(2026, 11, 2), " ", D(1))]}, "code"),
        ({"leave": [LeaveTaken("E001", date(2026, 11, 2), "AL", D("NaN"))]}, "quantity"),
    ],
)
def test_bad_payroll_input_is_refused_with_a_field(kwargs: dict[str, list[object]], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        export(PERIOD, EMPLOYEES, **kwargs)  # type: ignore[arg-type]
    assert field in err.value.field_errors


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        Period(date(2026, 11, 14), date(2026, 11, 1))
    assert "end" in err.value.field_errors


def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted_inert() -> None:
    text = export(PERIOD, {"E001": "=HYPERLINK(\"x\")"}, [WorkedShift("E001", date(2026, 11, 2), D(12))])
    assert text.splitlines()[1].startswith('2026-11-01..2026-11-14,E001,"\'=HYPERLINK(""x"")",hours,ORD')


def test_approved_leave_becomes_one_payroll_day_per_charged_date() -> None:
    from shared.domain.leave import LeaveRequest

    requests = [
        LeaveRequest("a", "emp-1", "AL", date(2026, 11, 13), date(2026, 11, 16), "approved"),
        LeaveRequest("b", "emp-2", "AL", date(2026, 11, 9), date(2026, 11, 10), "approved"),
        LeaveRequest("c", "emp-2", "SL", date(2026, 11, 12), date(2026, 11, 12), "requested"),  # not approved
    ]
    numbers = {"emp-1": "E001", "emp-2": "E002"}
    # emp-1 is rostered 2–14 Nov only, so 13 and 14 Nov are charged (15, 16 are R&R); emp-2 has no roster given:
    # calendar days 9 and 10 Nov. Period to 14 Nov.
    roster = {"emp-1": [date(2026, 11, d) for d in range(2, 15)]}
    items = leave_items(requests, {"AL": "ANNUAL"}, numbers, roster)
    assert [(i.employee_number, i.day.day, i.code) for i in items] == [
        ("E001", 13, "ANNUAL"), ("E001", 14, "ANNUAL"), ("E002", 9, "ANNUAL"), ("E002", 10, "ANNUAL")]
    assert export(PERIOD, EMPLOYEES, leave=items).splitlines()[1:] == [
        "2026-11-01..2026-11-14,E001,Ana Soto,leave,ANNUAL,2.00,d,,,",
        '2026-11-01..2026-11-14,E002,"Ben Ruiz, Jr.",leave,ANNUAL,2.00,d,,,',
    ]
    with pytest.raises(ValidationError) as err:
        leave_items(requests, {}, numbers)
    assert "payroll_code" in err.value.field_errors
