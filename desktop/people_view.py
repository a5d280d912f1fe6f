"""People: the employee register (number, name, position, department, crew, status) and, for those who may
write `hr.employee`, a form that adds a person or, with one chosen in the list, edits them. An employee
number names one person: a second one is refused beside the field."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout

from desktop.fields_form import ERROR_STYLE
from desktop.filter_bar import FilterBar
from desktop.ops_screen import OpsScreen, table_view
from desktop.people_checks import (
    EMPLOYEE,
    employee_number_check,
    manager_id_for,
    register_classes,
    reports_to_check,
)
from desktop.record_form import SAVED_HERE, RecordForm
from desktop.table_model import RecordTableModel
from shared.domain.operator_authorisation import FIELD as CLASSES
from shared.domain.operator_authorisation import check_classes, classes_of
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.permissions import allows
from shared.store import LocalStore

COLUMNS = [("number", "Number"), ("name", "Name"), ("position", "Position"), ("department", "Department"),
           ("crew_id", "Crew"), ("status", "Status")]
FIELDS = ["number", "name", "position", "department", "site", "crew_id", "reports_to", "hire_date", "end_date",
          "status", "user_id"]


class EmployeeForm(RecordForm):
    """Adds an employee, or updates the one loaded with `edit` (only the fields that differ are sent, so an
    offline edit elsewhere to another field survives the field merge). A field emptied on edit is sent as null
    (cleared), except the required ones (number, name, hire date, status), refused beside the field. Reports-to is
    typed as the manager's employee number; a loop (oneself, A→B→A) is refused beside it. The equipment classes the
    person may operate are ticked from the classes in the equipment register."""

    def __init__(self, store: LocalStore, actor: str) -> None:
        self.editing: str | None = None
        self._loaded: dict[str, str] = {}
        self._state: dict[str, Any] = {}
        super().__init__(store, EMPLOYEE, FIELDS, actor, extra_check=employee_number_check(store, lambda: self.editing),
                         draft_key="form:hr.employee", save_label="Save employee")
        self.mode = QLabel("New employee")
        self.mode.setObjectName("employee_mode")
        self.new_button = QPushButton("New employee")
        self.new_button.clicked.connect(lambda: self.edit(None))
        self.classes = QListWidget()
        self.classes.setObjectName(CLASSES)
        self.classes.setMaximumHeight(140)
        self.errors[CLASSES] = QLabel("")
        self.errors[CLASSES].setObjectName(f"{CLASSES}_error")
        self.errors[CLASSES].setStyleSheet(ERROR_STYLE)
        self.errors[CLASSES].setWordWrap(True)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)  # FieldsForm's
        layout.insertWidget(0, self.mode)
        layout.insertWidget(1, self.new_button)
        layout.insertWidget(3, QLabel("May operate (classes in the equipment register)"))
        layout.insertWidget(4, self.classes)
        layout.insertWidget(5, self.errors[CLASSES])
        drafted = (store.load_draft(self.draft_key) or {}).get(CLASSES)
        self.show_classes([c for c in str(drafted or "").split(",") if c])
        self.classes.itemChanged.connect(lambda _item: self._save_draft())
        self.saved.connect(lambda _id: self.show_classes([]))

    def show_classes(self, held: list[str]) -> None:
        """The register's classes, ticked where held; a held class with no unit in the register is listed too (so
        an edit never drops it unseen)."""
        self.classes.blockSignals(True)
        self.classes.clear()
        present = register_classes(self.store)
        for c in present + [h for h in held if h not in present]:
            item = QListWidgetItem(c if c in present else f"{c} (no unit in the register)")
            item.setData(Qt.ItemDataRole.UserRole, c)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if c in held else Qt.CheckState.Unchecked)
            self.classes.addItem(item)
        self.classes.blockSignals(False)

    def ticked(self) -> list[str]:
        return [str(self.classes.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.classes.count())
                if self.classes.item(i).checkState() == Qt.CheckState.Checked]

    def tick(self, equipment_class: str, on: bool = True) -> None:
        for i in range(self.classes.count()):
            if self.classes.item(i).data(Qt.ItemDataRole.UserRole) == equipment_class:
                self.classes.item(i).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                return
        raise KeyError(equipment_class)

    def _save_draft(self) -> None:
        draft = {n: e.text() for n, e in self.inputs.items()}
        if hasattr(self, "classes"):
            draft[CLASSES] = ",".join(self.ticked())
        self.store.save_draft(self.draft_key, draft)

    def edit(self, employee_id: str | None) -> None:
        record = self.store.get(EMPLOYEE, employee_id) if employee_id else None
        state = dict(record.state or {}) if record else {}
        self.editing = employee_id if record else None
        self._state = state
        self._loaded = {name: "" if state.get(name) is None else str(state[name]) for name in self.fields}
        boss = state.get("reports_to")
        if boss:  # shown as the manager's number, as it is typed
            manager = self.store.get(EMPLOYEE, str(boss))
            self._loaded["reports_to"] = str((manager.state or {}).get("number") or boss) if manager else str(boss)
        for name in self.fields:
            self.set_text(name, self._loaded[name])
        for label in self.errors.values():
            label.setText("")
        self.show_classes(classes_of(state))
        self.mode.setText(f"Editing {state.get('number')} {state.get('name')}" if record else "New employee")

    def _payload(self) -> dict[str, Any]:
        payload = self.values()
        typed_boss = payload.get("reports_to")
        if typed_boss is not None and typed_boss != self._loaded.get("reports_to"):
            payload["reports_to"] = manager_id_for(self.store, str(typed_boss))
        elif typed_boss is not None:
            payload["reports_to"] = self._state.get("reports_to")  # unchanged: the id it already holds
        classes = self.ticked()
        if classes or classes_of(self._state):
            payload[CLASSES] = classes
        problems = check_classes(classes)
        if problems:
            raise ValidationError("; ".join(problems.values()), field_errors=problems)
        return payload

    def write(self) -> tuple[str, str]:
        payload = self._payload()
        problems = self.extra_check(payload) if self.extra_check else {}
        if problems:
            raise ValidationError("; ".join(problems.values()), field_errors=problems)
        if self.editing is None:
            validate_mutation(self.entity, Op.CREATE, payload)
            entity_id = new_ulid()
            if payload.get("reports_to"):
                reports_to_check(self.store, entity_id, str(payload["reports_to"]))
            self.store.enqueue(self.entity, entity_id, Op.CREATE, payload, actor=self.actor)
        else:
            entity_id = self.editing
            changed = self._changes(payload)
            whole = {k: v for k, v in {**self._state, **changed}.items() if v is not None}
            validate_mutation(self.entity, Op.CREATE, whole)  # the whole record must stand after the edit
            if changed.get("reports_to"):
                reports_to_check(self.store, entity_id, str(changed["reports_to"]))
            self.store.enqueue(self.entity, entity_id, Op.UPDATE, changed, actor=self.actor)
        self.editing, self._loaded, self._state = None, {}, {}
        self.mode.setText("New employee")
        return entity_id, SAVED_HERE

    def _changes(self, payload: dict[str, Any]) -> dict[str, Any]:
        """What differs from the record as loaded; a field emptied is sent as None (cleared at the hub too)."""
        required = [k for k in self.fields if self.spec.fields[k].required]
        emptied = [k for k in self.fields if self._loaded.get(k) and k not in payload]
        refused = {k: f"{self.spec.fields[k].label} is required: it cannot be emptied, type the new value"
                   for k in emptied if k in required}
        if refused:
            raise ValidationError("; ".join(refused.values()), field_errors=refused)
        changed: dict[str, Any] = {k: v for k, v in payload.items()
                                   if k != CLASSES and v != self._state.get(k) and str(v) != self._loaded.get(k)}
        changed.update({k: None for k in emptied})
        if CLASSES in payload and sorted(payload[CLASSES]) != sorted(classes_of(self._state)):
            changed[CLASSES] = payload[CLASSES]
        if not changed:
            raise ValidationError("nothing changed", {"number": "nothing changed: edit a field first"})
        return changed


class PeopleScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = RecordTableModel(store, EMPLOYEE, COLUMNS)
        self.view = table_view(self.model, "table:hr.employee")
        left = QVBoxLayout()
        left.addWidget(FilterBar(self.model))
        left.addWidget(self.view, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.form: EmployeeForm | None = None
        if allows(roles, "write", EMPLOYEE):
            self.form = EmployeeForm(store, actor)
            self.form.saved.connect(lambda _id: self.after_write())
            self.view.selectionModel().currentRowChanged.connect(lambda *_: self._edit_selected())
            layout.addWidget(self.form, 2)

    def _edit_selected(self) -> None:
        index = self.view.currentIndex()
        if self.form is not None and index.isValid() and index.row() < len(self.model.rows):
            self.form.edit(self.model.rows[index.row()].entity_id)

    def select_number(self, number: str) -> bool:
        for row, record in enumerate(self.model.rows):
            if str((record.state or {}).get("number")) == number:
                self.view.selectRow(row)
                return True
        return False

    def refresh(self) -> None:
        self.model.reload()
        if self.form is not None:  # units added since (a sync, the Equipment screen): their classes, ticks kept
            self.form.show_classes(self.form.ticked())
