"""Allowances derived from the worked shifts of a pay period (issue 14), by tenant-configured rules
(`hr.allowance_rule`, one record per allowance code), fed into `payroll.rows` as allowance items.

Bases (what one unit of the allowance is):
- `night_shift`: one unit (`ea`) per night shift worked, i.e. with paid hours above zero (a reconciliation line
  rejected to 0 h earns nothing). Priced at `rate_cents` per night.
- `public_holiday_hours`: the paid hours of every shift that starts on one of the site's public holidays (a
  shift belongs to the date it starts on, as everywhere in payroll), unit `h`, at `multiplier` (e.g. 1.5: the
  payroll system applies the person's own hourly rate; Pitline does not hold pay rates). The hours stay in
  ORD/OT as well: this row is the loading on them, not a second payment of them.
- `site_day`: one unit (`d`) per date with at least one paid shift at a site the rule applies to (on-site or
  remote allowance). Priced at `rate_cents` per day.
A rule with a `site` applies to shifts worked at that site only; without one, at every site.
Money is integer cents (docs/finance.md); `amount_cents` = quantity × rate, rounded half up to the cent.
Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.conflicts import Strategy
from shared.domain.payroll import Allowance, WorkedShift
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError

ALLOWANCE_RULE = "hr.allowance_rule"
BASES = ("night_shift", "public_holiday_hours", "site_day")
UNITS = {"night_shift": "ea", "public_holiday_hours": "h", "site_day": "d"}
MAX_MULTIPLIER = Decimal(10)


@dataclass(frozen=True)
class AllowanceRule:
    code: str
    basis: str  # one of BASES
    rate_cents: int | None = None  # per unit, for night_shift and site_day
    multiplier: Decimal | None = None  # for public_holiday_hours
    site: str | None = None  # None: every site


def check_rule(record: Mapping[str, Any]) -> AllowanceRule:
    """An `hr.allowance_rule` record as a rule, or ValidationError naming the field to fix."""
    code = str(record.get("code") or "").strip()
    if not code:
        raise ValidationError("an allowance needs a code", {"code": "is required (the payroll system's code)"})
    basis = record.get("basis")
    if basis not in BASES:
        raise ValidationError(f"unknown basis {basis!r}", {"basis": "must be one of " + ", ".join(BASES)})
    site = str(record.get("site") or "").strip() or None
    if basis == "public_holiday_hours":
        raw = record.get("multiplier")
        multiplier = None if raw is None or isinstance(raw, bool) else Decimal(str(raw))
        if multiplier is None or not multiplier.is_finite() or not Decimal(0) < multiplier <= MAX_MULTIPLIER:
            raise ValidationError("a holiday allowance needs a multiplier",
                                  {"multiplier": f"must be above 0 and at most {MAX_MULTIPLIER} (e.g. 1.5)"})
        return AllowanceRule(code, basis, None, multiplier, site)
    rate = record.get("rate_cents")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0 or not float(rate).is_integer():
        raise ValidationError(f"{code} needs a rate in whole cents",
                              {"rate_cents": "must be a whole number of cents, 0 or more (4500 = 45.00)"})
    return AllowanceRule(code, basis, int(rate), None, site)


def _record_check(record: Mapping[str, Any]) -> None:
    check_rule(record)


def allowance_items(shifts: Iterable[WorkedShift], rules: Iterable[AllowanceRule],
                    public_holidays: Mapping[str | None, Iterable[date]]) -> list[Allowance]:
    """Allowance items of the worked shifts by every rule. `public_holidays` maps a site id to its holiday
    dates (key None: holidays of shifts with no site). Items are per shift or per day; `payroll.rows` sums
    them per employee and code and keeps only the period's dates."""
    rules = list(rules)
    shifts = [s for s in shifts if s.paid_hours > 0]
    by_site = {site: frozenset(days) for site, days in public_holidays.items()}
    items: list[Allowance] = []
    for rule in sorted(rules, key=lambda r: r.code):
        unit = UNITS[rule.basis]
        applies = [s for s in shifts if rule.site is None or s.site == rule.site]
        if rule.basis == "night_shift":
            items += [Allowance(s.employee_number, s.shift_date, rule.code, Decimal(1), unit, rule.rate_cents)
                      for s in applies if s.shift == "night"]
        elif rule.basis == "public_holiday_hours":
            items += [Allowance(s.employee_number, s.shift_date, rule.code, s.paid_hours, unit, None,
                                rule.multiplier)
                      for s in applies if s.shift_date in by_site.get(s.site, frozenset())]
        else:  # site_day: one per person per date, however many shifts
            days = sorted({(s.employee_number, s.shift_date) for s in applies})
            items += [Allowance(number, d, rule.code, Decimal(1), unit, rule.rate_cents) for number, d in days]
    return items


ALLOWANCE_RULE_SPEC = register(
    EntitySpec(
        name=ALLOWANCE_RULE,
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,  # the tenant's pay rules; a rule names a site when it is for one site only
        fields={
            "code": FieldSpec("str", required=True, max_length=16, label="Payroll code"),
            "name": FieldSpec("str", max_length=64, label="Allowance"),
            "basis": FieldSpec("str", required=True, choices=BASES, label="Paid per"),
            "rate_cents": FieldSpec("int", min=0, label="Rate per unit (cents)"),
            "multiplier": FieldSpec("number", min=0, max=float(MAX_MULTIPLIER), label="Multiplier (holiday hours)"),
            "site": FieldSpec("str", max_length=64, label="Only at site (empty: every site)"),
        },
        record_check=_record_check,
    )
)
