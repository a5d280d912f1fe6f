"""Allowances from worked shifts (night, public-holiday hours at a multiplier, on-site days) into the payroll
CSV, with hand-computed totals; rule records refused with the field to fix."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.allowances import AllowanceRule, allowance_items, check_rule
from shared.domain.payroll import Allowance, Period, WorkedShift, export, rows
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError

PERIOD = Period(date(2026, 12, 20), date(2026, 12, 31))
EMPLOYEES = {"E001": "Ana Soto", "E002": "Ben Ruiz"}
RULES = [AllowanceRule("NIGHT", "night_shift", rate_cents=4500),
         AllowanceRule("PH150", "public_holiday_hours", multiplier=D("1.5")),
         AllowanceRule("SITE", "site_day", rate_cents=2500, site="north")]
HOLIDAYS = {"north": [date(2026, 12, 25)], "south": [date(2026, 12, 26)]}
SHIFTS = [
    WorkedShift("E001", date(2026, 12, 19), D(12), shift="night", site="north"),  # last period's
    WorkedShift("E001", date(2026, 12, 24), D(12), shift="night", site="north"),  # ends on the 25th: not a PH shift
    WorkedShift("E001", date(2026, 12, 25), D(13), D(1), shift="night", site="north"),  # starts on the holiday
    WorkedShift("E001", date(2026, 12, 26), D(12), shift="day", site="north"),
    WorkedShift("E001", date(2026, 12, 26), D(4), shift="night", site="north"),  # a call-back: same on-site day
    WorkedShift("E001", date(2026, 12, 27), D(0), shift="night", site="north"),  # rejected in reconciliation
    WorkedShift("E002", date(2026, 12, 25), D(12), shift="day", site="south"),  # not south's holiday
    WorkedShift("E002", date(2026, 12, 26), D("10.5"), shift="day", site="south"),
]

# E001: paid 12 + 13 + 12 + 4 + 0 = 41 (the 19th is outside), OT 1 -> ORD 40.00, OT 1.00.
#       NIGHT: the 24th, 25th and 26th (the 27th paid 0) = 3 x 45.00 = 135.00; PH150: the 25th's 13 h at 1.5;
#       SITE (north): the 24th, 25th, 26th = 3 days x 25.00 = 75.00.
# E002: ORD 12 + 10.5 = 22.50, OT 0.00; PH150: the 26th's 10.5 h (south's holiday); no SITE (south).
EXPECTED = (
    "period,employee_number,employee_name,kind,code,quantity,unit,multiplier,rate_cents,amount_cents\n"
    "2026-12-20..2026-12-31,E001,Ana Soto,hours,ORD,40.00,h,,,\n"
    "2026-12-20..2026-12-31,E001,Ana Soto,hours,OT,1.00,h,,,\n"
    "2026-12-20..2026-12-31,E001,Ana Soto,allowance,NIGHT,3.00,ea,,4500,13500\n"
    "2026-12-20..2026-12-31,E001,Ana Soto,allowance,PH150,13.00,h,1.50,,\n"
    "2026-12-20..2026-12-31,E001,Ana Soto,allowance,SITE,3.00,d,,2500,7500\n"
    "2026-12-20..2026-12-31,E002,Ben Ruiz,hours,ORD,22.50,h,,,\n"
    "2026-12-20..2026-12-31,E002,Ben Ruiz,hours,OT,0.00,h,,,\n"
    "2026-12-20..2026-12-31,E002,Ben Ruiz,allowance,PH150,10.50,h,1.50,,\n"
)


def test_night_holiday_and_site_allowances_reach_the_csv_with_hand_computed_totals() -> None:
    items = allowance_items(SHIFTS, RULES, HOLIDAYS)
    assert export(PERIOD, EMPLOYEES, SHIFTS, items) == EXPECTED


def test_the_allowance_export_is_byte_identical_from_shuffled_inputs() -> None:
    rng = random.Random(56)
    for _ in range(10):
        shifts, rules = list(SHIFTS), list(RULES)
        rng.shuffle(shifts)
        rng.shuffle(rules)
        items = allowance_items(shifts, rules, HOLIDAYS)
        rng.shuffle(items)
        assert export(PERIOD, EMPLOYEES, shifts, items).encode() == EXPECTED.encode()


def test_an_amount_is_quantity_times_rate_rounded_half_up_to_the_cent() -> None:
    # 0.5 x 4501 cents = 2250.5 -> 2251; 0.25 x 10 = 2.5 -> 3 (half up, not to even).
    [a, b] = rows(PERIOD, EMPLOYEES, allowances=[Allowance("E001", date(2026, 12, 21), "HALF", D("0.5"), "d", 4501),
                                                Allowance("E002", date(2026, 12, 21), "Q", D("0.25"), "d", 10)])
    assert (a.amount_cents, b.amount_cents) == (2251, 3)


def test_without_holidays_or_rules_no_allowance_is_derived() -> None:
    assert allowance_items(SHIFTS, [], HOLIDAYS) == []
    ph = [AllowanceRule("PH150", "public_holiday_hours", multiplier=D("1.5"))]
    assert allowance_items(SHIFTS, ph, {}) == []


@pytest.mark.parametrize(("record", "field"), [
    ({"code": "", "basis": "night_shift", "rate_cents": 100}, "code"),
    ({"code": "X", "basis": "per_moon", "rate_cents": 100}, "basis"),
    ({"code": "PH", "basis": "public_holiday_hours"}, "multiplier"),
    ({"code": "PH", "basis": "public_holiday_hours", "multiplier": 0}, "multiplier"),
    ({"code": "N", "basis": "night_shift"}, "rate_cents"),
    ({"code": "N", "basis": "night_shift", "rate_cents": -5}, "rate_cents"),
])
def test_a_rule_without_what_its_basis_needs_is_refused_beside_the_field(record: dict[str, object],
                                                                          field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_rule(record)
    assert field in caught.value.field_errors


def test_the_allowance_rule_entity_runs_the_rule_check_on_create() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_mutation("hr.allowance_rule", Op.CREATE, {"code": "PH", "basis": "public_holiday_hours"})
    assert "multiplier" in caught.value.field_errors
    validate_mutation("hr.allowance_rule", Op.CREATE, {"code": "PH", "basis": "public_holiday_hours",
                                                       "multiplier": 1.5})
    rule = check_rule({"code": "SITE", "basis": "site_day", "rate_cents": 2500, "site": "north"})
    assert rule == AllowanceRule("SITE", "site_day", 2500, None, "north")
