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
