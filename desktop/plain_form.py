"""A small form of named text fields for writes that are not one entity's fields (a requisition line, a
conversion to a PO): messages beside the fields, a draft saved on every edit, cleared once saved."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from shared.errors import ValidationError
from shared.store import LocalStore


class PlainForm(QWidget):
    saved = Signal(str)  # the first entity id written

    def __init__(self, store: LocalStore, fields: list[tuple[str, str]], *, draft_key: str, save_label: str) -> None:
        super().__init__()
        self.store, self.draft_key = store, draft_key
        self.inputs: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, label in fields:
            edit, error = QLineEdit(), QLabel("")
            edit.setObjectName(name)
            edit.textChanged.connect(self._save_draft)
            error.setObjectName(f"{name}_error")
            error.setStyleSheet("color: #b00020")
            box = QVBoxLayout()
            box.addWidget(edit)
            box.addWidget(error)
            form.addRow(label, box)
            self.inputs[name], self.errors[name] = edit, error
        self.save_button = QPushButton(save_label)
        self.save_button.clicked.connect(self.save)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        for name, text in (store.load_draft(draft_key) or {}).items():
            if name in self.inputs:
                self.set_text(name, str(text))

    def set_text(self, name: str, text: str) -> None:
        """Fill a field without counting it as typing."""
        self.inputs[name].blockSignals(True)
        self.inputs[name].setText(text)
        self.inputs[name].blockSignals(False)

    def values(self) -> dict[str, str]:
        return {n: e.text().strip() for n, e in self.inputs.items() if e.text().strip()}

    def write(self) -> tuple[str, str]:
        """Write the form's mutations; return (first entity id, what to tell the person). Raises
        ValidationError with field messages when it cannot."""
        raise NotImplementedError

    def save(self) -> str | None:
        for label in self.errors.values():
            label.setText("")
        try:
            entity_id, done = self.write()
        except ValidationError as exc:
            shown = False
            for name, message in exc.field_errors.items():
                if name in self.errors:
                    self.errors[name].setText(message)
                    shown = True
            hint = "fix the fields marked in red" if shown else str(exc)
            self.status.setText(f"Not saved: {hint}. What you typed is kept.")
            return None
        self.store.delete_draft(self.draft_key)
        for name in self.inputs:
            self.set_text(name, "")
        self.status.setText(done)
        self.saved.emit(entity_id)
        return entity_id

    def _save_draft(self) -> None:
        self.store.save_draft(self.draft_key, {n: e.text() for n, e in self.inputs.items()})
