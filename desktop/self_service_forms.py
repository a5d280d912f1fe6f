"""Operator self-service: who the signed-in person is (the `hr.employee` whose `user_id` is them), the leave
request they may make for themselves only, and clocking themselves in and out (`own_clock`, D71). The request
goes through the same shared checks as HR's form (overlap beside the first day, over the balance beside the last
day), and both through the own-records rule the hub applies (`shared.permissions.own_write_refusal`), so the
desktop refuses what the hub would."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from desktop.attendance_form import check_against_others
from desktop.leave_balance import carried_into, leave_type, requests_of
from desktop.mutation_form import MutationForm, need_text
from shared.domain.leave import LeaveRequest, check_request
from shared.domain.shifts import ShiftPattern, shift_at
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.permissions import own_rule, own_write_refusal
from shared.store import LocalRecord, LocalStore, MutationDraft

LEAVE = "hr.leave_request"
ATTENDANCE = "hr.attendance"


def me(store: LocalStore, actor: str) -> tuple[str, dict[str, Any]] | None:
    """The employee (id, state) the signed-in user is, or None when HR has not linked them."""
    found = [r for r in store.query("hr.employee", where={"user_id": actor}) if not r.deleted]
    return (found[0].entity_id, dict(found[0].state or {})) if found else None


def _date(values: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(need_text(values, name))
    except ValueError:
        raise ValidationError(f"{name} is not a date", {name: "must be a date (YYYY-MM-DD)"}) from None


def own_leave_form(store: LocalStore, actor: str, roles: frozenset[str]) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        person = me(store, actor)
        if person is None:
            raise ValidationError(f"{actor} is not linked to an employee",
                                  {"leave_type": "your sign-in is not linked to an employee: ask HR"})
        employee_id, employee = person
        code = need_text(values, "leave_type")
        rule = leave_type(store, code)
        if rule is None:
            raise ValidationError(f"no leave type {code}", {"leave_type": f"no leave type {code}"})
        start, end = _date(values, "start_date"), _date(values, "end_date")
        request = LeaveRequest(new_ulid(), employee_id, rule.code, start, end)
        others = requests_of(store, employee_id)
        hire = date.fromisoformat(str(employee["hire_date"]))
        last = date.fromisoformat(str(employee["end_date"])) if employee.get("end_date") else None
        cost = check_request(request, rule, hire, carried_into(rule, start.year, hire, others, last), others,
                             end_date=last)
        payload = {**values, "employee_id": employee_id, "leave_type": rule.code, "days": float(cost),
                   "status": "requested"}
        own = own_rule(roles, LEAVE)
        if own is not None:  # the hub's row-level rule, here first so nothing is queued that it would refuse
            problem = own_write_refusal(own, "create", payload, None, {employee_id: employee.get("user_id")}, actor)
            if problem:
                raise ValidationError(problem, {"leave_type": problem})
        return [MutationDraft(LEAVE, request.id, Op.CREATE, payload, actor)]

    return MutationForm(store, LEAVE, ["leave_type", "start_date", "end_date", "reason"], actor, build,
                        draft_key="form:self.leave_request", save_label="Request my leave")


def open_row(store: LocalStore, employee_id: str) -> LocalRecord | None:
    """The person's row still on shift (no clock-out, not rejected), the latest if several."""
    rows = [r for r in store.query(ATTENDANCE, where={"employee_id": employee_id})
            if r.state and not r.state.get("clock_out") and r.state.get("status") != "rejected"]
    return max(rows, key=lambda r: str((r.state or {}).get("clock_in")), default=None)


def own_clock(store: LocalStore, actor: str, roles: frozenset[str], at: datetime,
              pattern: ShiftPattern) -> MutationDraft:
    """Clock the signed-in person in at `at` (a new pending row for the shift it falls in, in the site's zone) or,
    while they are on shift, out (the same row completed). Refused (ValidationError beside `clock`, nothing
    written): a sign-in not linked to an employee, a clock-out not after the clock-in or past 24 h (a missed
    clock-out: a supervisor corrects it), an overlap with another of their rows, and what the hub's own-records
    rule would refuse (D71)."""
    person = me(store, actor)
    if person is None:
        raise ValidationError(f"{actor} is not linked to an employee",
                              {"clock": "your sign-in is not linked to an employee: ask HR"})
    employee_id, employee = person
    stamp = at.astimezone(pattern.zone).isoformat(timespec="seconds")
    row = open_row(store, employee_id)
    if row is None:
        shift = shift_at(pattern, at)
        current, changes = None, {"employee_id": employee_id, "shift_date": shift.shift_date.isoformat(),
                                  "shift": shift.name, "clock_in": stamp, "source": "office", "status": "pending"}
        row_id, op = new_ulid(), Op.CREATE
    else:
        current, changes = dict(row.state or {}), {"clock_out": stamp}
        row_id, op = row.entity_id, Op.UPDATE
    stands = {**(current or {}), **changes}
    try:
        validate_mutation(ATTENDANCE, Op.CREATE, stands)  # the row as it will stand, with its record check
        check_against_others(store, row_id, stands)
    except ValidationError as exc:
        message = str(exc)
        if "more than" in message:
            message += ": a supervisor corrects a missed clock-out"
        raise ValidationError(message, {"clock": message}) from None
    own = own_rule(roles, ATTENDANCE)
    if own is not None:  # the hub's row-level rule, here first so nothing is queued that it would refuse
        problem = own_write_refusal(own, op.value, changes, current, {employee_id: employee.get("user_id")}, actor)
        if problem:
            raise ValidationError(problem, {"clock": problem})
    return MutationDraft(ATTENDANCE, row_id, op, changes, actor)
