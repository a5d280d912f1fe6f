"""Importing the payroll result file of a period (layout in docs/people.md) into the local store, by the shared
rules (`shared.domain.payroll_import`): the whole file is checked first and written in one transaction, or nothing
is; the same file again writes nothing; another file for an imported period needs the explicit "replace" tick.
The records' ids come from the period and the employee number, so two offices importing one file converge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from shared.domain.payroll_import import IMPORT, RESULT, Change, parse, plan
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import LocalStore, MutationDraft

MAX_FILE_BYTES = 20 * 1024 * 1024  # a payroll file of a large company is a few MB


@dataclass(frozen=True)
class ImportReport:
    period_id: str
    employees: int
    changes: tuple[Change, ...]

    @property
    def text(self) -> str:
        if not self.changes:
            return f"{self.period_id}: this file was already imported; nothing changed"
        ops = [c.op for c in self.changes if c.entity == RESULT]
        return (f"{self.period_id}: {self.employees} employees imported ({ops.count('create')} new, "
                f"{ops.count('update')} changed, {ops.count('delete')} removed)")


def employees_by_number(store: LocalStore) -> dict[str, str]:
    return {str(s["number"]): r.entity_id for r in store.query("hr.employee") if (s := r.state or {}).get("number")}


def import_payroll_file(store: LocalStore, path: Path, actor: str, *, replace: bool = False,
                        at: datetime | None = None) -> ImportReport:
    """Check and import one file; `PayrollFileError` (bad rows, with line numbers), `ImportRefused` (another file
    was imported for the period) or `ValidationError` (cannot read it) write nothing."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValidationError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MB: not a payroll file?",
                                  {"file": "too large"})
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", {"file": "cannot read it"}) from None
    file = parse(data, employees_by_number(store))
    found = store.get(IMPORT, file.period_id)
    imported = found.state if found is not None else None
    results: dict[str, dict[str, Any]] = {
        r.entity_id: dict(r.state or {}) for r in store.query(RESULT, where={"period_start": file.start.isoformat()})
        if (r.state or {}).get("period_end") == file.end.isoformat()}
    changes = plan(file, imported, results, actor=actor, at=at or datetime.now(UTC), file_name=path.name,
                   replace=replace)
    if changes:
        store.enqueue_many([MutationDraft(c.entity, c.entity_id, Op(c.op), c.payload, actor) for c in changes])
    return ImportReport(file.period_id, len(file.rows), tuple(changes))


class PayrollImportPanel(QWidget):
    """The file to import, the explicit "replace" tick, and what happened (refusals in red, nothing written)."""

    def __init__(self, store: LocalStore, actor: str) -> None:
        super().__init__()
        self.store, self.actor = store, actor
        self.path = QLineEdit()
        self.path.setObjectName("payroll_import_path")
        self.path.setPlaceholderText("Payroll result file (CSV)")
        self.replace = QCheckBox("Replace the period's earlier import")
        self.import_button = QPushButton("Import payroll result")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.replace)
        layout.addWidget(self.status)
        self.import_button.clicked.connect(self.run_import)

    def run_import(self) -> None:
        text = self.path.text().strip()
        if not text:
            self._said("Type the path of the payroll result file.", error=True)
            return
        try:
            report = import_payroll_file(self.store, Path(text).expanduser(), self.actor,
                                         replace=self.replace.isChecked())
        except ValidationError as exc:
            self._said(f"Not imported: {exc}", error=True)
            return
        self.replace.setChecked(False)
        self._said(report.text, error=False)

    def _said(self, text: str, *, error: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020" if error else "")
