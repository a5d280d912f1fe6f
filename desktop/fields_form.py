"""The part every desktop form shares: named text fields with a message under each, a draft saved on every
edit (nothing typed is lost to a crash or a power cut), and one save that either writes and clears the form
or shows why not and keeps what was typed. Subclasses say only what saving writes (`write`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from shared.errors import ValidationError
from shared.store import LocalStore

ERROR_STYLE = "color: #b00020"


def error_label(name: str) -> QLabel:
    """The message line under a field (object name `<field>_error`, which the tests find it by)."""
    label = QLabel("")
    label.setObjectName(f"{name}_error")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    return label


def labelled_fields(fields: list[tuple[str, str]], extra_errors: list[str], on_edit: Callable[[], None]
                    ) -> tuple[dict[str, QLineEdit], dict[str, QLabel], QFormLayout]:
    """Text fields with their message under each, laid out as a form; `extra_errors` are message lines for parts
    of the form that are not text fields (a lines grid), placed by the caller."""
    inputs = {name: QLineEdit() for name, _ in fields}
    errors = {name: error_label(name) for name in [*inputs, *extra_errors]}
    form = QFormLayout()
    for name, label in fields:
        inputs[name].setObjectName(name)
        inputs[name].textChanged.connect(on_edit)
        box = QVBoxLayout()
        box.addWidget(inputs[name])
        box.addWidget(errors[name])
        form.addRow(label, box)
    return inputs, errors, form


class FieldsForm(QWidget):
    saved = Signal(str)  # the first entity id written

    def __init__(self, store: LocalStore, fields: list[tuple[str, str]], *, draft_key: str,
                 save_label: str = "Save") -> None:
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
            error.setStyleSheet(ERROR_STYLE)
            row = QWidget()
            row_layout = QVBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.addWidget(edit)
            row_layout.addWidget(error)
            form.addRow(label, row)
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
        """Fill a field without counting it as typing (no draft write)."""
        self.inputs[name].blockSignals(True)
        self.inputs[name].setText(text)
        self.inputs[name].blockSignals(False)

    def values(self) -> dict[str, Any]:
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
            self.show_problem(exc)
            return None
        self.store.delete_draft(self.draft_key)
        for name in self.inputs:
            self.set_text(name, "")
        self.status.setText(done)
        self.saved.emit(entity_id)
        return entity_id

    def show_problem(self, exc: ValidationError) -> None:
        """Messages beside the fields they concern; the whole sentence when none of them is on this form."""
        shown = False
        for name, message in exc.field_errors.items():
            if name in self.errors:
                self.errors[name].setText(message)
                shown = True
        hint = "fix the fields marked in red" if shown else str(exc)
        self.status.setText(f"Not saved: {hint}. What you typed is kept.")

    def _save_draft(self) -> None:
        self.store.save_draft(self.draft_key, {n: e.text() for n, e in self.inputs.items()})
