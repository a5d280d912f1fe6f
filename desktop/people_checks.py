"""Checks on people that need the local data: an employee number names one person. Payroll exports and
attendance are keyed by it, so a second "E100" would pay two people under one number."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from shared.errors import ValidationError
from shared.store import LocalStore

EMPLOYEE = "hr.employee"


def employee_with_number(store: LocalStore, number: str, *, other_than: str | None = None) -> tuple[
        str, dict[str, Any]] | None:
    """The employee (id, state) already holding this number, letter case and spaces aside, other than the
    one being edited."""
    row = store.connection.execute(
        "SELECT entity_id, local_state FROM records WHERE entity = ? AND deleted = 0 AND entity_id != ? AND "
        "upper(trim(json_extract(local_state, '$.number'))) = ? ORDER BY entity_id LIMIT 1",
        (EMPLOYEE, other_than or "", number.strip().upper())).fetchone()
    if row is None:
        return None
    return str(row[0]), dict(orjson.loads(row[1])) if row[1] else {}


def employee_number_check(store: LocalStore, editing: Callable[[], str | None]) -> Callable[
        [Mapping[str, Any]], dict[str, str]]:
    """`editing` names the employee the form is changing (None for a new one): keeping one's own number is fine."""
    def check(payload: Mapping[str, Any]) -> dict[str, str]:
        number = str(payload.get("number") or "").strip()
        found = employee_with_number(store, number, other_than=editing()) if number else None
        if found is None:
            return {}
        _id, state = found
        return {"number": f"{state.get('number')} is already {state.get('name') or 'another employee'}: "
                          "choose another number; nothing was changed"}

    return check


def employee_names(store: LocalStore) -> dict[str, str]:
    """Employee id -> "number name", for the tables that show people by id."""
    out = {}
    for r in store.query(EMPLOYEE):
        state = r.state or {}
        out[r.entity_id] = f"{state.get('number', '')} {state.get('name', '')}".strip()
    return out


def employee_id_for(store: LocalStore, typed: str) -> str:
    """The employee id behind a typed employee number (or an id), or a message beside the field."""
    found = employee_with_number(store, typed)
    if found is not None:
        return found[0]
    if store.get("hr.employee", typed) is not None:
        return typed
    raise ValidationError(f"no employee {typed}", {"employee_id": f"no employee with number {typed}"})


def register_classes(store: LocalStore) -> list[str]:
    """The equipment classes present in the equipment register (`equipment.unit`), in the register's class order:
    what an operator can be authorised for at this site."""
    from shared.domain.core_entities import EQUIPMENT_CLASSES

    found = {str(r[0]) for r in store.connection.execute(
        "SELECT DISTINCT json_extract(local_state, '$.equipment_class') FROM records WHERE entity = 'equipment.unit' "
        "AND deleted = 0 AND local_state IS NOT NULL") if r[0] is not None}
    return [c for c in EQUIPMENT_CLASSES if c in found] + sorted(found - set(EQUIPMENT_CLASSES))


def reporting_lines(store: LocalStore) -> dict[str, str | None]:
    """Every employee's reports_to (id -> manager id), for the no-loop rule."""
    return {str(r[0]): (None if r[1] is None else str(r[1])) for r in store.connection.execute(
        "SELECT entity_id, json_extract(local_state, '$.reports_to') FROM records WHERE entity = ? AND deleted = 0",
        (EMPLOYEE,))}


def manager_id_for(store: LocalStore, typed: str) -> str:
    """The employee a typed reports_to names (their number or id), or a message beside `reports_to`."""
    try:
        return employee_id_for(store, typed)
    except ValidationError:
        raise ValidationError(f"no employee {typed}", {"reports_to": f"no employee with number {typed}: type the "
                                                                     "manager's employee number"}) from None


def reports_to_check(store: LocalStore, employee_id: str, manager_id: str) -> None:
    """The no-loop rule the hub runs too (`org_tree.check_reports_to`), with numbers and names in the message."""
    from shared.domain.org_tree import check_reports_to

    check_reports_to(employee_id, manager_id, reporting_lines(store), names=employee_names(store))
