"""Payables screens: vendor invoices (the list with what is paid and open, and the invoice form with its match)
and payments to vendors allocated to their invoices (over-allocation refused beside the field, by the shared
rule the hub runs too)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from desktop import ap_replica
from desktop.ap_invoice_form import VendorInvoiceForm
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.mutation_form import MutationForm, need_text
from desktop.ops_screen import OpsScreen, table_view
from desktop.stock_writes import now_iso
from shared.domain import payables as ap
from shared.domain.assets import ASSET
from shared.domain.open_items import Allocation, Settlement, cents, check_allocation, open_items
from shared.domain.ops_views import RequestView
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.permissions import allows
from shared.store import LocalStore, MutationDraft

INVOICE_HEADERS = ["Vendor", "Invoice", "PO", "Date", "Due", "Total", "Paid", "Open", "Status"]
PAYMENT_HEADERS = ["Vendor", "Paid on", "Amount", "Allocated to", "Reference"]
ZERO = Decimal("0.00")


RESEND = ("approval rejected", "approval covers less", "no approval asked")


def needed_approval(store: LocalStore, invoice: ap.VendorInvoice) -> tuple[ap.LineMatch, ...]:
    """The invoice's match on this PC (empty when it cannot be matched here)."""
    try:
        return ap_replica.match(store, invoice)
    except ValidationError:
        return ()


def invoice_status(store: LocalStore, invoice: ap.VendorInvoice, open_amount: Decimal,
                   requests: dict[str, list[RequestView]] | None = None) -> str:
    """What the list says of an invoice; `requests` (`ap_replica.mismatch_requests`) read once for a list."""
    if invoice.status == "cancelled":
        return "cancelled"
    if open_amount <= 0:
        return "paid"
    if invoice.status == "awaiting_approval":
        needed = ap.mismatch_amount(needed_approval(store, invoice))
        views = (ap_replica.mismatch_requests(store) if requests is None else requests).get(invoice.invoice_id, [])
        decided = ap_replica.status_of(views, needed)
        return {"approved": "approved", "rejected": "approval rejected", "approved for less": "approval covers less",
                "": "no approval asked"}.get(decided, "waits for approval")
    return invoice.status


class VendorInvoicesScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(INVOICE_HEADERS)
        self.view = table_view(self.model, "table:finance.vendor_invoice")
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addWidget(self.view)
        layout.addLayout(left, 3)
        self.form = VendorInvoiceForm(store, actor) if allows(roles, "write", ap.INVOICE) else None
        self.resend_button = QPushButton("Send for approval again")
        self.resend_button.setObjectName("resend_approval")
        self.resend_status = QLabel("")
        self.resend_status.setWordWrap(True)
        if self.form is not None:
            left.addWidget(self.resend_button)
            left.addWidget(self.resend_status)
            self.form.saved.connect(lambda _id: self.after_write())
            self.resend_button.clicked.connect(self.resend)
            self.view.selectionModel().selectionChanged.connect(lambda *_: self._enable_resend())
            layout.addWidget(self.form, 3)
        self.refresh()

    def select(self, invoice_id: str) -> bool:
        for row, r in enumerate(self.model.rows):
            if r.key == invoice_id:
                self.view.selectRow(row)
                return True
        return False

    def _selected(self) -> ComputedRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def _enable_resend(self) -> None:
        row = self._selected()
        self.resend_button.setEnabled(row is not None and row.cells[-1] in RESEND)

    def resend(self) -> None:
        """A new `approvals.request` for what the invoice's mismatched lines are worth now (an approval covers
        the amount it was asked for: D43)."""
        row = self._selected()
        invoice = next((i for i in ap_replica.vendor_invoices(self.store) if row and i.invoice_id == row.key), None)
        if invoice is None:
            return
        request = ap.approval_request(invoice, needed_approval(self.store, invoice), self.actor, now_iso())
        if request is None:
            self.resend_status.setText("Every line matches now: nothing to approve.")
            return
        self.store.enqueue("approvals.request", new_ulid(), Op.CREATE, request, actor=self.actor)
        self.resend_status.setText(f"Sent for approval again ({Decimal(str(request['amount'])):.2f}).")
        self.after_write()

    def refresh(self) -> None:
        # Each input read once for the whole list (per invoice, the approvals fold alone took 3 s at site size).
        invoices = ap_replica.vendor_invoices(self.store)
        settled = open_items([i.as_document() for i in invoices if i.status != "cancelled"],
                             ap_replica.payments(self.store)).settled
        requests = ap_replica.mismatch_requests(self.store)
        pending = ap_replica.pending_ids(self.store, ap.INVOICE)
        rows = []
        for inv in invoices:
            paid = settled.get(inv.invoice_id, ZERO)
            status = invoice_status(self.store, inv, inv.total - paid, requests)
            rows.append(ComputedRow(inv.invoice_id, [
                inv.vendor_id, inv.invoice_no, inv.po_id, inv.invoice_date.isoformat(), inv.due_date.isoformat(),
                str(inv.total), str(paid), str(inv.total - paid), status], pending=inv.invoice_id in pending,
                needs_review=status in ("waits for approval", *RESEND)))
        self.model.set_rows(rows)
        self._enable_resend()
        if self.form is not None:
            self.form.check()


def day(values: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(need_text(values, name))
    except ValueError:
        raise ValidationError(f"{name} is not a date", {name: "must be a date (YYYY-MM-DD)"}) from None


def parse_allocations(text: str, resolve: Any) -> tuple[Allocation, ...]:
    """'INV-77=100.00; INV-78=50' → allocations; `resolve` turns what was typed (an invoice number or id) into the
    invoice id, or None."""
    out: list[Allocation] = []
    for n, part in enumerate((p.strip() for p in text.replace(",", ";").split(";")), 1):
        if not part:
            continue
        ref, sep, amount = part.partition("=")
        if not sep:
            raise ValidationError("write allocations as INVOICE=AMOUNT", {
                "allocations": f"allocation {n} ({part}): write INVOICE=AMOUNT, e.g. INV-77=100.00"})
        invoice_id = resolve(ref.strip())
        if invoice_id is None:
            raise ValidationError(f"no invoice {ref.strip()}", {"allocations": f"no invoice {ref.strip()} of this "
                                                                               "party on this PC"})
        out.append(Allocation(invoice_id, cents(amount.strip(), f"allocation {n}", "allocations")))
    return tuple(out)


def settlement_form(store: LocalStore, actor: str, *, entity: str, party_field: str, date_field: str,
                    documents: Any, settled: Any, save_label: str) -> MutationForm:
    """A payment or a receipt: the amount and allocations checked by `check_allocation` against this PC's open
    invoices of that party before anything is written."""
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        party = need_text(values, party_field)
        amount = cents(need_text(values, "amount"), "the amount", "amount")
        docs = {d.document_id: d for d in documents(store) if d.party == party}
        by_ref = {d.reference.strip().lower(): d.document_id for d in docs.values()}

        def resolve(ref: str) -> str | None:
            return ref if ref in docs else by_ref.get(ref.lower())
        allocations = parse_allocations(str(values.get("allocations") or ""), resolve)
        sid = new_ulid()
        check_allocation(Settlement(sid, party, day(values, date_field), amount, allocations), docs, settled(store))
        payload = {**values, party_field: party, "amount": str(amount),
                   "allocations": [{"invoice_id": a.document_id, "amount": str(a.amount)} for a in allocations]}
        return [MutationDraft(entity, sid, Op.CREATE, payload, actor)]

    return MutationForm(store, entity, [party_field, date_field, "amount", "allocations", "reference", "notes"],
                        actor, build, draft_key=f"form:{entity}", save_label=save_label)


class PaymentsScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(PAYMENT_HEADERS)
        self.view = table_view(self.model, "table:finance.payment")
        layout = QHBoxLayout(self)
        layout.addWidget(self.view, 3)
        self.form = settlement_form(
            store, actor, entity=ap.PAYMENT, party_field="vendor_id", date_field="paid_on",
            documents=ap_replica.ap_documents, settled=lambda s: ap_replica.settled(s, "ap"),
            save_label="Record payment") if allows(roles, "write", ap.PAYMENT) else None
        if self.form is not None:
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addWidget(self.form, 2)
        self.refresh()

    def refresh(self) -> None:
        # An asset bought on account is its vendor's invoice (D89): its allocations show its invoice number too.
        numbers = {**ap_replica.invoice_numbers(self.store, ASSET, "invoice_no"),
                   **ap_replica.invoice_numbers(self.store, ap.INVOICE, "invoice_no")}
        self.model.set_rows(settlement_rows(self.store, ap.PAYMENT, ap.payment_from_payload, numbers))


def settlement_rows(store: LocalStore, entity: str, parse: Any, numbers: dict[str, str]) -> list[ComputedRow]:
    """Payments or receipts as table rows: party, date, amount, what each allocation covers, reference."""
    rows = []
    for r in store.query(entity):
        try:
            s = parse(r.entity_id, r.state or {})
        except ValidationError:
            continue
        rows.append(ComputedRow(r.entity_id, [
            s.party, s.settled_on.isoformat(), str(s.amount),
            ", ".join(f"{numbers.get(a.document_id, a.document_id)} {a.amount}" for a in s.allocations),
            str((r.state or {}).get("reference") or "")], pending=r.pending))
    return rows
