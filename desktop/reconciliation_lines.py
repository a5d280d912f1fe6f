"""Reconciliation lines for one shift date from the local replica: usage logs (manual and telematics) and
clocked attendance, through the shared `reconciliation.lines_from_logs`; with each line's review record
(`hr.reconciliation_review`, id = the line's key) when one exists."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from desktop import table_query
from desktop.usage_log_form import authorisation_problem
from shared.domain.operator_authorisation import flagged
from shared.domain.reconciliation import Line, UsageLog, lines_from_logs
from shared.store import LocalStore

MAX_LOGS = 100_000  # a day of a 200-machine site is 400 logs


def operator_names(store: LocalStore) -> dict[str, str]:
    """The names written on usage logs (id, number, name or sign-in user) -> employee id."""
    out: dict[str, str] = {}
    for r in store.query("hr.employee"):
        s = r.state or {}
        for name in (r.entity_id, s.get("number"), s.get("name"), s.get("user_id")):
            if name:
                out.setdefault(str(name), r.entity_id)
    return out


def lines_for(store: LocalStore, day: date) -> list[Line]:
    logs = [UsageLog(str(s["equipment_id"]), day, str(s["shift"]), Decimal(str(s.get("operating_hours") or 0)),
                     str(s.get("source") or "manual"), s.get("operator"))
            for r in table_query.page(store, "equipment.usage_log", where={"shift_date": day.isoformat()},
                                      order_by=None, limit=MAX_LOGS, offset=0) if (s := r.state or {})]
    clocked: dict[tuple[str, date, str], Decimal] = {}
    for r in store.query("hr.attendance", where={"shift_date": day.isoformat()}):
        s = r.state or {}
        if not s.get("clock_out"):
            continue  # still on shift: nothing to compare yet
        worked = (datetime.fromisoformat(str(s["clock_out"])) - datetime.fromisoformat(str(s["clock_in"])))
        key = (str(s["employee_id"]), day, str(s["shift"]))
        clocked[key] = clocked.get(key, Decimal(0)) + Decimal(str(worked.total_seconds())) / 3600
    return lines_from_logs(logs, clocked, operator_names(store)).lines


def unauthorised_logs(store: LocalStore, day: date) -> list[tuple[str, dict[str, Any], str]]:
    """The day's logs whose operator may not run the machine (D81): (log id, log, why). Flagged when recorded
    (saved against the warning), or found so now by the same rule (a log from another office, or a record
    changed since); a flagged log whose operator has been authorised since still shows, saying so."""
    out = []
    for r in table_query.page(store, "equipment.usage_log", where={"shift_date": day.isoformat()},
                              order_by=None, limit=MAX_LOGS, offset=0):
        s = dict(r.state or {})
        if not s.get("operator"):
            continue
        now = authorisation_problem(store, s)
        if flagged(s):
            out.append((r.entity_id, s, "flagged when recorded: " + (now or "authorised since")))
        elif now is not None:
            out.append((r.entity_id, s, "not flagged when recorded: " + now))
    return sorted(out, key=lambda x: (str(x[1].get("shift")), str(x[1].get("equipment_id")), x[0]))
