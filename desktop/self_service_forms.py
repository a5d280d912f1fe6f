"""Operator self-service: who the signed-in person is (the `hr.employee` whose `user_id` is them) and the leave
request they may make for themselves only. The request goes through the same shared checks as HR's form (overlap
beside the first day, over the balance beside the last day) and through the own-records rule the hub applies
(`shared.permissions.own_write_refusal`), so the desktop refuses what the hub would."""

from __future__ import annotations

from datetime import date
from typing import Any

from desktop.leave_balance import carried_into, leave_type, requests_of
from desktop.mutation_form import MutationForm, need_text
from shared.domain.leave import LeaveRequest, check_request
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.permissions import own_rule, own_write_refusal
from shared.store import LocalStore, MutationDraft

LEAVE = "hr.leave_request"


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
