"""Receivables screens: customer invoices generated from a customer's rental contracts and the machines' accepted
engine hours in a period (shared `billable_usage` and `rental_invoice` over this PC's usage logs and hours
reconciliation; the lines are previewed as the period is typed with where each line's hours came from; a
contract's days already billed, or a billed day with an undecided flagged reconciliation line, are refused),
and receipts from customers allocated to invoices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from desktop import ap_replica
from desktop.ap_views import day, settlement_form, settlement_rows
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.mutation_form import MutationForm, need_text
from desktop.ops_screen import OpsScreen, table_view
from shared.domain import receivables as ar
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.permissions import allows
from shared.store import LocalStore, MutationDraft

INVOICE_HEADERS = ["Number", "Customer", "Period", "Date", "Due", "Total", "Received", "Open", "Status"]
RECEIPT_HEADERS = ["Customer", "Received on", "Amount", "Allocated to", "Reference"]
MAX_DAYS = 62  # as the payroll export: every day's reconciliation is read
TERMS_DAYS = 30  # a customer invoice without a typed due date is due 30 days after its date (D41)
ZERO = Decimal("0.00")


def build_invoice(store: LocalStore, values: dict[str, Any], invoice_id: str) -> ar.CustomerInvoice:
    customer = need_text(values, "customer")
    start, end, on = day(values, "period_start"), day(values, "period_end"), day(values, "invoice_date")
    found = ap_replica.contracts(store, customer)
    if not found:
        raise ValidationError(f"no rental contract for {customer}", {"customer": "has no rental contract here"})
    if end < start:
        raise ValidationError(f"the period ends ({end}) before it starts ({start})", {"period_end": "before the start"})
    if (end - start).days >= MAX_DAYS:
        raise ValidationError(f"a rental invoice covers at most {MAX_DAYS} days", {"period_end": "a shorter period"})
    usage = ap_replica.billable(store, start, end)  # the accepted hours (D64)
    ar.check_reviewed(found, usage.open, start, end)
    invoice = ar.rental_invoice(invoice_id, found, usage.shifts, start, end, on,
                                number=str(values.get("number") or f"AR-{invoice_id[-6:]}"), details=usage.details)
    if values.get("due_date"):
        due = day(values, "due_date")
        if due < on:
            raise ValidationError("due before the invoice date", {"due_date": "is before the invoice date"})
    else:
        due = on + timedelta(days=TERMS_DAYS)
    invoice = ar.CustomerInvoice(invoice.invoice_id, invoice.customer, on, due, start, end, invoice.lines,
                                 "issued", invoice.number)
    ar.check_not_billed(invoice, ap_replica.customer_invoices(store))
    return invoice


def customer_invoice_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        invoice_id = new_ulid()
        invoice = build_invoice(store, values, invoice_id)
        payload = {**ar.invoice_payload(invoice), **({"notes": values["notes"]} if values.get("notes") else {})}
        return [MutationDraft(ar.INVOICE, invoice_id, Op.CREATE, payload, actor)]

    return MutationForm(store, ar.INVOICE, ["customer", "period_start", "period_end", "invoice_date", "due_date",
                                            "number", "notes"], actor, build,
                        draft_key="form:finance.customer_invoice", save_label="Generate and issue invoice")


class CustomerInvoicesScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(INVOICE_HEADERS)
        self.view = table_view(self.model, "table:finance.customer_invoice")
        layout = QHBoxLayout(self)
        layout.addWidget(self.view, 3)
        self.preview = QLabel("")
        self.preview.setObjectName("invoice_preview")
        self.preview.setWordWrap(True)
        self.form = customer_invoice_form(store, actor) if allows(roles, "write", ar.INVOICE) else None
        if self.form is not None:
            right = QVBoxLayout()
            right.addWidget(self.form)
            right.addWidget(self.preview)
            for name in ("customer", "period_start", "period_end", "invoice_date"):
                self.form.inputs[name].textChanged.connect(self.show_preview)
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addLayout(right, 2)
        self.refresh()

    def show_preview(self) -> None:
        """The lines the invoice would have, machine by machine (hours × rate), before it is issued."""
        assert self.form is not None
        try:
            invoice = build_invoice(self.store, self.form.values(), "preview")
        except ValidationError as exc:
            self.preview.setText(f"Lines show once the customer and period give hours to bill: {exc}")
            return
        self.preview.setText("\n".join(
            [f"{ln.equipment_id} ({ln.contract_id}) {ln.first_day}..{ln.last_day}: {ln.hours} h × {ln.rate} = "
             f"{ln.amount}; hours from {ln.source}" for ln in invoice.lines]
            + [f"Total {invoice.total}, due {invoice.due_date}"]))

    def refresh(self) -> None:
        settled = ap_replica.settled(self.store, "ar")
        pending = {r.entity_id for r in self.store.query(ar.INVOICE) if r.pending}
        rows = []
        for inv in ap_replica.customer_invoices(self.store):
            got = settled.get(inv.invoice_id, ZERO)
            status = "paid" if inv.status == "issued" and got >= inv.total else inv.status
            rows.append(ComputedRow(inv.invoice_id, [
                inv.number, inv.customer, f"{inv.period_start}..{inv.period_end}", inv.invoice_date.isoformat(),
                inv.due_date.isoformat(), str(inv.total), str(got), str(inv.total - got), status],
                pending=inv.invoice_id in pending))
        self.model.set_rows(rows)
        if self.form is not None:
            self.show_preview()


class CustomerReceiptsScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(RECEIPT_HEADERS)
        self.view = table_view(self.model, "table:finance.customer_receipt")
        layout = QHBoxLayout(self)
        layout.addWidget(self.view, 3)
        self.form = settlement_form(
            store, actor, entity=ar.RECEIPT, party_field="customer", date_field="received_on",
            documents=ap_replica.ar_documents, settled=lambda s: ap_replica.settled(s, "ar"),
            save_label="Record receipt") if allows(roles, "write", ar.RECEIPT) else None
        if self.form is not None:
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addWidget(self.form, 2)
        self.refresh()

    def refresh(self) -> None:
        numbers = {i.invoice_id: i.number for i in ap_replica.customer_invoices(self.store)}
        self.model.set_rows(settlement_rows(self.store, ar.RECEIPT, ar.receipt_from_payload, numbers))
