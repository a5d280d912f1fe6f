"""The serial replay the finance chain test compares the hub against: the operations the hub holds, through the
pure shared rules only (tests/e2e/test_finance_chain.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.domain import payables as ap
from shared.domain import postings
from shared.domain import receivables as ar
from shared.domain import stock_postings as sp
from shared.domain.accounts import ChartOfAccounts, Dimension
from shared.domain.assets import acquisition_entry, asset_from_payload, depreciation_run
from shared.domain.costing import StockPosition
from shared.domain.inventory import MovementKind
from shared.domain.journal import LedgerEntry
from shared.domain.ledger import Ledger
from shared.domain.manual_journal import manual_entry
from shared.domain.periods import Period, PeriodCalendar
from shared.domain.procurement import po_lines_from_payload
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch


def records(hub: HubProcess, tenant: str, entity: str) -> list[dict[str, Any]]:
    return db_fetch(hub.dsn, "SELECT entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 "
                             "AND NOT deleted ORDER BY entity_id", tenant, entity)


def replay(hub: HubProcess, tenant: str) -> list[LedgerEntry]:
    """The same operations through the pure rules: stock in the hub's order of application (its event log), the
    documents as the hub holds them, the approval given, November's depreciation."""
    prices = {(r["entity_id"], ln.line_id): ln.unit_price for r in records(hub, tenant, "procurement.purchase_order")
              for ln in po_lines_from_payload(r["data"]["lines"])}
    machines = {r["entity_id"]: r["data"]["equipment_id"] for r in records(hub, tenant, "maintenance.work_order")}
    events = db_fetch(hub.dsn, "SELECT entity_id, payload, site_id FROM sync.events WHERE tenant_id = $1 AND "
                               "entity = 'inventory.movement' ORDER BY seq", tenant)
    positions: dict[tuple[str, str], StockPosition] = defaultdict(StockPosition)
    entries: list[LedgerEntry | None] = []
    for ev in events:
        mid, d, site = ev["entity_id"], ev["payload"], ev["site_id"]
        kind, qty, key = MovementKind(d["kind"]), Decimal(str(d["quantity"])), (d["store_id"], d["item_id"])
        day = datetime.fromisoformat(d["occurred_at"]).date()
        if kind is MovementKind.RECEIPT:
            price = prices[(d["po_id"], d["po_line_id"])]
            costed = sp.cost(positions[key], sp.StockMove(kind, qty, price))
            entries.append(sp.receipt(mid, day, qty, costed, price, site))
        else:
            assert kind is MovementKind.ISSUE
            costed = sp.cost(positions[key], sp.StockMove(kind, qty))
            wo = d.get("work_order_id")
            entries.append(sp.issue_entry(mid, day, costed, site, d.get("cost_centre"), machines.get(wo or ""), wo))
        positions[key] = costed.position
    receipts = records(hub, tenant, "procurement.goods_receipt")
    for inv in records(hub, tenant, ap.INVOICE):
        invoice = ap.invoice_from_payload(inv["entity_id"], inv["data"])
        po_lines = po_lines_from_payload(next(r["data"]["lines"] for r in records(hub, tenant,
                                                                               "procurement.purchase_order")
                                              if r["entity_id"] == invoice.po_id))
        received: dict[str, Decimal] = defaultdict(Decimal)
        for gr in receipts:
            if gr["data"]["po_id"] == invoice.po_id:
                received[gr["data"]["line_id"]] += Decimal(str(gr["data"]["quantity"]))
        matches = ap.match_invoice(invoice, po_lines, received, {}, ap.tolerances_from_payload(None))
        posted, waiting = ap.line_entries(invoice, matches, inv["site_id"], approved=True)  # the mismatch approved
        assert not waiting
        entries += posted
    for p in records(hub, tenant, ap.PAYMENT):
        entries.append(postings.payment(p["entity_id"], date.fromisoformat(p["data"]["paid_on"]),
                                        Decimal(p["data"]["amount"]), p["site_id"]))
    for ci in records(hub, tenant, ar.INVOICE):
        entries += ar.invoice_entries(ar.invoice_from_payload(ci["entity_id"], ci["data"]), ci["site_id"])
    for cr in records(hub, tenant, ar.RECEIPT):
        entries.append(ar.customer_receipt_entry(cr["entity_id"], date.fromisoformat(cr["data"]["received_on"]),
                                                 Decimal(cr["data"]["amount"]), cr["site_id"]))
    assets = [asset_from_payload(a["entity_id"], a["data"], a["site_id"]) for a in records(hub, tenant,
                                                                                          "finance.asset")]
    entries += [acquisition_entry(a) for a in assets]
    run = depreciation_run(assets, Period(2026, 11), accumulated={}, last_posted={}, hours={})
    entries += [c.entry for c in run.charges]
    entries += [manual_entry(j["entity_id"], j["data"]) for j in records(hub, tenant, "finance.journal_entry")]
    posted = [e for e in entries if e is not None]
    values: dict[Dimension, set[str]] = defaultdict(set)  # every dimension is open for this tenant (D35)
    for e in posted:
        for ln in e.lines:
            for dim, v in ln.dimensions:
                values[dim].add(v)
    ledger, _ = Ledger().post_all(posted, ChartOfAccounts.build(sp.default_accounts(), values), PeriodCalendar())
    return list(ledger.entries)
