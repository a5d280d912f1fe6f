"""Payroll export: a period's ordinary hours, overtime, allowances and leave per employee as CSV.

Layout (docs/people.md): UTF-8, `\\n` line ends, a header row, then one row per employee per item:
`period,employee_number,employee_name,kind,code,quantity,unit,multiplier,rate_cents,amount_cents`
- `period` is `<first day>..<last day>` (ISO dates, both inclusive); shifts belong to the date they start on.
- `kind` is `hours` (codes `ORD` ordinary, `OT` overtime; unit `h`), `allowance` (the allowance's code and
  unit) or `leave` (the leave type's payroll code; unit `d`).
- `quantity` has exactly two decimals, rounded half up after summing.
- `multiplier`, `rate_cents`, `amount_cents` are filled on allowance rows only (`shared.domain.allowances`):
  the loading a holiday's hours are paid at (two decimals), or the rate per unit and quantity × rate in whole
  cents (half up); empty otherwise.
- Rows are sorted by employee number, then kind (hours, allowance, leave), then code; equal items are summed.
Same inputs in any order give byte-identical text: a period can be exported again and compared.
Pure: rows in, text out; no clock, no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from shared.domain.leave import LeaveRequest
from shared.domain.reconciliation import Line, Outcome
from shared.errors import ValidationError

COLUMNS = ("period", "employee_number", "employee_name", "kind", "code", "quantity", "unit", "multiplier",
           "rate_cents", "amount_cents")
KIND_ORDER = {"hours": 0, "allowance": 1, "leave": 2}
CENT = Decimal("0.01")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError("the pay period ends before it starts", {"end": "must be on or after the start"})

    @property
    def id(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and self.start <= d <= self.end


@dataclass(frozen=True)
class WorkedShift:
    employee_number: str
    shift_date: date
    paid_hours: Decimal  # accepted hours (reconciliation), overtime included
    overtime_hours: Decimal = Decimal(0)
    shift: str = "day"  # day | night: the night allowance counts nights
    site: str | None = None  # where it was worked: site allowances and public holidays are per site


@dataclass(frozen=True)
class Allowance:
    employee_number: str
    day: date
    code: str
    quantity: Decimal
    unit: str = "ea"
    rate_cents: int | None = None  # money per unit (allowances.py); None: the payroll system prices it
    multiplier: Decimal | None = None  # the loading of holiday hours


@dataclass(frozen=True)
class LeaveTaken:
    employee_number: str
    day: date
    code: str  # the leave type's payroll code
    days: Decimal = Decimal(1)


@dataclass(frozen=True, order=True)
class Row:
    employee_number: str
    kind_rank: int
    code: str
    kind: str
    unit: str
    employee_name: str
    quantity: Decimal
    multiplier: Decimal | None = None
    rate_cents: int | None = None

    @property
    def amount_cents(self) -> int | None:
        if self.rate_cents is None:
            return None
        return int((self.quantity * self.rate_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def worked_from_reconciliation(lines: Iterable[Line], outcome: Outcome, employee_numbers: Mapping[str, str],
                               overtime_by_key: Mapping[str, Decimal] | None = None,
                               site: str | None = None) -> list[WorkedShift]:
    """Paid shifts from reconciled lines: accepted paid hours, overtime (from attendance) capped at them.
    Refused while any of the lines is still open for review."""
    lines = list(lines)
    still_open = sorted(set(outcome.open) & {ln.key for ln in lines})
    if still_open:
        raise ValidationError(f"{len(still_open)} reconciliation line(s) still open: {', '.join(still_open[:5])}",
                              {"period": "decide every open reconciliation line before exporting"})
    shifts: list[WorkedShift] = []
    for ln in lines:
        number = employee_numbers.get(ln.employee_id)
        if number is None:
            raise ValidationError(f"no employee number for {ln.employee_id}",
                                  {"employee_number": f"set one for {ln.employee_id}"})
        paid = outcome.accepted[ln.key].paid_hours
        overtime = min((overtime_by_key or {}).get(ln.key, Decimal(0)), paid)
        shifts.append(WorkedShift(number, ln.shift_date, paid, overtime, ln.shift, site))
    return shifts


def leave_items(requests: Iterable[LeaveRequest], payroll_codes: Mapping[str, str],
                employee_numbers: Mapping[str, str],
                rostered_work_days: Mapping[str, Iterable[date]] | None = None) -> list[LeaveTaken]:
    """One leave item per day of approved leave, under the leave type's payroll code; with a roster (per
    employee id), only its work days, as the balance was charged (`leave.request_days`). Export them with
    `rows()`, which keeps the days inside the period."""
    items: list[LeaveTaken] = []
    for r in requests:
        if r.status != "approved":
            continue
        code = payroll_codes.get(r.leave_type)
        number = employee_numbers.get(r.employee_id)
        if code is None:
            raise ValidationError(f"leave type {r.leave_type} has no payroll code",
                                  {"payroll_code": f"set one for {r.leave_type}"})
        if number is None:
            raise ValidationError(f"no employee number for {r.employee_id}",
                                  {"employee_number": f"set one for {r.employee_id}"})
        # A person with no roster given is charged calendar days, as leave.check_request charges them.
        rostered = None if rostered_work_days is None else rostered_work_days.get(r.employee_id)
        work = None if rostered is None else frozenset(rostered)
        d = r.start
        while d <= r.end:
            if work is None or d in work:
                items.append(LeaveTaken(number, d, code))
            d += timedelta(days=1)
    return items


def _check_quantity(what: str, q: Decimal) -> None:
    if not q.is_finite() or q < 0:
        raise ValidationError(f"{what} is {q}", {"quantity": f"{what} must be 0 or more"})


def rows(period: Period, employees: Mapping[str, str], shifts: Iterable[WorkedShift] = (),
         allowances: Iterable[Allowance] = (), leave: Iterable[LeaveTaken] = ()) -> list[Row]:
    """The period's rows. `employees` maps employee number to name; items dated outside the period are
    left for the period they belong to."""
    Key = tuple[str, str, str, str, Decimal | None, int | None]
    totals: dict[Key, Decimal] = {}

    def add(number: str, kind: str, code: str, unit: str, q: Decimal, multiplier: Decimal | None = None,
            rate_cents: int | None = None) -> None:
        if number not in employees:
            raise ValidationError(f"employee {number} is not in this payroll",
                                  {"employee_number": f"{number} is not a known employee number"})
        if not code.strip():
            raise ValidationError(f"a {kind} item of {number} has no code", {"code": "is required"})
        key = (number, kind, code, unit, multiplier, rate_cents)
        totals[key] = totals.get(key, Decimal(0)) + q

    for s in shifts:
        if s.shift_date not in period:
            continue
        _check_quantity("paid hours", s.paid_hours)
        _check_quantity("overtime hours", s.overtime_hours)
        if s.overtime_hours > s.paid_hours:
            raise ValidationError(f"{s.employee_number} on {s.shift_date}: overtime exceeds paid hours",
                                  {"overtime_hours": "must not exceed the paid hours"})
        add(s.employee_number, "hours", "ORD", "h", s.paid_hours - s.overtime_hours)
        add(s.employee_number, "hours", "OT", "h", s.overtime_hours)
    for a in allowances:
        if a.day in period:
            _check_quantity(f"allowance {a.code}", a.quantity)
            if a.rate_cents is not None and a.rate_cents < 0:
                raise ValidationError(f"allowance {a.code} has a negative rate", {"rate_cents": "must be 0 or more"})
            add(a.employee_number, "allowance", a.code, a.unit, a.quantity, a.multiplier, a.rate_cents)
    for lv in leave:
        if lv.day in period:
            _check_quantity(f"leave {lv.code}", lv.days)
            add(lv.employee_number, "leave", lv.code, "d", lv.days)
    return sorted((Row(number, KIND_ORDER[kind], code, kind, unit, employees[number],
                       q.quantize(CENT, rounding=ROUND_HALF_UP), multiplier, rate)
                   for (number, kind, code, unit, multiplier, rate), q in totals.items()), key=_order)


def _order(r: Row) -> tuple[str, int, str, str, Decimal, int, str, Decimal]:
    # None sorts first (no total order between None and numbers): the same rows sort the same in any order.
    return (r.employee_number, r.kind_rank, r.code, r.unit, r.multiplier if r.multiplier is not None
            else Decimal(-1), -1 if r.rate_cents is None else r.rate_cents, r.employee_name, r.quantity)


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_csv(period: Period, payroll_rows: Iterable[Row]) -> str:
    """The CSV text of a period's rows (see the module docstring for the layout)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for r in sorted(payroll_rows, key=_order):
        amount = r.amount_cents
        writer.writerow((period.id, _cell(r.employee_number), _cell(r.employee_name), r.kind, _cell(r.code),
                         f"{r.quantity:.2f}", _cell(r.unit),
                         "" if r.multiplier is None else f"{r.multiplier.quantize(CENT, rounding=ROUND_HALF_UP):.2f}",
                         "" if r.rate_cents is None else str(r.rate_cents), "" if amount is None else str(amount)))
    return out.getvalue()


def export(period: Period, employees: Mapping[str, str], shifts: Iterable[WorkedShift] = (),
           allowances: Iterable[Allowance] = (), leave: Iterable[LeaveTaken] = ()) -> str:
    """rows() then to_csv(): the period's payroll file."""
    return to_csv(period, rows(period, employees, shifts, allowances, leave))
