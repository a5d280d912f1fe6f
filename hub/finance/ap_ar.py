"""The hub's posters for payables and receivables (registered on the posting hook, hub/finance/posting.py).

- `finance.vendor_invoice`: the three-way match is run again here, against what the hub holds (the PO, the goods
  receipts on it, the other invoices of the PO, the tenant's tolerance record): the device's match was advice.
  Matched lines post on the invoice date; a line with a mismatch posts only once the invoice's
  `approvals.request` (type `vendor_invoice_mismatch`) is approved. A line already posted is rebuilt with its
  posted date so a re-save is a replay, and a changed or removed posted line is refused.
- `approvals.decision`: the decision that approves a `vendor_invoice_mismatch` request posts the invoice's
  waiting lines, on the invoice date or, when that period has closed since, on the first open day (D43).
- `finance.payment` / `finance.customer_receipt`: over-allocation against the hub's invoices and earlier
  settlements is refused; Dr AP / Cr bank, Dr bank / Cr AR.
- `finance.customer_invoice`: a contract's days billed twice are refused; an issued invoice's hours are checked
  against the hub's accepted hours before it first posts (hub/finance/ar_hours.py, D65); each line Dr AR / Cr
  rental income.

A refusal raises a FinanceError: the mutation is rejected with the message and nothing of it is applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hub.finance.ar_hours import check_invoice_hours
from hub.finance.posting import PostingWrite, open_posting_date, posted_entries, read_record, register_poster
from hub.projections.models import Row, chains_from, delegations_from, request_row
from shared.domain import payables as ap
from shared.domain import receivables as ar
from shared.domain.assets import ASSET, asset_from_payload, payable_document
from shared.domain.finance import ZERO
from shared.domain.finance_errors import FinanceError
from shared.domain.journal import LedgerEntry
from shared.domain.open_items import Document, Settlement, check_allocation
from shared.domain.postings import payment
from shared.domain.procurement import ProcurementError, po_lines_from_payload
from shared.errors import ValidationError

if TYPE_CHECKING:
    from hub.sync.context import ApplyContext

PO = "procurement.purchase_order"
RECEIPT = "procurement.goods_receipt"
VENDOR = "procurement.vendor"
REQUEST = "approvals.request"
DECISION = "approvals.decision"

Found = dict[str, tuple[str | None, dict[str, Any]]]  # entity id -> (site, data)


async def find(ctx: ApplyContext, entity: str, field: str | None = None, value: str | None = None) -> Found:
    """Live records of an entity (those whose `field` equals `value`), as this push sees them: its own writes
    over what is stored."""
    if field is None:
        rows = await ctx.conn.fetch("SELECT entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 AND "
                                    "entity = $2 AND NOT deleted", ctx.principal.tenant_id, entity)
    else:
        rows = await ctx.conn.fetch("SELECT entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 AND "
                                    "entity = $2 AND data->>$3 = $4 AND NOT deleted", ctx.principal.tenant_id,
                                    entity, field, value)
    out: Found = {r["entity_id"]: (r["site_id"], dict(r["data"])) for r in rows}
    for w in ctx.writes:
        if w.key[0] != entity:
            continue
        if w.deleted or (field is not None and str(w.data.get(field)) != value):
            out.pop(w.key[1], None)
        else:
            out[w.key[1]] = (w.site_id, dict(w.data))
    return out


async def _with_site(ctx: ApplyContext, key: tuple[str, str]) -> tuple[str | None, dict[str, Any]] | None:
    """A record and its site as this push sees it (the site carries into the entries' dimensions)."""
    st = ctx.states.get(key)
    if st is not None:
        return (st.site_id, dict(st.data)) if st.exists and st.data is not None else None
    row = await ctx.conn.fetchrow("SELECT site_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND "
                                  "entity_id = $3 AND NOT deleted", ctx.principal.tenant_id, key[0], key[1])
    return None if row is None else (row["site_id"], dict(row["data"]))


async def keys_posted(ctx: ApplyContext, prefix: str) -> set[str]:
    stored = await ctx.conn.fetch("SELECT key FROM finance.journal_entries WHERE tenant_id = $1 AND "
                                  "starts_with(key, $2)", ctx.principal.tenant_id, prefix)
    return {r["key"] for r in stored} | {k for k in ctx.posting.by_key if k.startswith(prefix)}


async def _terms(ctx: ApplyContext, vendor_id: str) -> int | None:
    vendor = await read_record(ctx, (VENDOR, vendor_id))
    terms = vendor.get("payment_terms_days") if vendor else None
    return terms if isinstance(terms, int) and not isinstance(terms, bool) else None


async def vendor_invoice(ctx: ApplyContext, invoice_id: str, data: Mapping[str, Any]) -> ap.VendorInvoice:
    return ap.invoice_from_payload(invoice_id, data, await _terms(ctx, str(data.get("vendor_id") or "")))


async def approved_amount(ctx: ApplyContext, invoice_id: str) -> Decimal | None:
    """The largest amount an approved `vendor_invoice_mismatch` request of this invoice covers (None: none is
    approved, as of this push)."""
    requests = {i: r for i, r in (await find(ctx, REQUEST, "document_id", invoice_id)).items()
                if r[1].get("document_type") == ap.APPROVAL_TYPE}
    if not requests:
        return None
    chains = chains_from(Row(i, s, d) for i, (s, d) in (await find(ctx, "approvals.chain")).items())
    delegations = delegations_from(Row(i, s, d) for i, (s, d) in (await find(ctx, "approvals.delegation")).items())
    best: Decimal | None = None
    for rid, (site, data) in requests.items():
        decisions = [Row(i, s, d) for i, (s, d) in (await find(ctx, DECISION, "request_id", rid)).items()]
        row = request_row(Row(rid, site, data), decisions, chains, delegations)
        if row["status"] == "approved":
            best = max(best or ZERO, Decimal(str(row["amount"])))
    return best


async def _match(ctx: ApplyContext, invoice: ap.VendorInvoice) -> tuple[ap.LineMatch, ...]:
    po = await read_record(ctx, (PO, invoice.po_id))
    if po is None:
        raise ap.PayablesError(f"invoice {invoice.invoice_no} bills purchase order {invoice.po_id}, which the hub "
                               "does not hold", {"po_id": "unknown purchase order"})
    try:
        po_lines = po_lines_from_payload(po.get("lines"))
    except ProcurementError as exc:
        raise ap.PayablesError(f"purchase order {invoice.po_id} cannot be read: {exc}", {"po_id": "unreadable"}
                               ) from None
    received: dict[str, Decimal] = {}
    for _, gr in (await find(ctx, RECEIPT, "po_id", invoice.po_id)).values():
        qty = gr.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int | float):
            continue  # an unreadable row receives nothing
        line = str(gr.get("line_id"))
        received[line] = received.get(line, ZERO) + Decimal(str(qty))  # a return (negative) takes back
    others: list[ap.VendorInvoice] = []
    for oid, (_, odata) in (await find(ctx, ap.INVOICE, "po_id", invoice.po_id)).items():
        if oid == invoice.invoice_id:
            continue
        try:
            others.append(ap.invoice_from_payload(oid, odata))
        except ValidationError:
            continue  # an unreadable older invoice bills nothing the match could count
    tolerance = await read_record(ctx, (ap.TOLERANCE, ap.TOLERANCE_ID))
    before = ap.invoiced_per_line(others, invoice.po_id, excluding=invoice.invoice_id)
    return ap.match_invoice(invoice, po_lines, received, before, ap.tolerances_from_payload(tolerance))


async def invoice_entries(ctx: ApplyContext, invoice_id: str, data: Mapping[str, Any], site: str, *,
                          late_ok: bool) -> list[LedgerEntry]:
    """The entries for a vendor invoice as the hub holds it now: posted lines rebuilt (a replay, or a refusal if
    their figures changed), matched lines, and the mismatched ones when an approval covers them: approved for at
    least what the mismatched lines are worth now, so lines changed or added after the approval wait for a new
    one."""
    invoice = await vendor_invoice(ctx, invoice_id, data)
    prefix = f"vendor_invoice:{invoice_id}:"
    posted_keys = await keys_posted(ctx, prefix)
    line_keys = {f"{prefix}{ln.line_no}" for ln in invoice.lines}
    gone = sorted(posted_keys - line_keys)
    if gone or (posted_keys and invoice.status == "cancelled"):
        raise ap.PayablesError(f"invoice {invoice.invoice_no} has posted lines ({', '.join(sorted(posted_keys))}); "
                               "a posted line is never removed or cancelled: enter a credit note",
                               {"lines": "posted lines cannot be removed"})
    if invoice.status == "cancelled":
        return []
    matches = await _match(ctx, invoice)
    covered = await approved_amount(ctx, invoice_id) if any(not m.matched for m in matches) else None
    approved = covered is not None and ap.mismatch_amount(matches) <= covered
    posted = await posted_entries(ctx, sorted(posted_keys))
    out: list[LedgerEntry] = []
    for m in matches:
        key = f"{prefix}{m.line.line_no}"
        if key in posted:
            (entry,), _ = ap.line_entries(invoice, [m], site, approved=True)
            out.append(LedgerEntry(entry.key, posted[key].posting_date, entry.lines, entry.description))
            continue
        new, _waiting = ap.line_entries(invoice, [m], site, approved=approved)
        for entry in new:
            day, memo = (await open_posting_date(ctx, entry.posting_date)) if late_ok else (entry.posting_date, "")
            out.append(LedgerEntry(entry.key, day, entry.lines, f"{entry.description}; {memo}" if memo
                                   else entry.description))
    return out


async def post_vendor_invoice(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    if w.data is None:
        if await keys_posted(ctx, f"vendor_invoice:{w.entity_id}:"):
            raise ap.PayablesError(f"invoice {w.entity_id} has posted lines and cannot be deleted; enter a credit "
                                   "note", {"entity_id": "posted"})
        return []
    return await invoice_entries(ctx, w.entity_id, w.data, w.site_id or "", late_ok=False)


async def post_decision(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    """An approval of a `vendor_invoice_mismatch` request posts the invoice's waiting lines."""
    if w.data is None:
        return []
    request = await read_record(ctx, (REQUEST, str(w.data.get("request_id") or "")))
    if not request or request.get("document_type") != ap.APPROVAL_TYPE or w.data.get("verdict") != "approve":
        return []
    invoice_id = str(request.get("document_id") or "")
    found = await _with_site(ctx, (ap.INVOICE, invoice_id)) if invoice_id else None
    if found is None or await approved_amount(ctx, invoice_id) is None:
        return []  # an earlier level, or the invoice is not here yet (its own write posts it then)
    site, data = found
    return await invoice_entries(ctx, invoice_id, data, site or "", late_ok=True)


async def asset_document(ctx: ApplyContext, asset_id: str) -> Document | None:
    """The AP open item of a fixed asset bought on account, as this push sees it (None: no such asset, or not
    on account)."""
    data = await read_record(ctx, (ASSET, asset_id))
    if data is None or data.get("paid_from") != "payable":
        return None
    asset = asset_from_payload(asset_id, data, "")
    return payable_document(asset, await _terms(ctx, asset.vendor_id))


async def allocated_to(ctx: ApplyContext, document_id: str) -> dict[str, str]:
    """Payment id -> vendor of every payment (stored and in this push) that allocates to the document."""
    rows = await ctx.conn.fetch(
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND NOT deleted AND EXISTS "
        "(SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(data->'allocations') = 'array' "
        "THEN data->'allocations' ELSE '[]'::jsonb END) a WHERE a->>'invoice_id' = $3)",
        ctx.principal.tenant_id, ap.PAYMENT, document_id)
    out = {r["entity_id"]: str(dict(r["data"]).get("vendor_id") or "") for r in rows}
    for w in ctx.writes:
        if w.key[0] == ap.PAYMENT and not w.deleted and any(
                isinstance(a, Mapping) and a.get("invoice_id") == document_id for a in w.data.get("allocations") or []):
            out[w.key[1]] = str(w.data.get("vendor_id") or "")
    return out


# --- settlements ----------------------------------------------------------------------------------------
async def _settled_before(ctx: ApplyContext, entity: str, settlement: Settlement,
                          parse: Any) -> dict[str, Decimal]:
    rows = await ctx.conn.fetch(
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND NOT deleted AND EXISTS "
        "(SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(data->'allocations') = 'array' "
        "THEN data->'allocations' ELSE '[]'::jsonb END) a WHERE a->>'invoice_id' = ANY($3::text[]))",
        ctx.principal.tenant_id, entity, [a.document_id for a in settlement.allocations])
    others = {r["entity_id"]: dict(r["data"]) for r in rows}
    others.update({w.key[1]: dict(w.data) for w in ctx.writes if w.key[0] == entity and not w.deleted})
    others.pop(settlement.settlement_id, None)
    out: dict[str, Decimal] = {}
    for oid, data in others.items():
        try:
            other = parse(oid, data)
        except ValidationError:
            continue
        for a in other.allocations:
            out[a.document_id] = out.get(a.document_id, ZERO) + a.amount
    return out


async def post_payment(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    if w.data is None:
        return []
    settlement = ap.payment_from_payload(w.entity_id, w.data)
    docs: dict[str, Document] = {}
    for a in settlement.allocations:
        data = await read_record(ctx, (ap.INVOICE, a.document_id))
        if data is not None and data.get("status") != "cancelled":
            docs[a.document_id] = (await vendor_invoice(ctx, a.document_id, data)).as_document()
        elif data is None and (doc := await asset_document(ctx, a.document_id)) is not None:
            docs[a.document_id] = doc  # an asset bought on account is its vendor's invoice (D89)
    check_allocation(settlement, docs, await _settled_before(ctx, ap.PAYMENT, settlement, ap.payment_from_payload))
    return [payment(w.entity_id, settlement.settled_on, settlement.amount, w.site_id or "")]


async def post_customer_receipt(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    if w.data is None:
        return []
    settlement = ar.receipt_from_payload(w.entity_id, w.data)
    docs: dict[str, Document] = {}
    for a in settlement.allocations:
        data = await read_record(ctx, (ar.INVOICE, a.document_id))
        if data is not None:
            inv = ar.invoice_from_payload(a.document_id, data)
            if inv.status == "issued":
                docs[a.document_id] = inv.as_document()
    check_allocation(settlement, docs, await _settled_before(ctx, ar.RECEIPT, settlement, ar.receipt_from_payload))
    return [ar.customer_receipt_entry(w.entity_id, settlement.settled_on, settlement.amount, w.site_id or "")]


async def post_customer_invoice(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    prefix = f"customer_invoice:{w.entity_id}:"
    if w.data is None:
        if await keys_posted(ctx, prefix):
            raise ar.ReceivablesError(f"invoice {w.entity_id} is posted and cannot be deleted",
                                      {"entity_id": "posted"})
        return []
    invoice = ar.invoice_from_payload(w.entity_id, w.data)
    posted_keys = await keys_posted(ctx, prefix)
    entries = ar.invoice_entries(invoice, w.site_id or "")
    if posted_keys - {e.key for e in entries}:
        raise ar.ReceivablesError(f"invoice {invoice.number or w.entity_id} is posted; it cannot be cancelled, "
                                  "returned to draft or lose a line (credit notes are not modelled yet)",
                                  {"status": "the invoice is posted"})
    others: list[ar.CustomerInvoice] = []
    for oid, (_, odata) in (await find(ctx, ar.INVOICE, "customer", invoice.customer)).items():
        try:
            others.append(ar.invoice_from_payload(oid, odata))
        except ValidationError:
            continue
    if invoice.status == "issued":
        ar.check_not_billed(invoice, others)
        if not posted_keys:  # first issued: its hours are the hub's accepted hours (D65); a posted one is fixed
            await check_invoice_hours(ctx, invoice, w.site_id)
    posted = await posted_entries(ctx, sorted(posted_keys))
    return [LedgerEntry(e.key, posted[e.key].posting_date, e.lines, e.description) if e.key in posted else e
            for e in entries]


def _guard(poster: Any) -> Any:
    """Every refusal a poster can meet is a FinanceError, so the mutation is rejected with its message (a
    ValidationError from a shared parser becomes one)."""
    async def run(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
        try:
            result: list[LedgerEntry] = await poster(ctx, w)
            return result
        except FinanceError:
            raise
        except ValidationError as exc:
            raise FinanceError(str(exc), exc.field_errors) from exc
    run.__qualname__ = poster.__qualname__
    return run


# Every key but the decision's names the record posted (`payment:<id>`, `vendor_invoice:<id>:<line>`): a record
# created new has nothing posted yet. A decision posts its invoice's lines.
for _entity, _poster, _keyed in ((ap.INVOICE, post_vendor_invoice, True), (DECISION, post_decision, False),
                                 (ap.PAYMENT, post_payment, True), (ar.INVOICE, post_customer_invoice, True),
                                 (ar.RECEIPT, post_customer_receipt, True)):
    register_poster(_entity, _guard(_poster), keyed_by_record=_keyed)
