"""A vendor invoice keyed offline against its purchase order: as the clerk types, every line shows its three-way
match (shared rule, over this PC's PO, receipts, other invoices and the tenant's tolerances) and, for a line
that does not match, why it will wait for an approval. Saving writes the invoice and, when a line mismatches,
its `approvals.request` (type `vendor_invoice_mismatch`) in one transaction; the hub matches again and posts
the matched lines, the others once approved. The same vendor invoice number twice is refused; a draft is kept
on every edit."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from desktop import ap_replica
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.fields_form import labelled_fields
from desktop.lines_model import EditableRowsModel
from desktop.ops_screen import table_view
from desktop.record_form import person_draft_key
from desktop.stock_writes import now_iso
from shared.domain import payables as ap
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft

FIELDS = [("vendor_id", "Vendor *"), ("invoice_no", "Vendor's invoice number *"), ("po_id", "Purchase order *"),
          ("invoice_date", "Invoice date *"), ("due_date", "Due date (empty: vendor's terms)"), ("notes", "Notes")]
LINE_HEADERS = ["PO line *", "Quantity *", "Unit price *"]
MATCH_HEADERS = ["Line", "PO line", "Ordered", "Received", "Invoiced before", "PO price", "Amount", "Match",
                 "Why it waits"]
DRAFT_KEY = "form:finance.vendor_invoice"


class VendorInvoiceForm(QWidget):
    saved = Signal(str)  # invoice id

    def __init__(self, store: LocalStore, actor: str) -> None:
        super().__init__()
        self.store, self.actor = store, actor
        self.draft_key = person_draft_key(DRAFT_KEY, actor)
        self.inputs, self.errors, form = labelled_fields(FIELDS, ["lines"], self._edited)
        self._restoring = False
        self.line_model = EditableRowsModel(LINE_HEADERS)
        self.line_model.edited.connect(self._edited)
        self.lines = QTableView()
        self.lines.setObjectName("invoice:lines")
        self.lines.setModel(self.line_model)
        self.add_line_button = QPushButton("Add line")
        self.add_line_button.clicked.connect(lambda: self.line_model.append())
        self.match_model = ComputedTableModel(MATCH_HEADERS, sync_column=False)
        self.match_view = table_view(self.match_model, "invoice:match")
        self.match_summary = QLabel("")
        self.match_summary.setObjectName("match_summary")
        self.match_summary.setWordWrap(True)
        self.save_button = QPushButton("Save invoice")
        self.save_button.clicked.connect(self.save)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Lines"))
        layout.addWidget(self.lines, 1)
        layout.addWidget(self.errors["lines"])
        layout.addWidget(self.add_line_button)
        layout.addWidget(QLabel("Three-way match (order, receipts, invoice)"))
        layout.addWidget(self.match_view, 1)
        layout.addWidget(self.match_summary)
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        self._restore_draft()
        self.check()

    # --- reading what was typed -----------------------------------------------------------------------------
    def _line_texts(self) -> list[list[str]]:
        return [cells for cells in ([c.strip() for c in row] for row in self.line_model.rows) if any(cells)]

    def payload(self) -> dict[str, Any]:
        values = {n: e.text().strip() for n, e in self.inputs.items() if e.text().strip()}
        lines = [{"po_line_id": c[0], "quantity": c[1], "unit_price": c[2]} for c in self._line_texts()]
        return {**values, "lines": lines}

    def invoice(self, invoice_id: str) -> ap.VendorInvoice:
        payload = self.payload()
        for name in ("vendor_id", "invoice_no", "po_id", "invoice_date"):
            if not payload.get(name):
                raise ValidationError(f"{name} is required", {name: "is required"})
        return ap.invoice_from_payload(invoice_id, payload, ap_replica.vendor_terms(self.store, payload["vendor_id"]))

    def matches(self) -> tuple[ap.LineMatch, ...]:
        return ap_replica.match(self.store, self.invoice("new"))

    # --- the match shown as the clerk types --------------------------------------------------------------------
    def check(self) -> None:
        try:
            invoice = self.invoice("new")
            found = ap_replica.match(self.store, invoice)
        except ValidationError as exc:
            self.match_model.set_rows([])
            self.match_summary.setText(f"The match shows once the invoice can be read: {exc}")
            return
        rows = [ComputedRow(str(m.line.line_no), [
            str(m.line.line_no), m.po_line.line_id, str(m.po_line.quantity), str(m.received), str(m.invoiced_before),
            str(m.po_line.unit_price), str(m.line.amount), "matches" if m.matched else "waits for approval",
            m.reason], needs_review=not m.matched) for m in found]
        self.match_model.set_rows(rows)
        waiting = [m for m in found if not m.matched]
        due = f"due {invoice.due_date.isoformat()}"
        if waiting:
            problem = ap_replica.approval_problem(self.store, ap.mismatch_amount(found))
            warn = (f" No approver can take it yet ({problem}): ask an administrator to set up the approval chain "
                    f"for {ap.APPROVAL_TYPE}." if problem else "")
            self.match_summary.setText(
                f"{len(waiting)} of {len(found)} lines do not match ({ap.mismatch_amount(found)} of "
                f"{invoice.total}); saving sends them for approval and they post only once approved. {due}.{warn}")
        else:
            self.match_summary.setText(f"Every line matches its order and receipts: {invoice.total} posts when the "
                                       f"hub confirms. {due}.")

    # --- saving ------------------------------------------------------------------------------------------------
    def save(self) -> str | None:
        for label in self.errors.values():
            label.setText("")
        invoice_id = new_ulid()
        try:
            invoice = self.invoice(invoice_id)
            duplicate = next((i for i in ap_replica.vendor_invoices(self.store)
                              if i.vendor_id == invoice.vendor_id and i.invoice_no.strip().lower()
                              == invoice.invoice_no.strip().lower() and i.status != "cancelled"), None)
            if duplicate is not None:
                raise ValidationError("this vendor's invoice is already entered", {
                    "invoice_no": f"{invoice.invoice_no} of {invoice.vendor_id} is already entered (dated "
                                  f"{duplicate.invoice_date})"})
            found = ap_replica.match(self.store, invoice)
            request = ap.approval_request(invoice, found, self.actor, now_iso())
            payload = {**self.payload(), "status": "awaiting_approval" if request else "matched"}
            drafts = [MutationDraft(ap.INVOICE, invoice_id, Op.CREATE, payload, self.actor)]
            if request is not None:
                drafts.append(MutationDraft("approvals.request", new_ulid(), Op.CREATE, request, self.actor))
            self.store.enqueue_many(drafts)
        except ValidationError as exc:
            for name, message in exc.field_errors.items():
                self.errors.get(name, self.errors["lines"]).setText(message)
            if not exc.field_errors:
                self.errors["lines"].setText(str(exc))
            self.status.setText("Not saved: fix the fields marked in red. What you typed is kept.")
            return None
        self.store.delete_draft(self.draft_key)
        self._restoring = True
        for edit in self.inputs.values():
            edit.clear()
        self.line_model.set_rows([[""] * len(LINE_HEADERS)])
        self._restoring = False
        self.check()
        waits = " Lines that do not match wait for approval." if request else ""
        self.status.setText(f"Saved here ({invoice.total}); waiting for the hub to confirm.{waits}")
        self.saved.emit(invoice_id)
        return invoice_id

    def _edited(self) -> None:
        if self._restoring:
            return
        self.store.save_draft(self.draft_key, {"fields": {n: e.text() for n, e in self.inputs.items()},
                                               "lines": self._line_texts()})
        self.check()

    def _restore_draft(self) -> None:
        draft = self.store.load_draft(self.draft_key) or {}
        self._restoring = True
        for name, text in (draft.get("fields") or {}).items():
            if name in self.inputs:
                self.inputs[name].setText(str(text))
        self.line_model.set_rows([[str(t) for t in cells] for cells in draft.get("lines") or []]
                                 or [[""] * len(LINE_HEADERS)])
        self._restoring = False
