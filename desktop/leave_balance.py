"""A person's leave balance from the local replica, by the shared leave rules: every year since the hire
date is accrued and capped at its end (`leave.year_end`), less the live requests of that leave type, so the
balance carried into this year is derived, not typed. Requests are priced by calendar days (the roster-priced
variant needs the roster generated for the whole year, which the desktop does not hold yet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.domain.leave import LeaveRequest, LeaveType, accrued
from shared.domain.leave_approval import booked, carried_into, request_from
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
    """The person's requests; an `approved_negative` flag counts only as the shared rule says (an approver's)."""
    employee = (r.state or {}) if (r := store.get("hr.employee", employee_id)) else {}
    user = str(employee["user_id"]) if employee.get("user_id") else None
    return [request_from(record.entity_id, {**(record.state or {}), "employee_id": employee_id}, user)
            for record in store.query("hr.leave_request", where={"employee_id": employee_id})]


def balance_on(rule: LeaveType, employee: dict[str, Any], requests: list[LeaveRequest], as_of: date,
               skip: str | None = None) -> Balance:
    hire = date.fromisoformat(str(employee["hire_date"]))
    end = date.fromisoformat(str(employee["end_date"])) if employee.get("end_date") else None
    return Balance(carried_into(rule, as_of.year, hire, requests, end), accrued(rule, as_of.year, hire, as_of, end),
                   booked(rule, requests, as_of.year, skip))
