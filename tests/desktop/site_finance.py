"""Two years of payables and receivables for the site store (tests/desktop/site_store.py), made from the seeded
history with the shared finance rules, deterministically (a seeded generator, ids from the data).

- Payables: the seed already keys a vendor invoice per goods receipt (all matched and posted). Here about one
  in twenty-five of the last 120 days' invoices came in above the PO price (+6 %, outside the 2 % tolerance):
  the invoice waits for approval with the `approvals.request` `payables.approval_request` makes from the shared
  match; those older than 30 days were approved (one in six rejected), the rest wait. A rejected or waiting
  invoice has no journal entry (D43: a mismatched line posts only once approved); an approved one is posted at
  its price with the variance.
- Payments: a payment run every other Thursday pays each vendor's invoices due by the next run, in one payment
  per vendor allocated to them; about one invoice in twelve is held (disputed) for 20-150 days, one in sixteen
  is paid half now and the rest at the next run, and every 97th payment carries 250.00 not yet matched to an
  invoice (unapplied cash). Invoices waiting for or refused an approval are not paid.
- Receivables: a rental contract per rental machine (the units office_extras marks), a monthly invoice per
  customer for every month before this one (`receivables.rental_invoice` over the deduplicated usage logs with
  `usage_hours.billable_usage`: no reconciliation line names those shifts, so the measured hours are billed),
  and receipts: most customers pay near the due date, Customer 4 two to four months late, every ninth invoice
  is paid in two parts; nothing is received after yesterday.
- One `finance.asset` per machine (straight line, or units of production for the haul trucks) and the match
  tolerance record.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.domain import payables as ap
from shared.domain import receivables as ar
from shared.domain.finance import money
from shared.domain.open_items import ZERO
from shared.domain.procurement import po_lines_from_payload
from shared.domain.usage_hours import DEFAULT_THRESHOLD, UsageShift, billable_usage, usage_from_payload

Records = dict[tuple[str, str], tuple[dict[str, Any] | None, int]]
MISMATCH_CHAIN = {"document_type": ap.APPROVAL_TYPE, "name": "Invoice mismatches", "active": True,
                  "levels": [{"min_amount": 0.0, "approver_user": "site_manager", "approver_role": None}]}
TOLERANCE = {"price_pct": 2, "price_abs": 0, "quantity_pct": 0, "quantity_abs": 0}  # the match's defaults
ON_ACCOUNT = Decimal("250.00")
RECEIPT_TERMS = 30  # as the customer invoice form (D41)


def _live(records: Records, entity: str) -> list[tuple[str, dict[str, Any]]]:
    return sorted((k[1], s) for k, (s, _v) in records.items() if k[0] == entity and s is not None)


def _put(records: Records, entity: str, entity_id: str, state: dict[str, Any] | None) -> None:
    _old, version = records.get((entity, entity_id), (None, 0))
    records[(entity, entity_id)] = (state, version + 1)


def finance_extras(records: Records, today: date, start: date) -> None:
    rng = random.Random(20261206)
    _put(records, ap.TOLERANCE, ap.TOLERANCE_ID, dict(TOLERANCE))
    _put(records, "approvals.chain", "chain-invoice-mismatch", dict(MISMATCH_CHAIN))
    invoices = _mismatches(records, today, rng)
    _payments(records, invoices, today, start, rng)
    units = _live(records, "equipment.unit")
    _assets(records, units, start)
    customer_invoices = _rentals(records, units, today, start)
    _receipts(records, customer_invoices, today, rng)


# --- payables ------------------------------------------------------------------------------------------------
def _mismatches(records: Records, today: date, rng: random.Random) -> list[tuple[ap.VendorInvoice, str]]:
    """Re-price some recent invoices above their PO; returns every invoice with what became of its approval
    ('' none asked, 'approved', 'rejected', 'pending')."""
    terms = {vid: s.get("payment_terms_days") for vid, s in _live(records, "procurement.vendor")}
    pos = dict(_live(records, "procurement.purchase_order"))
    received: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for _gid, gr in _live(records, "procurement.goods_receipt"):
        per = received[str(gr["po_id"])]
        per[str(gr["line_id"])] = per.get(str(gr["line_id"]), ZERO) + Decimal(str(gr["quantity"]))
    raw = _live(records, ap.INVOICE)
    parsed = {iid: ap.invoice_from_payload(iid, s, terms.get(str(s.get("vendor_id")))) for iid, s in raw}
    by_po: dict[str, list[ap.VendorInvoice]] = defaultdict(list)
    for inv in parsed.values():
        by_po[inv.po_id].append(inv)
    since = today - timedelta(days=120)
    out: list[tuple[ap.VendorInvoice, str]] = []
    for iid, state in raw:
        inv = parsed[iid]
        if inv.invoice_date < since or rng.random() >= 0.04 or inv.po_id not in pos:
            out.append((inv, ""))
            continue
        po_lines = po_lines_from_payload(pos[inv.po_id].get("lines"))
        price_of = {ln.line_id: ln.unit_price for ln in po_lines}
        lines = [{**ln, "unit_price": float(money(price_of[str(ln["po_line_id"])] * Decimal("1.06")))}
                 for ln in state["lines"]]
        repriced = ap.invoice_from_payload(iid, {**state, "lines": lines, "status": "awaiting_approval"},
                                           terms.get(inv.vendor_id))
        before = ap.invoiced_per_line(by_po[inv.po_id], inv.po_id, excluding=iid)
        matches = ap.match_invoice(repriced, po_lines, received[inv.po_id], before,
                                   ap.tolerances_from_payload(TOLERANCE))
        at = f"{inv.invoice_date.isoformat()}T09:00:00+00:00"
        request = ap.approval_request(repriced, matches, "ap_clerk", at)
        assert request is not None, f"{iid} at +6 % should mismatch"
        _put(records, ap.INVOICE, iid, {**state, "lines": lines, "status": "awaiting_approval"})
        _put(records, "approvals.request", f"req-{iid}", request)
        fate = "pending"
        if (today - inv.invoice_date).days > 30:
            fate = "rejected" if rng.random() < 1 / 6 else "approved"
            _put(records, "approvals.decision", f"dec-{iid}", {
                "request_id": f"req-{iid}", "level": 0, "verdict": "approve" if fate == "approved" else "reject",
                "by": "site_manager", "roles": ["site_manager"], "amount": request["amount"],
                "at": f"{(inv.invoice_date + timedelta(days=3)).isoformat()}T10:00:00+00:00"})
        out.append((repriced, fate))
    return out


def _payment_runs(start: date, today: date) -> list[date]:
    first = start + timedelta(days=(3 - start.weekday()) % 7)  # the first Thursday
    return [first + timedelta(days=14 * n) for n in range(((today - first).days - 1) // 14 + 1)]


def _payments(records: Records, invoices: list[tuple[ap.VendorInvoice, str]], today: date, start: date,
              rng: random.Random) -> None:
    # Each invoice: (earliest run it may be paid in, what is left, paid in halves?)
    payable: list[tuple[date, ap.VendorInvoice, bool]] = []
    for inv, fate in invoices:
        if inv.status == "cancelled" or fate in ("pending", "rejected"):
            continue
        held = timedelta(days=rng.randint(20, 150)) if rng.random() < 1 / 12 else timedelta(0)
        payable.append((inv.due_date + held, inv, rng.random() < 1 / 16))
    payable.sort(key=lambda p: (p[0], p[1].invoice_id))
    left = {inv.invoice_id: inv.total for _d, inv, _h in payable}
    waiting: list[tuple[date, ap.VendorInvoice, bool]] = []
    runs = _payment_runs(start, today)
    count = 0
    i = 0
    for run in runs:
        horizon = run + timedelta(days=14)  # pay what falls due before the next run
        while i < len(payable) and payable[i][0] <= horizon:
            waiting.append(payable[i])
            i += 1
        per_vendor: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        still: list[tuple[date, ap.VendorInvoice, bool]] = []
        for due, inv, halves in waiting:
            owed = left[inv.invoice_id]
            if halves and owed == inv.total and owed >= Decimal("0.02"):
                pay = money(owed / 2)
                still.append((due, inv, halves))
            else:
                pay = owed
            left[inv.invoice_id] = owed - pay
            per_vendor[inv.vendor_id].append((inv.invoice_id, pay))
        waiting = still
        for vendor in sorted(per_vendor):
            allocations = per_vendor[vendor]
            count += 1
            amount = sum((a for _i, a in allocations), ZERO) + (ON_ACCOUNT if count % 97 == 0 else ZERO)
            _put(records, ap.PAYMENT, f"pay-{run.isoformat()}-{vendor}", {
                "vendor_id": vendor, "paid_on": run.isoformat(), "amount": str(amount),
                "allocations": [{"invoice_id": iid, "amount": str(a)} for iid, a in allocations],
                "reference": f"EFT{count:06d}"})


# --- fixed assets ------------------------------------------------------------------------------------------
def _assets(records: Records, units: list[tuple[str, dict[str, Any]]], start: date) -> None:
    for n, (unit_id, unit) in enumerate(units):
        in_service = start - timedelta(days=30 * (n % 60) + 200)
        haul = "truck" in str(unit.get("equipment_class") or "").lower()
        method = {"method": "units_of_production", "rated_hours": 60_000} if haul else {
            "method": "straight_line", "life_months": 96}
        cost = Decimal(450_000 + 25_000 * (n % 23))
        _put(records, "finance.asset", f"asset-{unit_id}", {
            "equipment_id": unit_id, "description": f"{unit.get('fleet_no')} {unit.get('equipment_class')}",
            "cost": str(money(cost)), "salvage": str(money(cost / 10)), "in_service": in_service.isoformat(),
            **method})


# --- receivables -------------------------------------------------------------------------------------------
def _months(start: date, today: date) -> list[tuple[date, date]]:
    out = []
    first = date(start.year, start.month, 1) + timedelta(days=32)
    first = date(first.year, first.month, 1)  # the first whole month
    this_month = date(today.year, today.month, 1)
    while first < this_month:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        out.append((first, following - timedelta(days=1)))
        first = following
    return out


def _rentals(records: Records, units: list[tuple[str, dict[str, Any]]], today: date, start: date
             ) -> list[ar.CustomerInvoice]:
    contracts: dict[str, list[ar.RentalContract]] = defaultdict(list)
    for n, (unit_id, unit) in enumerate(u for u in units if u[1].get("rental")):
        starts = start + timedelta(days=90 * (n % 3))  # some went on hire later
        payload: dict[str, Any] = {"equipment_id": unit_id, "customer": unit["customer"],
                                   "rate_per_hour": float(unit["rental_rate"]), "starts_on": starts.isoformat()}
        if n == 5:
            payload["ends_on"] = (today - timedelta(days=200)).isoformat()  # one came back off hire
        _put(records, "equipment.rental_contract", f"rc-{unit_id}", payload)
        contracts[str(unit["customer"])].append(ar.contract_from_payload(f"rc-{unit_id}", payload))
    rented = {c.equipment_id for cs in contracts.values() for c in cs}
    by_month: dict[tuple[int, int], list[UsageShift]] = defaultdict(list)
    for (entity, log_id), (state, _v) in records.items():
        if entity == "equipment.usage_log" and state is not None and state.get("equipment_id") in rented:
            shift = usage_from_payload(log_id, state)
            if shift is not None:
                by_month[(shift.shift_date.year, shift.shift_date.month)].append(shift)
    out: list[ar.CustomerInvoice] = []
    for first, last in _months(start, today):
        usage = billable_usage(by_month[(first.year, first.month)], [], [], DEFAULT_THRESHOLD, {})
        on = last + timedelta(days=1)
        for c, customer in enumerate(sorted(contracts), 1):
            invoice_id = f"ar-{first:%Y-%m}-c{c}"
            try:
                invoice = ar.rental_invoice(invoice_id, contracts[customer], usage.shifts, first, last, on,
                                            RECEIPT_TERMS, number=f"AR{first:%Y%m}-{c}", details=usage.details)
            except ar.ReceivablesError:
                continue  # no hours that month (no contract running yet)
            _put(records, ar.INVOICE, invoice_id, ar.invoice_payload(invoice))
            out.append(invoice)
    return out


def _receipts(records: Records, invoices: list[ar.CustomerInvoice], today: date, rng: random.Random) -> None:
    for n, inv in enumerate(invoices):
        late = rng.randint(60, 130) if inv.customer.endswith("4") else rng.randint(-5, 12)
        on = inv.due_date + timedelta(days=late)
        parts = [inv.total] if n % 9 else [money(inv.total * Decimal("0.6")), inv.total - money(inv.total *
                                                                                             Decimal("0.6"))]
        for p, amount in enumerate(parts):
            day = on + timedelta(days=21 * p)
            if day >= today:
                break
            _put(records, ar.RECEIPT, f"rcpt-{inv.invoice_id}-{p + 1}", {
                "customer": inv.customer, "received_on": day.isoformat(), "amount": str(amount),
                "allocations": [{"invoice_id": inv.invoice_id, "amount": str(amount)}],
                "reference": f"DEP-{inv.number}-{p + 1}"})
