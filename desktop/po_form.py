"""A purchase order with its lines: checked by the shared PO rules before saving (messages beside the fields
and the lines), kept as a draft on every edit, and sent for approval: the PO and its `approvals.request`
(amount = the PO total, routed by the chain for purchase orders) are written together."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.lines_model import EditableRowsModel
from desktop.record_form import person_draft_key
from desktop.stock_writes import now_iso
from shared.domain.procurement import po_lines_from_payload, po_total
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft

LINE_COLUMNS = ["item_id", "store_id", "quantity", "unit_price"]
DRAFT_KEY = "form:po.new"


def _error_label() -> QLabel:
    label = QLabel("")
    label.setStyleSheet("color: #b00020")
    return label


class PurchaseOrderForm(QWidget):
    saved = Signal(str)  # PO id

    def __init__(self, store: LocalStore, actor: str) -> None:
        super().__init__()
        self.store, self.actor = store, actor
        self.draft_key = person_draft_key(DRAFT_KEY, actor)
        self.inputs = {name: QLineEdit() for name in ("vendor_id", "number", "currency", "notes")}
        self.errors = {name: _error_label() for name in ("vendor_id", "number", "currency", "notes", "lines")}
        form = QFormLayout()
        for name, label in (("vendor_id", "Vendor *"), ("number", "PO number"), ("currency", "Currency"),
                            ("notes", "Notes")):
            self.inputs[name].setObjectName(name)
            self.inputs[name].textChanged.connect(self._save_draft)
            box = QVBoxLayout()
            box.addWidget(self.inputs[name])
            box.addWidget(self.errors[name])
            form.addRow(label, box)
        self._restoring = False
        self.line_model = EditableRowsModel(["Item *", "Store *", "Quantity *", "Unit price *"])
        self.line_model.edited.connect(self._save_draft)
        self.lines = QTableView()
        self.lines.setObjectName("po:lines")
        self.lines.setModel(self.line_model)
        self.add_line_button = QPushButton("Add line")
        self.add_line_button.clicked.connect(lambda: self.add_line())
        self.save_button = QPushButton("Save and send for approval")
        self.save_button.clicked.connect(self.save)
        self.status = QLabel("")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Lines"))
        layout.addWidget(self.lines, 1)
        layout.addWidget(self.errors["lines"])
        layout.addWidget(self.add_line_button)
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        self._restore_draft()

    def add_line(self, values: list[str] | None = None) -> int:
        return self.line_model.append(values)  # `edited` keeps the draft

    def _line_texts(self) -> list[list[str]]:
        return [cells for cells in ([c.strip() for c in row] for row in self.line_model.rows) if any(cells)]

    def _payload_lines(self) -> list[dict[str, Any]]:
        out = []
        for n, cells in enumerate(self._line_texts(), start=1):
            line: dict[str, Any] = {"line_id": str(n)}
            for name, text in zip(LINE_COLUMNS, cells, strict=True):
                if not text:
                    raise ValidationError(f"line {n}: {name} is missing", {"lines": f"line {n}: {name} is missing"})
                if name in ("quantity", "unit_price"):
                    try:
                        line[name] = float(text)
                    except ValueError:
                        raise ValidationError(f"line {n}: {name} must be a number",
                                              {"lines": f"line {n}: {name} must be a number"}) from None
                else:
                    line[name] = text
            out.append(line)
        if not out:
            raise ValidationError("a purchase order needs at least one line", {"lines": "add at least one line"})
        return out

    def save(self) -> str | None:
        for label in self.errors.values():
            label.setText("")
        values = {n: e.text().strip() for n, e in self.inputs.items() if e.text().strip()}
        po_id = new_ulid()
        try:
            if "vendor_id" not in values:
                raise ValidationError("vendor is required", {"vendor_id": "is required"})
            lines = self._payload_lines()
            total = po_total(po_lines_from_payload(lines))
            number = values.get("number") or f"PO-{po_id[-6:]}"
            po = {**values, "number": number, "lines": lines, "total": float(total), "approval": "submitted"}
            request = {"document_type": "procurement.purchase_order", "document_id": po_id, "amount": float(total),
                       "requested_by": self.actor, "requested_at": now_iso(),
                       "title": f"{number} {values['vendor_id']}"}
            self.store.enqueue_many([
                MutationDraft("procurement.purchase_order", po_id, Op.CREATE, po, self.actor),
                MutationDraft("approvals.request", new_ulid(), Op.CREATE, request, self.actor)])
        except ValidationError as exc:
            for name, message in exc.field_errors.items():
                self.errors.get(name, self.errors["lines"]).setText(message)
            self.status.setText("Not saved: fix the fields marked in red. What you typed is kept.")
            return None
        self.store.delete_draft(self.draft_key)
        for edit in self.inputs.values():
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)
        self._restoring = True  # the draft is already gone: a blank line is not a new one
        self.line_model.set_rows([[""] * len(LINE_COLUMNS)])
        self._restoring = False
        self.status.setText(f"Saved here ({Decimal(str(total)):.2f}); sent for approval when the hub confirms.")
        self.saved.emit(po_id)
        return po_id

    def _save_draft(self) -> None:
        if self._restoring:
            return
        self.store.save_draft(self.draft_key, {"fields": {n: e.text() for n, e in self.inputs.items()},
                                          "lines": self._line_texts()})

    def _restore_draft(self) -> None:
        draft = self.store.load_draft(self.draft_key) or {}
        for name, text in (draft.get("fields") or {}).items():
            if name in self.inputs:
                self.inputs[name].blockSignals(True)
                self.inputs[name].setText(str(text))
                self.inputs[name].blockSignals(False)
        self._restoring = True
        self.line_model.set_rows([[str(t) for t in cells] for cells in draft.get("lines") or []]
                                 or [[""] * len(LINE_COLUMNS)])
        self._restoring = False
