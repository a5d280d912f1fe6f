"""The shift-log form (Hours per shift): the generic record form plus the operator check (D81). An operator whose
employee record does not list the machine's class (or who has no record, or is suspended, on leave or gone) is
warned beside the operator field and nothing is written; saving again unchanged records the log anyway, flagged
`unauthorised_operator`, which the Hours reconciliation screen lists for the supervisor. The hours happened: a
log is never refused for who ran the machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from desktop.people_checks import employee_with_number
from desktop.record_form import SAVED_HERE, RecordForm
from shared.domain.operator_authorisation import problem, with_flag
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore

LOG = "equipment.usage_log"
WARNING_STYLE = "color: #a15c00"  # amber: a warning to read, not an error to fix


class OperatorWarning(ValidationError):
    pass


def operator_employee(store: LocalStore, operator: str) -> dict[str, Any] | None:
    """The employee an operator written on a log names: their number (case and spaces aside), id, name or sign-in
    user, as the reconciliation matches them."""
    found = employee_with_number(store, operator)
    if found is not None:
        return found[1]
    record = store.get("hr.employee", operator)
    if record is not None and not record.deleted:
        return dict(record.state or {})
    for field in ("name", "user_id"):
        rows = store.query("hr.employee", where={field: operator})
        if rows:
            return dict(rows[0].state or {})
    return None


def authorisation_problem(store: LocalStore, payload: Mapping[str, Any]) -> str | None:
    operator = str(payload.get("operator") or "").strip()
    unit = store.get("equipment.unit", str(payload.get("equipment_id") or ""))
    equipment_class = (unit.state or {}).get("equipment_class") if unit is not None else None
    if not operator or equipment_class is None:
        return None
    return problem(operator, operator_employee(store, operator), str(equipment_class))


class UsageLogForm(RecordForm):
    def __init__(self, store: LocalStore, fields: list[str], actor: str,
                 extra_check: Callable[[Mapping[str, Any]], dict[str, str]] | None = None) -> None:
        super().__init__(store, LOG, fields, actor, extra_check=extra_check)
        self._warned: tuple[str, str] | None = None  # (operator, machine) warned about once: saving again confirms

    def write(self) -> tuple[str, str]:
        payload = self.values()
        validate_mutation(self.entity, Op.CREATE, payload)
        problems = self.extra_check(payload) if self.extra_check else {}
        if problems:
            raise ValidationError("; ".join(problems.values()), field_errors=problems)
        warning = authorisation_problem(self.store, payload)
        if warning is not None:
            key = (str(payload.get("operator")).strip(), str(payload.get("equipment_id")))
            if self._warned != key:
                self._warned = key
                raise OperatorWarning(warning, {"operator": warning})
            payload = with_flag(payload)
        entity_id = new_ulid()
        self.store.enqueue(self.entity, entity_id, Op.CREATE, payload, actor=self.actor)
        self._warned = None
        self.errors["operator"].setStyleSheet("color: #b00020")
        return entity_id, SAVED_HERE + (" Flagged for the supervisor: operator not authorised." if warning else "")

    def show_problem(self, exc: ValidationError) -> None:
        if not isinstance(exc, OperatorWarning):
            self.errors["operator"].setStyleSheet("color: #b00020")
            super().show_problem(exc)
            return
        self.errors["operator"].setStyleSheet(WARNING_STYLE)
        self.errors["operator"].setText(str(exc))
        self.status.setText("Not saved yet: check the operator. Save again to record the log anyway; it is flagged "
                            "unauthorised_operator for the supervisor. What you typed is kept.")
