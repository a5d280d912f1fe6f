"""Finance → Dimension values: the tenant's lists of cost centres and projects (`finance.dimension_value`,
shared/domain/finance_entities.py) that postings are checked against (D35), listed per dimension, and for roles
that write finance.* a form that adds a value and a button that deactivates the one chosen. Offline like every
record screen: a change goes to the outbox and the hub checks it with the whole chart when it arrives.

The rules are the shared ones (`shared.domain.dimension_lists`, D78), the same `pitline hub finance
dimension-import` applies: a value listed twice or differing only in case, a dimension finance does not list (site
and machine come from their registers), deactivating the last value of a list (the hub would accept anything
again) or one that changes still in this office's outbox charge: each refused beside its field or button, with
nothing written.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from desktop.fields_form import ERROR_STYLE
from desktop.ops_screen import OpsScreen, table_view
from desktop.record_form import SAVED_HERE, RecordForm
from desktop.table_model import RecordTableModel
from shared.domain import dimension_lists as dl
from shared.domain.accounts import Dimension
from shared.domain.finance_entities import DIMENSION_VALUE_ENTITY, dimension_value_id
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.permissions import allows
from shared.store import LocalStore

COLUMNS = [("dimension", "Dimension"), ("value", "Value"), ("name", "Name"), ("active", "Active")]
ALL = "all dimensions"


def listed_values(store: LocalStore) -> dict[str, dl.ListedValue]:
    return dl.listed(r.state for r in store.query(DIMENSION_VALUE_ENTITY) if r.state is not None and not r.deleted)


def unsent_payloads(store: LocalStore) -> list[dict[str, Any]]:
    """What this office has queued and the hub has not confirmed: postings that may still carry a value."""
    out: list[dict[str, Any]] = []
    for m in store.outbox_batch(limit=100_000):
        payload = dict(m.payload)
        out.append(payload)
        out.extend(dict(ln) for ln in payload.get("lines") or () if isinstance(ln, dict))  # invoice lines
    return out


def summary(values: dict[str, dl.ListedValue]) -> str:
    """Per dimension, whether the hub checks against a list or accepts any value."""
    parts = []
    for dim in Dimension:
        n = sum(1 for v in values.values() if v.dimension == dim.value and v.active)
        label = dl.LABELS[dim]
        if n:
            parts.append(f"{label}: {n} listed, only these are accepted")
        elif dim in dl.MANAGED:
            parts.append(f"{label}: none listed, any value is accepted")
        else:
            parts.append(f"{label}: from the {'site' if dim is Dimension.SITE else 'equipment'} register")
    return "; ".join(parts) + "."


class DimensionValueForm(RecordForm):
    """Adds a value (record id `<dimension>:<value>`, so two offices adding it write one record), or reactivates
    a deactivated one."""

    def __init__(self, store: LocalStore, actor: str) -> None:
        super().__init__(store, DIMENSION_VALUE_ENTITY, ["dimension", "value", "name"], actor,
                         draft_key="form:finance.dimension_value", save_label="Add value")
        self.inputs["dimension"].setPlaceholderText("cost_centre or project")
        self.inputs["value"].setPlaceholderText("e.g. MAINT, PIT-3")

    def write(self) -> tuple[str, str]:
        payload = self.values()
        dim, value = str(payload.get("dimension", "")), str(payload.get("value", "")).strip()
        problems = dl.add_problems(listed_values(self.store), dim, value) if dim else {}
        if problems:  # before the entity check, whose "must be one of" names every dimension, managed or not
            raise ValidationError("; ".join(problems.values()), field_errors=problems)
        validate_mutation(self.entity, Op.CREATE, payload)
        record_id = dimension_value_id(dim, value)
        if self.store.get(self.entity, record_id) is not None:  # deactivated: the same record, active again
            update = {"active": True, **({"name": payload["name"]} if "name" in payload else {})}
            self.store.enqueue(self.entity, record_id, Op.UPDATE, update, actor=self.actor)
            return record_id, f"{value} is active again. {SAVED_HERE}"
        self.store.enqueue(self.entity, record_id, Op.CREATE, {**payload, "value": value, "active": True},
                           actor=self.actor)
        return record_id, SAVED_HERE


class DimensionScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = RecordTableModel(store, DIMENSION_VALUE_ENTITY, COLUMNS)
        self.view = table_view(self.model, "table:finance.dimension_value")
        self.dimension = QComboBox()
        self.dimension.addItems([ALL, *(d.value for d in Dimension)])
        self.dimension.currentTextChanged.connect(lambda _t: self.refresh())
        self.note = QLabel("")
        self.note.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(self.note)
        left.addWidget(self.dimension)
        left.addWidget(self.view, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.form: DimensionValueForm | None = None
        self.deactivate_button: QPushButton | None = None
        self.deactivate_error = QLabel("")
        self.deactivate_error.setObjectName("deactivate_error")
        self.deactivate_error.setWordWrap(True)
        if allows(roles, "write", DIMENSION_VALUE_ENTITY):
            right = QVBoxLayout()
            self.form = DimensionValueForm(store, actor)
            self.form.saved.connect(lambda _id: self.after_write())
            right.addWidget(self.form)
            self.deactivate_button = QPushButton("Deactivate the chosen value")
            self.deactivate_button.clicked.connect(self.deactivate_selected)
            right.addWidget(self.deactivate_button)
            right.addWidget(self.deactivate_error)
            right.addStretch(1)
            layout.addLayout(right, 2)
        self.refresh()

    def selected_id(self) -> str | None:
        index = self.view.currentIndex()
        if index.isValid() and index.row() < len(self.model.rows):
            return self.model.rows[index.row()].entity_id
        return None

    def select_value(self, record_id: str) -> bool:
        for row, record in enumerate(self.model.rows):
            if record.entity_id == record_id:
                self.view.selectRow(row)
                return True
        return False

    def _say(self, text: str, *, refused: bool) -> None:
        self.deactivate_error.setStyleSheet(ERROR_STYLE if refused else "")
        self.deactivate_error.setText(text)

    def deactivate_selected(self) -> bool:
        record_id = self.selected_id()
        if record_id is None:
            self._say("Not deactivated: choose a value in the list first.", refused=True)
            return False
        values = listed_values(self.store)
        v = values.get(record_id)
        uses = dl.pending_uses(unsent_payloads(self.store), v.dimension, v.value) if v else 0
        problem = dl.deactivate_problem(values, record_id, uses)
        if problem:
            self._say(f"Not deactivated: {problem}.", refused=True)
            return False
        self.store.enqueue(DIMENSION_VALUE_ENTITY, record_id, Op.UPDATE, {"active": False}, actor=self.actor)
        self._say(f"{record_id} deactivated. {SAVED_HERE}", refused=False)
        self.after_write()
        return True

    def refresh(self) -> None:
        dim = self.dimension.currentText()
        self.model.set_filter({} if dim == ALL else {"dimension": dim})  # reloads
        self.note.setText(summary(listed_values(self.store)))
