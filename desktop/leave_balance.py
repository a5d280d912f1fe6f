"""A person's leave balance from the local replica, by the shared leave rules: every year since the hire
date is accrued and capped at its end (`leave.year_end`), less the live requests of that leave type, so the
balance carried into this year is derived, not typed. Requests are priced by calendar days (the roster-priced
variant needs the roster generated for the whole year, which the desktop does not hold yet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.domain.leave import (
    LIVE_STATUSES,
    LeaveRequest,
    LeaveType,
    accrued,
    request_days,
    year_end,
)
from shared.store import LocalStore


@dataclass(frozen=True)
class Balance:
    carried_in: Decimal
    accrued: Decimal
    booked: Decimal  # live requests of the type in the year, this one excluded

    @property
    def available(self) -> Decimal:
        return self.carried_in + self.accrued - self.booked


def leave_type(store: LocalStore, code: str) -> LeaveType | None:
    wanted = code.strip().upper()
    for record in store.query("hr.leave_type"):
        state = record.state or {}
        if str(state.get("code", "")).strip().upper() == wanted:
            cap = state.get("carry_over_cap")
            return LeaveType(str(state["code"]), Decimal(str(state["days_per_month"])),
                             None if cap is None else Decimal(str(cap)))
    return None


def requests_of(store: LocalStore, employee_id: str) -> list[LeaveRequest]:
    out = []
    for record in store.query("hr.leave_request", where={"employee_id": employee_id}):
        s = record.state or {}
        out.append(LeaveRequest(record.entity_id, employee_id, str(s.get("leave_type")),
                                date.fromisoformat(str(s["start_date"])), date.fromisoformat(str(s["end_date"])),
                                str(s.get("status") or "requested"), bool(s.get("approved_negative"))))
    return out


def _booked(rule: LeaveType, requests: list[LeaveRequest], year: int, skip: str | None = None) -> Decimal:
    return sum((request_days(r.start, r.end) for r in requests if r.leave_type == rule.code and r.id != skip
                and r.status in LIVE_STATUSES and r.start.year == year), Decimal(0))


def carried_into(rule: LeaveType, year: int, hire: date, requests: list[LeaveRequest],
                 end: date | None = None) -> Decimal:
    carried = Decimal(0)
    for y in range(hire.year, year):
        closing = carried + accrued(rule, y, hire, date(y, 12, 31), end) - _booked(rule, requests, y)
        carried = year_end(rule, closing).carried
    return carried


def balance_on(rule: LeaveType, employee: dict[str, Any], requests: list[LeaveRequest], as_of: date,
               skip: str | None = None) -> Balance:
    hire = date.fromisoformat(str(employee["hire_date"]))
    end = date.fromisoformat(str(employee["end_date"])) if employee.get("end_date") else None
    return Balance(carried_into(rule, as_of.year, hire, requests, end), accrued(rule, as_of.year, hire, as_of, end),
                   _booked(rule, requests, as_of.year, skip))
