"""People: the employee register (number, name, position, department, crew, status) and, for those who may
write `hr.employee`, a form that adds a person or, with one chosen in the list, edits them. An employee
number names one person: a second one is refused beside the field."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from desktop.filter_bar import FilterBar
from desktop.ops_screen import OpsScreen, table_view
from desktop.people_checks import EMPLOYEE, employee_number_check
from desktop.record_form import SAVED_HERE, RecordForm
from desktop.table_model import RecordTableModel
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
    offline edit elsewhere to another field survives the field merge)."""

    def __init__(self, store: LocalStore, actor: str) -> None:
        self.editing: str | None = None
        self._loaded: dict[str, str] = {}
        super().__init__(store, EMPLOYEE, FIELDS, actor, extra_check=employee_number_check(store, lambda: self.editing),
                         draft_key="form:hr.employee", save_label="Save employee")
        self.mode = QLabel("New employee")
        self.mode.setObjectName("employee_mode")
        self.new_button = QPushButton("New employee")
        self.new_button.clicked.connect(lambda: self.edit(None))
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)  # FieldsForm's
        layout.insertWidget(0, self.mode)
        layout.insertWidget(1, self.new_button)

    def edit(self, employee_id: str | None) -> None:
        record = self.store.get(EMPLOYEE, employee_id) if employee_id else None
        state = (record.state or {}) if record else {}
        self.editing = employee_id if record else None
        self._loaded = {name: "" if state.get(name) is None else str(state[name]) for name in self.fields}
        for name in self.fields:
            self.set_text(name, self._loaded[name])
            self.errors[name].setText("")
        self.mode.setText(f"Editing {state.get('number')} {state.get('name')}" if record else "New employee")

    def write(self) -> tuple[str, str]:
        payload = self.values()
        validate_mutation(self.entity, Op.CREATE, payload)  # the whole record must stand, new or edited
        problems = self.extra_check(payload) if self.extra_check else {}
        if problems:
            raise ValidationError("; ".join(problems.values()), field_errors=problems)
        if self.editing is None:
            entity_id = new_ulid()
            self.store.enqueue(self.entity, entity_id, Op.CREATE, payload, actor=self.actor)
        else:
            entity_id = self.editing
            changed = {k: v for k, v in payload.items() if str(v) != self._loaded.get(k, "")}
            cleared = [k for k in self.fields if self._loaded.get(k) and k not in payload]
            if cleared:
                raise ValidationError("clearing a field is not supported here",
                                      {k: "cannot be emptied here: type the new value" for k in cleared})
            if not changed:
                raise ValidationError("nothing changed", {"number": "nothing changed: edit a field first"})
            self.store.enqueue(self.entity, entity_id, Op.UPDATE, changed, actor=self.actor)
        self.editing, self._loaded = None, {}
        self.mode.setText("New employee")
        return entity_id, SAVED_HERE


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
