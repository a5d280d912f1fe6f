"""A form for one entity built from the shared registry: the same validation the hub applies, messages next
to the fields, and a draft saved on every edit so nothing typed is lost to a crash or a power cut."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from shared.entities import get_spec, validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore


class RecordForm(QWidget):
    saved = Signal(str)  # entity_id

    def __init__(self, store: LocalStore, entity: str, fields: list[str], actor: str,
                 extra_check: Callable[[Mapping[str, Any]], dict[str, str]] | None = None,
                 draft_key: str | None = None) -> None:
        super().__init__()
        self.store, self.entity, self.fields, self.actor = store, entity, fields, actor
        self.extra_check = extra_check  # rules that need the local data (e.g. the last hour-meter reading)
        self.spec = get_spec(entity)
        self.draft_key = draft_key or f"form:{entity}"  # two forms on one entity need their own keys
        self.inputs: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        form = QFormLayout()
        for name in fields:
            edit = QLineEdit()
            edit.setObjectName(name)
            edit.textChanged.connect(self._save_draft)
            error = QLabel("")
            error.setObjectName(f"{name}_error")
            error.setStyleSheet("color: #b00020")
            row = QWidget()
            row_layout = QVBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.addWidget(edit)
            row_layout.addWidget(error)
            label = self.spec.fields[name].label or name
            form.addRow(label + (" *" if self.spec.fields[name].required else ""), row)
            self.inputs[name], self.errors[name] = edit, error
        layout.addLayout(form)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.status = QLabel("")
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        self._restore_draft()

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, edit in self.inputs.items():
            text = edit.text().strip()
            if not text:
                continue
            kind = self.spec.fields[name].type
            if kind in ("number", "int"):
                try:
                    out[name] = int(text) if kind == "int" else float(text)
                except ValueError:
                    out[name] = text  # validation names it
            elif kind == "bool":
                out[name] = text.lower() in ("yes", "true", "1", "y")
            else:
                out[name] = text
        return out

    def save(self) -> str | None:
        for label in self.errors.values():
            label.setText("")
        payload = self.values()
        try:
            validate_mutation(self.entity, Op.CREATE, payload)
            problems = self.extra_check(payload) if self.extra_check else {}
            if problems:
                raise ValidationError("; ".join(problems.values()), field_errors=problems)
            entity_id = str(payload.get("fleet_no") or new_ulid())
            self.store.enqueue(self.entity, entity_id, Op.CREATE, payload, actor=self.actor)
        except ValidationError as exc:
            for name, message in exc.field_errors.items():
                if name in self.errors:
                    self.errors[name].setText(message)
            self.status.setText("Not saved: fix the fields marked in red. What you typed is kept.")
            return None
        self.store.delete_draft(self.draft_key)
        for edit in self.inputs.values():
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)
        self.status.setText("Saved here; waiting for the hub to confirm.")
        self.saved.emit(entity_id)
        return entity_id

    def _save_draft(self) -> None:
        self.store.save_draft(self.draft_key, {n: e.text() for n, e in self.inputs.items()})

    def _restore_draft(self) -> None:
        draft = self.store.load_draft(self.draft_key) or {}
        for name, text in draft.items():
            if name in self.inputs:
                self.inputs[name].blockSignals(True)
                self.inputs[name].setText(str(text))
                self.inputs[name].blockSignals(False)
