"""Accounts payable: vendor invoices against purchase-order lines, the three-way match enforced, payments
allocated to invoices, AP open items and ageing (`open_items`).

- An invoice line names the PO line it bills. Its match (`matching.three_way_match`) counts everything invoiced
  on that PO line before it (other invoices, earlier lines of this one) against what was ordered and received.
- A line that matches is posted (`postings.vendor_invoice_line`). A line with a mismatch is **not** posted: the
  invoice opens an `approvals.request` of type `vendor_invoice_mismatch` for the lines that mismatch, and those
  lines are posted once the request is approved (D43). A rejected request leaves them unposted.
- The due date is the invoice date plus the vendor's payment terms, unless the invoice states its own; a vendor
  with no terms is due on the invoice date (D40).
- Tolerances are one tenant record, `finance.match_tolerance` id `default` (no record: 2 % on price, none on
  quantity, `matching.MatchTolerances`).

Strategies:
- `finance.vendor_invoice` is manual: an invoice is what a vendor claims; two people keying it differently is for
  a person to settle, not a machine. Posted lines are never changed: a re-keyed line under a posted key is
  refused by the ledger (`IdempotencyConflictError`); corrections are credit notes (not modelled yet).
- `finance.payment` is create-only: money that left the bank is a fact; two offline payments both stand.
- `finance.match_tolerance` is field_merge master data, tenant-wide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.conflicts import Strategy
from shared.domain.assets import asset_from_payload, payable_document
from shared.domain.finance import ZERO, money
from shared.domain.finance_errors import FinanceError
from shared.domain.journal import LedgerEntry
from shared.domain.matching import MatchResult, MatchTolerances, Tolerance, three_way_match
from shared.domain.open_items import Document, Settlement, allocations_from, cents
from shared.domain.postings import vendor_invoice_line
from shared.domain.procurement import PoLine
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError

APPROVAL_TYPE = "vendor_invoice_mismatch"
TOLERANCE_ID = "default"
INVOICE = "finance.vendor_invoice"
PAYMENT = "finance.payment"
TOLERANCE = "finance.match_tolerance"
STATUSES = ("entered", "matched", "awaiting_approval", "blocked", "posted", "paid", "cancelled")


class PayablesError(FinanceError):
    """A vendor invoice or payment that cannot be read or matched (unknown PO line, bad quantity)."""


@dataclass(frozen=True)
class InvoiceLine:
    line_no: int
    po_line_id: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class VendorInvoice:
    invoice_id: str
    vendor_id: str
    invoice_no: str
    po_id: str
    invoice_date: date
    due_date: date
    lines: tuple[InvoiceLine, ...]
    status: str = "entered"

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)

    def as_document(self) -> Document:
        return Document(self.invoice_id, self.vendor_id, self.invoice_date, self.due_date, self.total,
                        self.invoice_no)


def due_date(invoice_date: date, terms_days: int | None) -> date:
    return invoice_date + timedelta(days=terms_days or 0)


def _decimal(raw: object, what: str, field_name: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise PayablesError(f"{what} is missing or not a number", {field_name: "must be a number"})
    try:
        value = Decimal(str(raw))  # a float quantity from an older form goes through its shortest text
    except ArithmeticError:
        raise PayablesError(f"{what}: {raw!r} is not a number", {field_name: "must be a number"}) from None
    if not value.is_finite():
        raise PayablesError(f"{what}: {raw!r} is not a number", {field_name: "must be a number"})
    return value


def _date(raw: object, what: str, field_name: str) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise PayablesError(f"{what} {raw!r} is not a date (YYYY-MM-DD)", {field_name: "must be YYYY-MM-DD"}) from None


def invoice_lines_from(raw: object) -> tuple[InvoiceLine, ...]:
    if not isinstance(raw, list) or not raw:
        raise PayablesError("an invoice needs at least one line", {"lines": "add a line"})
    out: list[InvoiceLine] = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, Mapping) or not str(item.get("po_line_id") or "").strip():
            raise PayablesError(f"line {n} names no purchase-order line", {"lines": f"line {n}: which PO line?"})
        qty = _decimal(item.get("quantity"), f"line {n} quantity", "lines")
        price = _decimal(item.get("unit_price"), f"line {n} unit price", "lines")
        if qty <= 0:
            raise PayablesError(f"line {n}: quantity {qty} must be positive (a credit note is its own document)",
                                {"lines": f"line {n}: quantity must be positive"})
        if price < 0:
            raise PayablesError(f"line {n}: unit price {price} is negative", {"lines": f"line {n}: price < 0"})
        out.append(InvoiceLine(n, str(item["po_line_id"]), qty, price))
    return tuple(out)


def invoice_from_payload(invoice_id: str, payload: Mapping[str, Any], terms_days: int | None = None
                         ) -> VendorInvoice:
    """The invoice a `finance.vendor_invoice` record holds; the due date from the record or from the terms."""
    invoice_date = _date(payload.get("invoice_date"), "invoice date", "invoice_date")
    due = (_date(payload["due_date"], "due date", "due_date") if payload.get("due_date")
           else due_date(invoice_date, terms_days))
    if due < invoice_date:
        raise PayablesError(f"due date {due} is before the invoice date {invoice_date}", {"due_date": "too early"})
    return VendorInvoice(invoice_id, str(payload.get("vendor_id") or ""), str(payload.get("invoice_no") or ""),
                         str(payload.get("po_id") or ""), invoice_date, due, invoice_lines_from(payload.get("lines")),
                         str(payload.get("status") or "entered"))


def tolerances_from_payload(payload: Mapping[str, Any] | None) -> MatchTolerances:
    if not payload:
        return MatchTolerances()

    def tol(pct: str, absolute: str, default: Tolerance) -> Tolerance:
        if payload.get(pct) is None and payload.get(absolute) is None:
            return default
        return Tolerance(_decimal(payload.get(pct, 0), pct, pct), _decimal(payload.get(absolute, 0), absolute,
                                                                          absolute))
    defaults = MatchTolerances()
    return MatchTolerances(tol("price_pct", "price_abs", defaults.price),
                           tol("quantity_pct", "quantity_abs", defaults.quantity))


@dataclass(frozen=True)
class LineMatch:
    line: InvoiceLine
    po_line: PoLine
    received: Decimal
    invoiced_before: Decimal
    result: MatchResult

    @property
    def matched(self) -> bool:
        return self.result.matched

    @property
    def reason(self) -> str:
        """Why it waits for approval (empty when it matched): what a person sees on the form."""
        return "; ".join(m.message for m in self.result.mismatches)


def invoiced_per_line(invoices: Iterable[VendorInvoice], po_id: str, excluding: str) -> dict[str, Decimal]:
    """What the other invoices of this PO bill per PO line (cancelled ones do not count)."""
    out: dict[str, Decimal] = {}
    for inv in invoices:
        if inv.po_id != po_id or inv.invoice_id == excluding or inv.status == "cancelled":
            continue
        for ln in inv.lines:
            out[ln.po_line_id] = out.get(ln.po_line_id, ZERO) + ln.quantity
    return out


def match_invoice(invoice: VendorInvoice, po_lines: Sequence[PoLine], received: Mapping[str, Decimal],
                  invoiced_before: Mapping[str, Decimal], tolerances: MatchTolerances = MatchTolerances()
                  ) -> tuple[LineMatch, ...]:
    """Three-way match of every line, cumulative per PO line (this invoice's earlier lines count as before)."""
    by_id = {ln.line_id: ln for ln in po_lines}
    running = dict(invoiced_before)
    out: list[LineMatch] = []
    for ln in invoice.lines:
        po_line = by_id.get(ln.po_line_id)
        if po_line is None:
            raise PayablesError(f"line {ln.line_no} bills PO line {ln.po_line_id}, which purchase order "
                                f"{invoice.po_id} does not have", {"lines": f"line {ln.line_no}: unknown PO line"})
        before = running.get(ln.po_line_id, ZERO)
        got = received.get(ln.po_line_id, ZERO)
        result = three_way_match(ordered_qty=po_line.quantity, po_unit_price=po_line.unit_price, received_qty=got,
                                 previously_invoiced_qty=before, invoice_qty=ln.quantity,
                                 invoice_unit_price=ln.unit_price, tolerances=tolerances)
        out.append(LineMatch(ln, po_line, got, before, result))
        running[ln.po_line_id] = before + ln.quantity
    return tuple(out)


def mismatch_amount(matches: Iterable[LineMatch]) -> Decimal:
    """What an approver is asked to let through: the invoiced amount of the lines that mismatch."""
    return sum((m.line.amount for m in matches if not m.matched), ZERO)


def approval_request(invoice: VendorInvoice, matches: Sequence[LineMatch], requested_by: str, requested_at: str
                     ) -> dict[str, Any] | None:
    """The `approvals.request` payload an invoice with mismatches opens (None when every line matched)."""
    waiting = [m for m in matches if not m.matched]
    if not waiting:
        return None
    reasons = " | ".join(f"line {m.line.line_no}: {m.reason}" for m in waiting)
    return {"document_type": APPROVAL_TYPE, "document_id": invoice.invoice_id,
            "amount": float(mismatch_amount(matches)), "requested_by": requested_by, "requested_at": requested_at,
            "title": f"Invoice {invoice.invoice_no} ({invoice.vendor_id}): {reasons}"[:200]}


def line_entries(invoice: VendorInvoice, matches: Sequence[LineMatch], site: str, approved: bool
                 ) -> tuple[list[LedgerEntry], list[LineMatch]]:
    """The entries to post now and the lines that wait for an approval. GR/IR is cleared at the PO price, the
    value the goods receipt credited it with."""
    entries: list[LedgerEntry] = []
    waiting: list[LineMatch] = []
    for m in matches:
        if not m.matched and not approved:
            waiting.append(m)
            continue
        entries.append(vendor_invoice_line(invoice.invoice_id, m.line.line_no, invoice.invoice_date,
                                           m.line.quantity, m.po_line.unit_price, m.line.unit_price, site, m.result,
                                           approved=approved))
    return entries, waiting


# --- AP open items ------------------------------------------------------------------------------------
Records = Iterable[tuple[str, Mapping[str, Any]]]


def ap_documents(invoices: Records, assets: Records, terms: Mapping[str, int | None]
                 ) -> tuple[list[Document], int]:
    """Every AP open item, so that AP (2100) equals the ageing: vendor invoices not cancelled, and fixed assets
    bought on account (kind "asset", D89), which credit 2100 with no vendor invoice record. Due dates from each
    vendor's `terms` when the document states none. Also how many records were unreadable (left out)."""
    docs: list[Document] = []
    bad = 0
    for inv_id, data in invoices:
        if data.get("status") == "cancelled":
            continue
        try:
            docs.append(invoice_from_payload(inv_id, data, terms.get(str(data.get("vendor_id")))).as_document())
        except ValidationError:
            bad += 1
    for asset_id, data in assets:
        if data.get("paid_from") != "payable":
            continue
        try:
            asset = asset_from_payload(asset_id, data, "")
        except ValidationError:
            bad += 1
            continue
        doc = payable_document(asset, terms.get(asset.vendor_id))
        if doc is not None:
            docs.append(doc)
    return docs, bad


# --- payments ---------------------------------------------------------------------------------------
def payment_from_payload(payment_id: str, payload: Mapping[str, Any]) -> Settlement:
    what = f"payment {payment_id}"
    vendor = str(payload.get("vendor_id") or "")
    if not vendor:
        raise PayablesError(f"{what} names no vendor", {"vendor_id": "is required"})
    return Settlement(payment_id, vendor, _date(payload.get("paid_on"), "payment date", "paid_on"),
                      cents(payload.get("amount"), what, "amount"), allocations_from(payload.get("allocations"), what))


def _check_invoice(payload: Mapping[str, Any]) -> None:
    invoice_from_payload("new", payload)


def _check_payment(payload: Mapping[str, Any]) -> None:
    payment_from_payload("new", payload)


def _check_tolerance(payload: Mapping[str, Any]) -> None:
    tolerances_from_payload(payload)


VENDOR_INVOICE = register(
    EntitySpec(
        name=INVOICE,
        strategy=Strategy.MANUAL,
        record_check=_check_invoice,
        fields={
            "vendor_id": FieldSpec("str", required=True, label="Vendor"),
            "invoice_no": FieldSpec("str", required=True, max_length=64, label="Invoice number"),
            "po_id": FieldSpec("str", required=True, label="Purchase order"),
            "invoice_date": FieldSpec("date", required=True, label="Invoice date"),
            "due_date": FieldSpec("date", label="Due date (empty: from the vendor's terms)"),
            "currency": FieldSpec("str", max_length=3, label="Currency"),
            "lines": FieldSpec("list", required=True, label="Lines (po_line_id, quantity, unit_price)"),
            "status": FieldSpec("str", choices=STATUSES, label="Status"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

PAYMENT_SPEC = register(
    EntitySpec(
        name=PAYMENT,
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        record_check=_check_payment,
        fields={
            "vendor_id": FieldSpec("str", required=True, label="Vendor"),
            "paid_on": FieldSpec("date", required=True, label="Paid on"),
            "amount": FieldSpec("str", required=True, max_length=20, label="Amount"),
            "allocations": FieldSpec("list", label="Allocations (invoice_id, amount)"),
            "reference": FieldSpec("str", max_length=64, label="Reference"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

MATCH_TOLERANCE = register(
    EntitySpec(
        name=TOLERANCE,
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,
        record_check=_check_tolerance,
        fields={
            "price_pct": FieldSpec("number", min=0, max=100, label="Price tolerance (%)"),
            "price_abs": FieldSpec("number", min=0, label="Price tolerance (per unit)"),
            "quantity_pct": FieldSpec("number", min=0, max=100, label="Quantity tolerance (%)"),
            "quantity_abs": FieldSpec("number", min=0, label="Quantity tolerance (units)"),
        },
    )
)
