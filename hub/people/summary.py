"""A period's hours reconciliation for HQ, from the records the hub holds, by the same shared rules the desktops
run (`reconciliation.lines_from_logs`, `reconcile`): per shift date the usage logs and the completed attendance,
the supervisors' decisions, and what payroll would pay. Pure: records in, a JSON-ready summary out (D54)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.domain.reconciliation import (
    Decision,
    Line,
    UsageLog,
    check_decision,
    flags,
    hours,
    lines_from_logs,
    reconcile,
)
from shared.errors import ValidationError

DECIDED = {"accepted": "accept", "corrected": "correct", "rejected": "reject"}
MAX_OPEN_LISTED = 100
Rec = Mapping[str, Any]


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _decisions(reviews: Mapping[str, Rec]) -> list[Decision]:
    out = []
    for key, s in reviews.items():
        word = DECIDED.get(str(s.get("decision") or ""))
        if word is not None:
            correct = word == "correct"
            out.append(Decision(key, word, str(s.get("reason") or ""),
                                _dec(s.get("paid_hours")) if correct else None,
                                _dec(s.get("machine_hours")) if correct else None))
    return out


def _employee_of(employees: Mapping[str, Rec]) -> dict[str, str]:
    """The names written on usage logs (id, number, name, sign-in user) -> employee id, as the desktop maps them."""
    out: dict[str, str] = {}
    for eid, s in sorted(employees.items()):
        for name in (eid, s.get("number"), s.get("name"), s.get("user_id")):
            if name:
                out.setdefault(str(name), eid)
    return out


def _clocked(attendance: Iterable[Rec]) -> dict[tuple[str, date, str], Decimal]:
    out: dict[tuple[str, date, str], Decimal] = {}
    for s in attendance:
        if not s.get("clock_out"):
            continue  # still on shift
        try:  # aware instants: the 13 h night is 13 h
            worked = datetime.fromisoformat(str(s["clock_out"])) - datetime.fromisoformat(str(s["clock_in"]))
            key = (str(s["employee_id"]), date.fromisoformat(str(s["shift_date"])), str(s["shift"]))
        except (KeyError, ValueError):
            continue
        out[key] = out.get(key, Decimal(0)) + Decimal(str(worked.total_seconds())) / 3600
    return out


def _logs(usage_logs: Iterable[Rec]) -> list[UsageLog]:
    out = []
    for s in usage_logs:
        try:
            out.append(UsageLog(str(s["equipment_id"]), date.fromisoformat(str(s["shift_date"])), str(s["shift"]),
                                Decimal(str(s.get("operating_hours") or 0)), str(s.get("source") or "manual"),
                                s.get("operator")))
        except (KeyError, ValueError, ArithmeticError):
            continue
    return out


def summarise(start: date, end: date, threshold: Decimal, employees: Mapping[str, Rec], usage_logs: Iterable[Rec],
              attendance: Iterable[Rec], reviews: Mapping[str, Rec]) -> dict[str, Any]:
    """Lines, flags, decisions and accepted hours of the period, in total and per employee (hours as text)."""
    logs, clocked, employee_of = _logs(usage_logs), _clocked(attendance), _employee_of(employees)
    lines: list[Line] = []
    unattributed = Decimal(0)
    unknown: set[str] = set()
    day = start
    while day <= end:
        built = lines_from_logs([lg for lg in logs if lg.shift_date == day],
                                {k: v for k, v in clocked.items() if k[1] == day}, employee_of)
        lines += built.lines
        unattributed += sum((h for *_, h in built.unattributed), Decimal(0))
        unknown |= set(built.unknown_operators)
        day += timedelta(days=1)
    decisions = {d.key: d for d in _decisions(reviews)}
    for ln in lines:  # a decision the rule cannot take (written before the hub checked them) leaves its line open
        if ln.key in decisions:
            try:
                check_decision(ln, decisions[ln.key])
            except ValidationError:
                del decisions[ln.key]
    outcome = reconcile(lines, threshold, list(decisions.values()))
    flagged = [ln for ln in lines if flags(ln, threshold)]
    decided = {word: 0 for word in DECIDED}
    for ln in flagged:
        recorded = str((reviews.get(ln.key) or {}).get("decision") or "open")
        if recorded in decided and ln.key not in outcome.open:
            decided[recorded] += 1
    per: dict[str, dict[str, Any]] = {}
    for ln in lines:
        row = per.setdefault(ln.employee_id, {"shifts": 0, "paid": Decimal(0), "machine": Decimal(0), "open": 0})
        row["shifts"] += 1
        accepted = outcome.accepted.get(ln.key)
        if accepted is None:
            row["open"] += 1
        else:
            row["paid"] += accepted.paid_hours
            row["machine"] += accepted.machine_hours

    def text(h: Decimal) -> str:
        return str(hours(h))

    return {
        "from": start.isoformat(), "to": end.isoformat(), "threshold_hours": str(threshold),
        "lines": len(lines), "flagged": len(flagged), "open": len(outcome.open), "decided": decided,
        "paid_hours": text(sum((a.paid_hours for a in outcome.accepted.values()), Decimal(0))),
        "machine_hours": text(sum((a.machine_hours for a in outcome.accepted.values()), Decimal(0))),
        "unattributed_machine_hours": text(unattributed), "unknown_operators": sorted(unknown),
        "open_lines": outcome.open[:MAX_OPEN_LISTED],
        "employees": [{"employee_id": eid, "number": (employees.get(eid) or {}).get("number"),
                       "name": (employees.get(eid) or {}).get("name"), "shifts": r["shifts"],
                       "paid_hours": text(r["paid"]), "machine_hours": text(r["machine"]), "open": r["open"]}
                      for eid, r in sorted(per.items())],
    }


def merge(start: date, end: date, parts: Mapping[str | None, dict[str, Any]]) -> dict[str, Any]:
    """One answer from per-site summaries (each reconciled by its own site's threshold, D70): counts and hours
    summed, employees who worked at two sites summed into one row, the thresholds listed per site."""
    out: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat(), "threshold_hours": None,
                           "lines": 0, "flagged": 0, "open": 0, "decided": {word: 0 for word in DECIDED}}
    sums = {"paid_hours": Decimal(0), "machine_hours": Decimal(0), "unattributed_machine_hours": Decimal(0)}
    unknown: set[str] = set()
    open_lines: list[str] = []
    people: dict[str, dict[str, Any]] = {}
    for _site, part in sorted(parts.items(), key=lambda kv: kv[0] or ""):
        for name in ("lines", "flagged", "open"):
            out[name] += part[name]
        for word, n in part["decided"].items():
            out["decided"][word] += n
        for name in sums:
            sums[name] += Decimal(part[name])
        unknown |= set(part["unknown_operators"])
        open_lines += part["open_lines"]
        for e in part["employees"]:
            row = people.setdefault(e["employee_id"], {**e, "shifts": 0, "paid_hours": "0", "machine_hours": "0",
                                                       "open": 0})
            row["shifts"] += e["shifts"]
            row["open"] += e["open"]
            for name in ("paid_hours", "machine_hours"):
                row[name] = str(hours(Decimal(row[name]) + Decimal(e[name])))
    out.update({name: str(hours(v)) for name, v in sums.items()})
    out.update(unknown_operators=sorted(unknown), open_lines=sorted(open_lines)[:MAX_OPEN_LISTED],
               employees=[people[eid] for eid in sorted(people)])
    return out
