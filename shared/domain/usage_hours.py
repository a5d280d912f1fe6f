"""Engine hours per machine from `equipment.usage_log` records, for rental invoices and units-of-production
depreciation (one rule, so what a customer is billed and what the machine is depreciated by agree).

- A shift's engine hours are its operating + idle hours: the engine ran (the hour meter counts both); standby,
  repair and unknown time are not engine hours (D41).
- The shift date decides the day a shift belongs to: a night shift that starts on 31 October is October's,
  even though most of it runs on 1 November (the same rule as payroll and the KPIs).
- One shift may be logged twice, by hand and by the gateway (`<equipment>:<date>:<shift>:telematics`). The
  measured log wins over the typed one; two logs of the same source keep the later id. Never both.
- Billing bills the *accepted* hours (issue 14, D64, `billable_usage`): a machine's shift that an operator's
  reconciliation line (shared/domain/reconciliation.py) names bills the measured hours only while every such
  line is accepted as it stands (not flagged, or decided `accept`, or `correct` without machine hours). A line
  decided `reject` takes that operator's part of the machine's hours out (0 billed, as the reconciliation
  rule says); a `correct` with machine hours puts the supervisor's figure in place of the operator's part,
  split over the line's machines in proportion to the operator's part of each. An operator's part of a
  machine is the machine's measured hours shared among the operators who logged it in proportion to their
  logged engine hours (equally when all logged 0), as the reconciliation shares the gateway's hours. A flagged
  line nobody has decided leaves the shift open: it cannot be billed yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from shared.domain.finance import ZERO
from shared.domain.reconciliation import Decision, Line, UsageLog, flags, lines_from_logs, reconcile

DEFAULT_THRESHOLD = Decimal("0.5")  # hours: the reconciliation screens' default until the site has a setting


@dataclass(frozen=True)
class UsageShift:
    log_id: str
    equipment_id: str
    shift_date: date
    shift: str
    engine_hours: Decimal
    source: str = "manual"
    operator: str | None = None  # on manual logs: who ran it (the name as written)


def _hours(raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return ZERO
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        return ZERO
    return value if value.is_finite() and value > 0 else ZERO


def usage_from_payload(log_id: str, payload: Mapping[str, object]) -> UsageShift | None:
    """A usage log as engine hours (None for a record without machine or date: it cannot be placed)."""
    equipment = str(payload.get("equipment_id") or "")
    try:
        day = date.fromisoformat(str(payload.get("shift_date") or ""))
    except ValueError:
        return None
    if not equipment:
        return None
    hours = _hours(payload.get("operating_hours")) + _hours(payload.get("idle_hours"))
    operator = payload.get("operator")
    return UsageShift(log_id, equipment, day, str(payload.get("shift") or ""), hours,
                      str(payload.get("source") or "manual"), str(operator) if operator else None)


def deduplicate(shifts: Iterable[UsageShift]) -> list[UsageShift]:
    """One log per (machine, shift date, shift): telematics over manual, then the later id."""
    best: dict[tuple[str, date, str], UsageShift] = {}
    for s in shifts:
        key = (s.equipment_id, s.shift_date, s.shift)
        held = best.get(key)
        if held is None or (s.source == "telematics", s.log_id) > (held.source == "telematics", held.log_id):
            best[key] = s
    return sorted(best.values(), key=lambda s: (s.equipment_id, s.shift_date, s.shift))


def engine_hours(shifts: Iterable[UsageShift], equipment_id: str, first: date | None, last: date) -> Decimal:
    """Engine hours of one machine over shift dates first..last inclusive (from the beginning when first is None).
    Expects deduplicated shifts."""
    return sum((s.engine_hours for s in shifts if s.equipment_id == equipment_id and s.shift_date <= last
                and (first is None or s.shift_date >= first)), ZERO)


# --- the accepted hours (D64) ------------------------------------------------------------------------------
ShiftKey = tuple[str, date, str]  # (equipment, shift date, shift)


@dataclass(frozen=True)
class ShiftHours:
    """One machine shift as billing sees it: what was measured, what bills, and where that came from."""

    equipment_id: str
    shift_date: date
    shift: str
    measured: Decimal
    billed: Decimal
    source: str  # gateway | log | reconciled
    note: str = ""  # for reconciled: whose decision changed what


@dataclass(frozen=True)
class OpenShift:
    """A machine shift named by a flagged reconciliation line nobody has decided."""

    equipment_id: str
    shift_date: date
    shift: str
    line_key: str
    flags: tuple[str, ...]

    def message(self) -> str:
        operator = self.line_key.split(":", 1)[0]
        return (f"{self.equipment_id} {self.shift_date} {self.shift} shift: operator {operator}'s hours are flagged "
                f"({', '.join(self.flags)}) and not decided; decide the line in Hours reconciliation first")


@dataclass(frozen=True)
class BillableUsage:
    shifts: list[UsageShift]  # deduplicated, engine hours = the hours to bill
    details: dict[ShiftKey, ShiftHours]
    open: list[OpenShift]


def threshold_from_settings(record: Mapping[str, object] | None) -> Decimal:
    """The site's reconciliation threshold from its `hr.site_settings` record (`threshold_hours`), the default
    when there is none or it does not read as 0 to 24 hours (the payroll and reconciliation screens' rule)."""
    raw = (record or {}).get("threshold_hours")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return DEFAULT_THRESHOLD
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        return DEFAULT_THRESHOLD
    return value if value.is_finite() and 0 <= value <= 24 else DEFAULT_THRESHOLD


def _h(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _parts(shifts: Sequence[UsageShift], measured: Mapping[ShiftKey, UsageShift],
           employee_of: Mapping[str, str]) -> dict[ShiftKey, dict[str, Decimal]]:
    """Per machine shift, each operator's part of the measured hours (by their logged engine hours)."""
    logged: dict[ShiftKey, dict[str, Decimal]] = {}
    for s in shifts:
        employee = employee_of.get(s.operator) if s.operator and s.source != "telematics" else None
        if employee is None:
            continue
        by = logged.setdefault((s.equipment_id, s.shift_date, s.shift), {})
        by[employee] = by.get(employee, ZERO) + s.engine_hours
    out: dict[ShiftKey, dict[str, Decimal]] = {}
    for key, by in logged.items():
        total = sum(by.values(), ZERO)
        hours_measured = measured[key].engine_hours if key in measured else ZERO
        out[key] = {e: (hours_measured * own / total if total > 0 else hours_measured / len(by))
                    for e, own in by.items()}
    return out


def billable_usage(shifts: Iterable[UsageShift], lines: Iterable[Line], decisions: Iterable[Decision],
                   threshold: Decimal, employee_of: Mapping[str, str]) -> BillableUsage:
    """The hours to bill per machine shift from every usage log (manual and telematics, not deduplicated) and
    the shifts' reconciliation lines with the supervisors' decisions (D64).

    `employee_of` maps the operator names written on manual logs to employee ids (as `lines_from_logs`)."""
    every = list(shifts)
    kept = deduplicate(every)
    measured = {(s.equipment_id, s.shift_date, s.shift): s for s in kept}
    parts = _parts(every, measured, employee_of)
    line_list = list(lines)
    by_key = {d.key: d for d in decisions}
    outcome = reconcile(line_list, threshold, by_key.values())  # checks every decision it uses
    open_keys = set(outcome.open)
    opened: list[OpenShift] = []
    replaced: dict[ShiftKey, list[tuple[str, Decimal, str]]] = {}  # shift -> (employee, billed part, note)
    for line in line_list:
        found = flags(line, threshold)
        if not found:
            continue
        keys = [(e, line.shift_date, line.shift) for e in line.equipment_ids]
        if line.key in open_keys:
            opened += [OpenShift(e, line.shift_date, line.shift, line.key, tuple(found)) for e in line.equipment_ids]
            continue
        d = by_key[line.key]
        if d.decision == "accept" or (d.decision == "correct" and d.machine_hours is None):
            continue  # the measures stand
        own = {k: parts.get(k, {}).get(line.employee_id, ZERO) for k in keys}
        total = sum(own.values(), ZERO)
        for k in keys:
            if d.decision == "reject":
                part, note = ZERO, f"{line.employee_id} rejected ({_h(own[k])} h taken out)"
            else:
                assert d.machine_hours is not None
                share = own[k] / total if total > 0 else Decimal(1) / len(keys)
                part = d.machine_hours * share
                note = f"{line.employee_id} corrected to {_h(part)} h (measured {_h(own[k])} h)"
            replaced.setdefault(k, []).append((line.employee_id, part, note))
    out: list[UsageShift] = []
    details: dict[ShiftKey, ShiftHours] = {}
    for key, s in measured.items():
        source = "gateway" if s.source == "telematics" else "log"
        changes = replaced.get(key)
        if not changes:
            details[key] = ShiftHours(*key, s.engine_hours, s.engine_hours, source)
            out.append(s)
            continue
        billed = s.engine_hours
        for employee, part, _ in changes:
            billed += part - parts.get(key, {}).get(employee, ZERO)
        billed = max(_h(billed), ZERO)
        details[key] = ShiftHours(*key, s.engine_hours, billed, "reconciled", "; ".join(n for _, _, n in changes))
        out.append(replace(s, engine_hours=billed))
    return BillableUsage(out, details, sorted(opened, key=lambda o: (o.equipment_id, o.shift_date, o.shift,
                                                                     o.line_key)))


def hours_sources(details: Mapping[ShiftKey, ShiftHours], equipment_id: str, first: date, last: date) -> str:
    """Where a machine's billed hours over first..last came from, for the invoice line: hours by source, and
    each reconciled shift with its decision (e.g. 'gateway 16.00 h; reconciled 6.00 h (2026-11-03 day: ...)')."""
    mine = sorted((d for d in details.values() if d.equipment_id == equipment_id and first <= d.shift_date <= last),
                  key=lambda d: (d.shift_date, d.shift))
    out = []
    for source in ("gateway", "log", "reconciled"):
        of = [d for d in mine if d.source == source and (d.billed > 0 or d.measured > 0)]
        if not of:
            continue
        text = f"{source} {_h(sum((d.billed for d in of), ZERO))} h"
        if source == "reconciled":
            text += " (" + "; ".join(f"{d.shift_date} {d.shift}: {_h(d.measured)} measured, {d.billed} billed, {d.note}"
                                     for d in of) + ")"
        out.append(text)
    return "; ".join(out)


# --- the reconciliation's inputs from records (the hub's side; the desktop reads HR's reconciliation_lines) ----
RECORDED = {"accepted": "accept", "corrected": "correct", "rejected": "reject"}  # as stored -> the rule's words


def operator_names(employees: Mapping[str, Mapping[str, object]]) -> dict[str, str]:
    """The names written on usage logs (id, number, name or sign-in user) -> employee id."""
    out: dict[str, str] = {}
    for eid, s in sorted(employees.items()):
        for name in (eid, s.get("number"), s.get("name"), s.get("user_id")):
            if name:
                out.setdefault(str(name), eid)
    return out


def lines_from_records(usage_logs: Iterable[Mapping[str, object]], attendance: Iterable[Mapping[str, object]],
                       employees: Mapping[str, Mapping[str, object]]) -> list[Line]:
    """Reconciliation lines of every shift in these `equipment.usage_log` and `hr.attendance` records, built as
    the desktop's reconciliation screen and payroll export build them (completed attendance only)."""
    logs = []
    for s in usage_logs:
        try:
            day = date.fromisoformat(str(s.get("shift_date")))
            op = Decimal(str(s.get("operating_hours") or 0))
        except (ValueError, ArithmeticError):
            continue  # the record checks refuse these; an old one bills nothing rather than crash the check
        operator = s.get("operator")
        logs.append(UsageLog(str(s.get("equipment_id") or ""), day, str(s.get("shift") or ""), op,
                             str(s.get("source") or "manual"), str(operator) if operator else None))
    clocked: dict[tuple[str, date, str], Decimal] = {}
    for s in attendance:
        if not s.get("clock_out"):
            continue  # still on shift: nothing to compare yet
        try:
            day = date.fromisoformat(str(s.get("shift_date")))
            worked = datetime.fromisoformat(str(s["clock_out"])) - datetime.fromisoformat(str(s["clock_in"]))
        except (KeyError, ValueError, TypeError):
            continue
        key = (str(s.get("employee_id")), day, str(s.get("shift")))
        clocked[key] = clocked.get(key, ZERO) + Decimal(str(worked.total_seconds())) / 3600
    return lines_from_logs(logs, clocked, operator_names(employees)).lines


def decisions_from_reviews(reviews: Mapping[str, Mapping[str, object]]) -> list[Decision]:
    """The supervisors' decisions in `hr.reconciliation_review` records (id = the line's key), as payroll reads
    them; a review still `open` is no decision."""
    out = []
    for key, s in sorted(reviews.items()):
        decided = RECORDED.get(str(s.get("decision") or ""))
        if decided is None:
            continue
        paid, machine = s.get("paid_hours"), s.get("machine_hours")
        out.append(Decision(key, decided, str(s.get("reason") or ""), None if paid is None else Decimal(str(paid)),
                            None if machine is None else Decimal(str(machine))))
    return out
