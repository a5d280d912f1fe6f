"""The payroll file of a period from the local replica, by the shared rules: every day's reconciliation lines
(usage logs and attendance), the supervisors' decisions on them (`hr.reconciliation_review`), and approved leave
under each leave type's payroll code, and the allowances the tenant's rules derive from the paid shifts and the
site's public holidays (`shared.domain.allowances`; layout in docs/people.md). Refused while any flagged line of
the period is still open, so payroll never pays hours nobody looked at."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from desktop.leave_balance import requests_of
from desktop.reconciliation_lines import lines_for
from desktop.site_settings_store import allowance_rules, site_holidays, site_of
from shared.domain.allowances import allowance_items
from shared.domain.payroll import Period, export, leave_items, worked_from_reconciliation
from shared.domain.reconciliation import Decision, Line, reconcile
from shared.errors import ValidationError
from shared.store import LocalStore

DECIDED = {"accepted": "accept", "corrected": "correct", "rejected": "reject"}  # as recorded -> the rule's words
MAX_DAYS = 62


def _decisions(store: LocalStore, lines: list[Line]) -> list[Decision]:
    out = []
    for line in lines:
        review = store.get("hr.reconciliation_review", line.key)
        s = (review.state or {}) if review else {}
        decided = DECIDED.get(str(s.get("decision") or ""))
        if decided is None:
            continue  # open: reconcile() reports it
        paid, machine = s.get("paid_hours"), s.get("machine_hours")
        out.append(Decision(line.key, decided, str(s.get("reason") or ""),
                            None if paid is None else Decimal(str(paid)),
                            None if machine is None else Decimal(str(machine))))
    return out


def payroll_csv(store: LocalStore, start: date, end: date, threshold: Decimal) -> str:
    """The period's payroll CSV, or ValidationError naming what to fix first (open lines, missing numbers)."""
    if end < start:
        raise ValidationError("the period ends before it starts", {"end": "must be on or after the first day"})
    if (end - start).days >= MAX_DAYS:
        raise ValidationError(f"a payroll period is at most {MAX_DAYS} days", {"end": "choose a shorter period"})
    lines: list[Line] = []
    day = start
    while day <= end:
        lines += lines_for(store, day)
        day += timedelta(days=1)
    outcome = reconcile(lines, threshold, _decisions(store, lines))
    employees = {r.entity_id: (r.state or {}) for r in store.query("hr.employee")}
    numbers = {eid: str(s["number"]) for eid, s in employees.items() if s.get("number")}
    names = {str(s["number"]): str(s.get("name") or "") for s in employees.values() if s.get("number")}
    codes = {str(s.get("code")): str(s.get("payroll_code") or s.get("code"))
             for s in (r.state or {} for r in store.query("hr.leave_type"))}
    leave = leave_items([req for eid in employees for req in requests_of(store, eid)], codes, numbers)
    site = site_of(store)
    worked = worked_from_reconciliation(lines, outcome, numbers, site=site)
    allowances = allowance_items(worked, allowance_rules(store), {site: site_holidays(store)})
    return export(Period(start, end), names, worked, allowances, leave)


def write_payroll_file(store: LocalStore, start: date, end: date, threshold: Decimal, folder: Path) -> Path:
    """Write the period's file as `payroll-<start>..<end>.csv` in `folder` (replaced whole: the same period
    exported again gives the same bytes)."""
    path = folder / f"payroll-{start.isoformat()}..{end.isoformat()}.csv"
    text = payroll_csv(store, start, end, threshold)
    partial = path.with_suffix(".csv.partial")
    partial.write_text(text, encoding="utf-8", newline="")
    partial.replace(path)  # never a half-written payroll file
    return path
