"""Finance → Manual journals: the office's journals with their status (queued here, posted by the hub, refused by
it with the reason) and, for roles that write `finance.journal_entry`, the form that keys one and the "Reverse"
action on a posted one.

The form shows Σ debits, Σ credits and the difference as the lines are typed, and refuses beside the field what
the hub would refuse (desktop/journal_lines.py: unbalanced or malformed, a header or unknown account, a required
dimension missing, a dimension value the office's list does not hold). A journal is never edited: "Reverse"
writes a NEW journal that mirrors the chosen one (`reverses: <id>`, `manual_journal.reversal_payload`), dated
today or on the day typed, which the hub posts as the ledger's reversal (D84)."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.fields_form import error_label, labelled_fields
from desktop.journal_lines import (
    LINE_HEADERS,
    journal_problems,
    journal_rows,
    line_payloads,
    posting_choices,
    reversal_target,
    totals,
)
from desktop.lines_model import EditableRowsModel
from desktop.ops_screen import OpsScreen, table_view
from desktop.record_form import person_draft_key
from shared.domain.manual_journal import ENTITY, check_journal_reversal, reversal_payload
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.permissions import allows
from shared.store import LocalStore

FIELDS = [("posted_on", "Entry date * (YYYY-MM-DD)"), ("reference", "Reference"), ("description", "Description")]
LIST_HEADERS = ["Date", "Reference", "Description", "Amount", "Reverses", "Status", "Hub's reason / note"]
DRAFT_KEY = "form:finance.journal_entry"


class AccountDelegate(QStyledItemDelegate):
    """The account cell offers the office chart's posting accounts as "code name" while typing; the code alone is
    kept, so what is sent is what the hub checks."""

    def __init__(self, store: LocalStore, parent: QWidget) -> None:
        super().__init__(parent)
        self.store = store

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        editor = QLineEdit(parent)
        completer = QCompleter(posting_choices(self.store), editor)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)  # by code or by a word of the name
        editor.setCompleter(completer)
        return editor

    def setModelData(self, editor: QWidget, model: QAbstractItemModel,
                     index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QLineEdit)
        model.setData(index, (editor.text().strip().split() or [""])[0], Qt.ItemDataRole.EditRole)


class JournalForm(QWidget):
    saved = Signal(str)  # journal id

    def __init__(self, store: LocalStore, actor: str) -> None:
        super().__init__()
        self.store, self.actor = store, actor
        self.draft_key = person_draft_key(DRAFT_KEY, actor)
        self.inputs, self.errors, form = labelled_fields(FIELDS, ["lines"], self._edited)
        self._restoring = False
        self.line_model = EditableRowsModel(LINE_HEADERS)
        self.line_model.edited.connect(self._edited)
        self.lines = QTableView()
        self.lines.setObjectName("journal:lines")
        self.lines.setModel(self.line_model)
        self.lines.setItemDelegateForColumn(0, AccountDelegate(store, self.lines))
        self.add_line_button = QPushButton("Add line")
        self.add_line_button.clicked.connect(lambda: self.line_model.append())
        self.totals = QLabel("")
        self.totals.setObjectName("journal_totals")
        self.save_button = QPushButton("Post journal")
        self.save_button.clicked.connect(self.save)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Lines (account from the chart; debit or credit; the dimensions the account needs)"))
        layout.addWidget(self.lines, 1)
        layout.addWidget(self.add_line_button)
        layout.addWidget(self.totals)
        layout.addWidget(self.errors["lines"])
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        self._restore_draft()
        self.show_totals()

    def payload(self) -> dict[str, Any]:
        values = {n: e.text().strip() for n, e in self.inputs.items() if e.text().strip()}
        return {**values, "lines": line_payloads(self.line_model.rows)}

    def show_totals(self) -> None:
        t = totals(self.line_model.rows)
        text = f"Debits {t.debit:.2f}   Credits {t.credit:.2f}   Difference {t.difference:.2f}"
        if t.unreadable:
            text += f"   (line {', '.join(map(str, t.unreadable))}: not an amount)"
        self.totals.setText(text + ("" if t.difference or t.unreadable else "   balanced"))

    def save(self) -> str | None:
        for label in self.errors.values():
            label.setText("")
        payload = self.payload()
        journal_id = new_ulid()
        try:
            problems = journal_problems(self.store, payload)
            if problems:
                raise ValidationError("; ".join(problems.values()), field_errors=problems)
            validate_mutation(ENTITY, Op.CREATE, payload)
            self.store.enqueue(ENTITY, journal_id, Op.CREATE, payload, actor=self.actor)
        except ValidationError as exc:
            for name, message in (exc.field_errors or {"lines": str(exc)}).items():
                self.errors.get(name, self.errors["lines"]).setText(message)
            self.status.setText("Not posted: fix the fields marked in red. What you typed is kept.")
            return None
        self.store.delete_draft(self.draft_key)
        self._restoring = True
        for edit in self.inputs.values():
            edit.clear()
        self.line_model.set_rows([[""] * len(LINE_HEADERS), [""] * len(LINE_HEADERS)])
        self._restoring = False
        self.show_totals()
        self.status.setText("Saved here; queued until the hub posts it (a closed period is refused by the hub).")
        self.saved.emit(journal_id)
        return journal_id

    def _edited(self) -> None:
        self.show_totals()
        if self._restoring:
            return
        self.store.save_draft(self.draft_key, {"fields": {n: e.text() for n, e in self.inputs.items()},
                                               "lines": [list(r) for r in self.line_model.rows]})

    def _restore_draft(self) -> None:
        draft = self.store.load_draft(self.draft_key) or {}
        self._restoring = True
        for name, text in (draft.get("fields") or {}).items():
            if name in self.inputs:
                self.inputs[name].setText(str(text))
        self.line_model.set_rows([[str(t) for t in cells] for cells in draft.get("lines") or []]
                                 or [[""] * len(LINE_HEADERS), [""] * len(LINE_HEADERS)])
        self._restoring = False


class JournalScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(LIST_HEADERS, sync_column=False)  # the status column says it
        self.view = table_view(self.model, "table:finance.journal_entry")
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addWidget(self.view, 1)
        layout.addLayout(left, 3)
        self.form: JournalForm | None = None
        self.reverse_date = QLineEdit()
        self.reverse_date.setObjectName("reverse_on")
        self.reverse_date.setPlaceholderText(f"reversal date (empty: today, {date.today().isoformat()})")
        self.reverse_button = QPushButton("Reverse")
        self.reverse_button.setObjectName("reverse")
        self.reverse_error = error_label("reverse")
        if allows(roles, "write", ENTITY):
            bar = QHBoxLayout()
            bar.addWidget(self.reverse_date)
            bar.addWidget(self.reverse_button)
            left.addLayout(bar)
            left.addWidget(self.reverse_error)
            self.reverse_button.clicked.connect(self.reverse)
            self.view.selectionModel().selectionChanged.connect(lambda *_: self._enable_reverse())
            self.form = JournalForm(store, actor)
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addWidget(self.form, 3)
        self.refresh()

    def refresh(self) -> None:
        self.model.set_rows([ComputedRow(r.journal_id, [
            str(r.state.get("posted_on") or ""), str(r.state.get("reference") or ""),
            str(r.state.get("description") or ""), f"{r.total:.2f}", str(r.state.get("reverses") or ""), r.status,
            r.reason], pending=r.status == "queued", needs_review=r.status == "refused",
            data={"status": r.status, "state": r.state}) for r in journal_rows(self.store)])
        self._enable_reverse()

    def select(self, journal_id: str, status: str | None = None) -> bool:
        for row, r in enumerate(self.model.rows):
            if r.key == journal_id and (status is None or r.data["status"] == status):
                self.view.selectRow(row)
                return True
        return False

    def selected(self) -> ComputedRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows and rows[0].row() < len(self.model.rows) else None

    def _enable_reverse(self) -> None:
        row = self.selected()
        self.reverse_button.setEnabled(row is not None and row.data["status"] == "posted")

    def reverse(self) -> str | None:
        """Write the new journal that reverses the selected posted one, after the ledger's reversal rule passes
        against what this office holds (the hub checks again against every office's)."""
        self.reverse_error.setText("")
        row = self.selected()
        if row is None:
            return None
        day = self.reverse_date.text().strip() or date.today().isoformat()
        journal_id = new_ulid()
        try:
            payload = reversal_payload(row.key, row.data["state"], day)
            target, reversed_by = reversal_target(self.store, row.key)
            check_journal_reversal(journal_id, payload, target, reversed_by)
            validate_mutation(ENTITY, Op.CREATE, payload)
            self.store.enqueue(ENTITY, journal_id, Op.CREATE, payload, actor=self.actor)
        except ValidationError as exc:
            self.reverse_error.setText(str(exc))
            return None
        self.reverse_date.clear()
        self.after_write()
        return journal_id

