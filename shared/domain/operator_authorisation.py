"""Operators and the equipment they may run (issue 14): an `hr.employee` lists the equipment classes they are
trained and allowed to operate (`equipment_classes`, from `core_entities.EQUIPMENT_CLASSES`), a usage log names
an operator and a machine whose `equipment.unit` has a class. A log whose operator may not run that class is
still recorded (the hours happened, D81) but flagged `unauthorised_operator` for the supervisor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.domain.core_entities import EQUIPMENT_CLASSES

FLAG = "unauthorised_operator"
FIELD = "equipment_classes"
# Statuses in which a person may not run anything, whatever their training: off site or stood down.
NOT_WORKING = {"on_leave": "is on leave", "suspended": "is suspended", "terminated": "has left"}


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def classes_of(employee: Mapping[str, Any]) -> list[str]:
    raw = employee.get(FIELD)
    return [str(c) for c in raw] if isinstance(raw, list) else []


def check_classes(classes: Iterable[Any]) -> dict[str, str]:
    """Field errors for an employee's equipment classes: each a known class, none twice."""
    seen: list[str] = []
    for c in classes:
        if not isinstance(c, str) or c not in EQUIPMENT_CLASSES:
            return {FIELD: f"{c!r} is not an equipment class (one of {', '.join(EQUIPMENT_CLASSES)})"}
        if c in seen:
            return {FIELD: f"{c} is listed twice"}
        seen.append(c)
    return {}


def problem(operator: str | None, employee: Mapping[str, Any] | None, equipment_class: str | None) -> str | None:
    """Why this operator may not run a machine of this class, or None when they may (or nothing can be said:
    no operator written, or the machine not in the register so its class is unknown)."""
    if not operator or not operator.strip() or equipment_class is None:
        return None
    if employee is None:
        return f"{operator} has no employee record: nobody can confirm they may run {_a(equipment_class)}"
    who = str(employee.get("name") or operator)
    status = str(employee.get("status") or "")
    if status in NOT_WORKING:
        return f"{who} {NOT_WORKING[status]}: not authorised to run {_a(equipment_class)}"
    held = classes_of(employee)
    if equipment_class not in held:
        listed = ", ".join(held) if held else "nothing"
        return (f"{who} is not authorised to run {_a(equipment_class)} (their record lists {listed}); "
                "the log would be flagged for the supervisor")
    return None


def flagged(log: Mapping[str, Any]) -> bool:
    flags = log.get("flags")
    return isinstance(flags, list) and FLAG in flags


def with_flag(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The log's payload carrying the flag once (other flags kept)."""
    out = dict(payload)
    flags = [f for f in (out.get("flags") or []) if f != FLAG]
    out["flags"] = [*flags, FLAG]
    return out
