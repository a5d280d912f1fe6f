"""Payables and receivables read from the local replica with the shared rules, so what a desk shows offline is
what the hub will compute: the three-way match of an invoice being typed, open invoices, and AP/AR ageing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson

from desktop import table_query
from desktop.approval_actions import delegations
from desktop.reconciliation_lines import lines_for, operator_names  # HR's: the lines payroll reads
from shared.domain import payables as ap
from shared.domain import receivables as ar
from shared.domain.approvals import ApprovalError, route
from shared.domain.assets import ASSET
from shared.domain.open_items import Ageing, Document, Settlement, ageing, open_items
from shared.domain.ops_views import RequestView, chains_from, request_view
from shared.domain.procurement import PoLine, ProcurementError, po_lines_from_payload
from shared.domain.reconciliation import Line
from shared.domain.usage_hours import (
    BillableUsage,
    UsageShift,
    billable_usage,
    decisions_from_reviews,
    deduplicate,
    threshold_from_settings,
    usage_from_payload,
)
from shared.errors import ValidationError
from shared.store import LocalStore


def live(store: LocalStore, entity: str, where: Mapping[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(id, state) of the entity's records in id order, deleted and empty ones left out. Without a filter, read
    straight from the records table (no record object per row): two years of invoices and payments decode in
    about half of `query`'s time."""
    if where:
        return [(r.entity_id, dict(r.state)) for r in store.query(entity, where=where) if r.state and not r.deleted]
    rows = store.connection.execute("SELECT entity_id, local_state FROM records WHERE entity = ? AND deleted = 0 "
                                    "AND local_state IS NOT NULL ORDER BY entity_id", (entity,)).fetchall()
    return [(str(r[0]), state) for r in rows if (state := orjson.loads(r[1]))]


def indexed(store: LocalStore, entity: str, field: str, value: str) -> list[tuple[str, dict[str, Any]]]:
    """`live` for one value of a field the desktop indexes (table_query.INDEXED): an invoice's PO among two years
    of invoices without reading the others."""
    table_query.ensure_indexes(store)  # one read once the window made them
    return [(r.entity_id, dict(r.state)) for r in table_query.page(store, entity, where={field: value},
                                                                    order_by=None, limit=-1, offset=0) if r.state]


def _terms(state: Mapping[str, Any] | None) -> int | None:
    terms = (state or {}).get("payment_terms_days")
    return terms if isinstance(terms, int) and not isinstance(terms, bool) else None


def vendor_terms(store: LocalStore, vendor_id: str) -> int | None:
    rec = store.get("procurement.vendor", vendor_id)
    return _terms(rec.state if rec else None)


def every_vendor_terms(store: LocalStore) -> dict[str, int | None]:
    """Payment terms per vendor, in one read (a lookup per invoice was 5,000 reads for a list)."""
    return {vid: _terms(data) for vid, data in live(store, "procurement.vendor")}


def po_lines(store: LocalStore, po_id: str) -> list[PoLine]:
    rec = store.get("procurement.purchase_order", po_id)
    if rec is None or not rec.state:
        raise ap.PayablesError(f"purchase order {po_id} is not on this PC", {"po_id": "unknown purchase order"})
    try:
        return po_lines_from_payload(rec.state.get("lines"))
    except ProcurementError as exc:
        raise ap.PayablesError(f"purchase order {po_id} cannot be read: {exc}", {"po_id": "unreadable"}) from None


def received(store: LocalStore, po_id: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for _, gr in indexed(store, "procurement.goods_receipt", "po_id", po_id):
        qty = gr.get("quantity")
        if isinstance(qty, int | float) and not isinstance(qty, bool):
            out[str(gr.get("line_id"))] = out.get(str(gr.get("line_id")), Decimal(0)) + Decimal(str(qty))
    return out


def vendor_invoices(store: LocalStore, po_id: str | None = None) -> list[ap.VendorInvoice]:
    terms = every_vendor_terms(store)
    rows = indexed(store, ap.INVOICE, "po_id", po_id) if po_id else live(store, ap.INVOICE)
    out = []
    for inv_id, data in rows:
        try:
            out.append(ap.invoice_from_payload(inv_id, data, terms.get(str(data.get("vendor_id")))))
        except ValidationError:
            continue
    return out


def pending_ids(store: LocalStore, entity: str) -> set[str]:
    """The entity's records changed here and not yet confirmed by the hub (without reading their states)."""
    rows = store.connection.execute("SELECT entity_id FROM records WHERE entity = ? AND pending > 0 AND deleted = 0",
                                    (entity,)).fetchall()
    return {str(r[0]) for r in rows}


def invoice_numbers(store: LocalStore, entity: str, field: str) -> dict[str, str]:
    """Invoice id -> its number, read by SQLite alone (a payments list shows numbers, not whole invoices)."""
    if not field.isidentifier():
        raise ValueError(f"not a field name: {field!r}")  # it is written into the SQL
    rows = store.connection.execute(
        f"SELECT entity_id, json_extract(local_state, '$.{field}') FROM records WHERE entity = ? AND deleted = 0 "
        "AND local_state IS NOT NULL", (entity,)).fetchall()
    return {str(r[0]): str(r[1] or "") for r in rows}


def match(store: LocalStore, invoice: ap.VendorInvoice) -> tuple[ap.LineMatch, ...]:
    """The match the hub will run, over what this PC holds (an invoice keyed on another desk offline may still
    change the hub's answer: the hub's is the one that posts)."""
    tolerance = store.get(ap.TOLERANCE, ap.TOLERANCE_ID)
    before = ap.invoiced_per_line(vendor_invoices(store, invoice.po_id), invoice.po_id, excluding=invoice.invoice_id)
    return ap.match_invoice(invoice, po_lines(store, invoice.po_id), received(store, invoice.po_id), before,
                            ap.tolerances_from_payload(tolerance.state if tolerance else None))


def mismatch_requests(store: LocalStore) -> dict[str, list[RequestView]]:
    """The vendor-invoice mismatch requests per invoice, routed and folded as `request_views` does, without
    folding every other request on the PC (two years of purchase-order approvals)."""
    chains = chains_from(live(store, "approvals.chain"))
    delegated = delegations(store)
    out: dict[str, list[RequestView]] = {}
    for rid, data in live(store, "approvals.request", {"document_type": ap.APPROVAL_TYPE}):
        decided = indexed(store, "approvals.decision", "request_id", rid)
        out.setdefault(str(data.get("document_id")), []).append(request_view(rid, data, decided, chains, delegated))
    return out


def status_of(views: list[RequestView], needed: Decimal | None = None) -> str:
    """'approved', 'approved for less' (no approval covers `needed`, what the mismatched lines are worth now, so
    the hub will not post them: D43), 'rejected', 'pending' or '' (no request) for an invoice's mismatch
    requests, from the decisions on this PC (the shared fold the hub runs too)."""
    approved = [v.amount for v in views if v.state is not None and v.state.status.value == "approved"]
    if approved and (needed is None or max(approved) >= needed):
        return "approved"
    states = {v.state.status.value for v in views if v.state is not None}
    if "pending" in states or (views and not states):
        return "pending"
    if approved:
        return "approved for less"
    return "rejected" if "rejected" in states else ""


def approval_status(store: LocalStore, invoice_id: str, needed: Decimal | None = None) -> str:
    """`status_of` the invoice's mismatch requests on this PC."""
    return status_of(mismatch_requests(store).get(invoice_id, []), needed)


def approval_problem(store: LocalStore, amount: Decimal) -> str:
    """Why a mismatch request of this amount could not be routed on this PC ('' when a chain takes it)."""
    try:
        route(chains_from(live(store, "approvals.chain")), ap.APPROVAL_TYPE, amount)
    except ApprovalError as exc:
        return str(exc)
    return ""


def _settlements(store: LocalStore, entity: str, parse: Any) -> list[Settlement]:
    out = []
    for sid, data in live(store, entity):
        try:
            out.append(parse(sid, data))
        except ValidationError:
            continue
    return out


def ap_documents(store: LocalStore) -> list[Document]:
    """Every AP open item on this PC, by the rule the hub's ageing runs: vendor invoices not cancelled and fixed
    assets bought on account (kind "asset", D89)."""
    docs, _unreadable = ap.ap_documents(live(store, ap.INVOICE), live(store, ASSET), every_vendor_terms(store))
    return docs


def customer_invoices(store: LocalStore) -> list[ar.CustomerInvoice]:
    out = []
    for inv_id, data in live(store, ar.INVOICE):
        try:
            out.append(ar.invoice_from_payload(inv_id, data))
        except ValidationError:
            continue
    return out


def ar_documents(store: LocalStore) -> list[Document]:
    return [inv.as_document() for inv in customer_invoices(store) if inv.status == "issued"]


def payments(store: LocalStore) -> list[Settlement]:
    return _settlements(store, ap.PAYMENT, ap.payment_from_payload)


def receipts(store: LocalStore) -> list[Settlement]:
    return _settlements(store, ar.RECEIPT, ar.receipt_from_payload)


def settled(store: LocalStore, kind: str) -> dict[str, Decimal]:
    """Per invoice, what the settlements on this PC cover ('ap' or 'ar')."""
    if kind == "ap":
        return dict(open_items(ap_documents(store), payments(store)).settled)
    return dict(open_items(ar_documents(store), receipts(store)).settled)


def ap_ageing(store: LocalStore, as_of: date) -> Ageing:
    return ageing(ap_documents(store), payments(store), as_of)


def ar_ageing(store: LocalStore, as_of: date) -> Ageing:
    return ageing(ar_documents(store), receipts(store), as_of)


def usage(store: LocalStore) -> list[UsageShift]:
    return deduplicate(u for log_id, data in live(store, "equipment.usage_log")
                       if (u := usage_from_payload(log_id, data)) is not None)


def contracts(store: LocalStore, customer: str) -> list[ar.RentalContract]:
    out = []
    for cid, data in live(store, "equipment.rental_contract"):
        if str(data.get("customer") or "").strip().lower() != customer.strip().lower():
            continue
        try:
            out.append(ar.contract_from_payload(cid, data))
        except ValidationError:
            continue
    return out


def site_threshold(store: LocalStore) -> Decimal:
    """The PC's site's reconciliation threshold (`hr.site_settings`), the screens' 0.5 h until one is saved."""
    site = store.identity.site_id if store.identity is not None else None
    record = store.get("hr.site_settings", site) if site else None
    return threshold_from_settings(record.state if record is not None and not record.deleted else None)


def billable(store: LocalStore, start: date, end: date) -> BillableUsage:
    """The hours to bill per machine shift over start..end: this PC's usage logs with the reconciliation lines of
    every day (usage logs and attendance, as the payroll export builds them) and the decisions on them (D64)."""
    table_query.ensure_indexes(store)  # lines_for reads through them (a store no window has opened has none)
    lines: list[Line] = []
    day = start
    while day <= end:
        lines += lines_for(store, day)
        day += timedelta(days=1)
    # Only the period's logs, through the shift-date index (every keystroke of the period previews the invoice).
    logs = table_query.between(store, "equipment.usage_log", "shift_date", start.isoformat(),
                               (end + timedelta(days=1)).isoformat())
    shifts = [u for r in logs if r.state and (u := usage_from_payload(r.entity_id, r.state)) is not None
              and start <= u.shift_date <= end]
    reviews = {line.key: dict(r.state) for line in lines
               if (r := store.get("hr.reconciliation_review", line.key)) is not None and r.state and not r.deleted}
    return billable_usage(shifts, lines, decisions_from_reviews(reviews), site_threshold(store),
                          operator_names(store))
