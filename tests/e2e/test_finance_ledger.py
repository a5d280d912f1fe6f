"""End to end: offline desktops (real encrypted client stores and sync clients) receive against the same PO lines,
issue the same items from the same store, ship and receive a transfer, then sync at the same moment against a real
hub process and PostgreSQL. The hub's ledger is balanced, equals a serial replay of the same movements (in the order
the hub applied them) through the pure rules (costing fold, stock posting rules, `Ledger.post`, trial-balance
fold), and its inventory account equals the stock valuation (Σ value_cents of inventory.stock) to the cent, per
site."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.domain import stock_postings as sp
from shared.domain.accounts import ChartOfAccounts, Dimension
from shared.domain.costing import StockPosition
from shared.domain.inventory import MovementKind
from shared.domain.journal import LedgerEntry
from shared.domain.ledger import Ledger
from shared.domain.periods import PeriodCalendar
from shared.domain.procurement import po_lines_from_payload
from shared.domain.trial_balance import trial_balance
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft
from shared.sync import SyncClient
from tests.e2e.test_client_hub import make_client
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch

MOVEMENT = "inventory.movement"
PO_LINES = [{"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 1000, "unit_price": 12.35},
            {"line_id": "2", "item_id": "BELT", "store_id": "MAIN", "quantity": 1000, "unit_price": 7.77},
            {"line_id": "3", "item_id": "FILTER", "store_id": "MAIN", "quantity": 1000, "unit_price": 13.05}]


def move(store: LocalStore, site: str, kind: str, item: str, qty: float, day: int, **extra: Any) -> str:
    movement_id = new_ulid()
    payload = {"kind": kind, "store_id": extra.pop("store_id", "MAIN"), "item_id": item, "quantity": qty,
               "occurred_at": f"2026-07-{day:02d}T08:00:00+00:00", "by": "storeman", **extra}
    store.enqueue_many([MutationDraft(MOVEMENT, movement_id, "create", payload, "storeman", site)])
    return movement_id


def offline_work(store: LocalStore, rnd: random.Random, day: int, n: int) -> None:
    """Receipts against the shared PO lines (the row's typed cost is ignored: the PO price counts), issues to the
    work order or a cost centre, sometimes ahead of the receipts (stock goes negative offline), counts."""
    for _ in range(n):
        item = rnd.choice(["FILTER", "BELT"])
        roll = rnd.random()
        if roll < 0.4:
            line = "2" if item == "BELT" else rnd.choice(["1", "3"])
            move(store, "s1", "receipt", item, rnd.randint(1, 9), day, unit_cost=rnd.choice([1, 99]), po_id="PO1",
                 po_line_id=line)
        elif roll < 0.85:
            target = {"work_order_id": "WO1"} if rnd.random() < 0.5 else {"cost_centre": rnd.choice(["CC-A", "CC-B"])}
            move(store, "s1", "issue", item, rnd.randint(1, 7), day, **target)
        else:
            move(store, "s1", "count_adjustment", item, rnd.choice([-2, -1, 1, 3]), day, note="count")


def sync_together(clients: list[SyncClient]) -> None:
    start = threading.Barrier(len(clients))
    errors: list[BaseException] = []

    def go(c: SyncClient) -> None:
        try:
            start.wait()
            c.sync_once()
        except BaseException as exc:  # reported below, on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def replay(hub: HubProcess, tenant: str) -> list[LedgerEntry]:
    """The pure rules over the movements in the hub's application order (its event log): the reference."""
    po = db_fetch(hub.dsn, "SELECT data FROM sync.records WHERE tenant_id = $1 AND entity_id = 'PO1'", tenant)[0]
    prices = {ln.line_id: ln.unit_price for ln in po_lines_from_payload(po["data"]["lines"])}
    events = db_fetch(hub.dsn, "SELECT e.entity_id, e.payload, e.site_id FROM sync.events e WHERE e.tenant_id = $1 "
                               "AND e.entity = $2 ORDER BY e.seq", tenant, MOVEMENT)
    positions: dict[tuple[str, str], StockPosition] = defaultdict(StockPosition)
    transit: dict[str, tuple[Decimal, str]] = {}
    entries: list[LedgerEntry] = []
    for ev in events:
        mid, d, site = ev["entity_id"], ev["payload"], ev["site_id"]
        kind, qty = MovementKind(d["kind"]), Decimal(str(d["quantity"]))
        key = (d["store_id"], d["item_id"])
        day = datetime.fromisoformat(d["occurred_at"]).date()
        entry: LedgerEntry | None
        if kind is MovementKind.RECEIPT:
            price = prices[d["po_line_id"]] if d.get("po_id") else Decimal(str(d["unit_cost"]))
            costed = sp.cost(positions[key], sp.StockMove(kind, qty, price))
            entry = sp.receipt(mid, day, qty, costed, price, site)
        elif kind is MovementKind.ISSUE:
            costed = sp.cost(positions[key], sp.StockMove(kind, qty))
            wo = d.get("work_order_id")
            entry = sp.issue_entry(mid, day, costed, site, d.get("cost_centre"), "EX-01" if wo else None, wo)
        elif kind is MovementKind.TRANSFER_OUT:
            costed = sp.cost(positions[key], sp.StockMove(kind, qty))
            transit[d["transfer_id"]] = (costed.amount, site)
            entry = sp.transfer_out(mid, day, costed.amount, site, d["transfer_id"])
        elif kind is MovementKind.TRANSFER_IN:
            value, from_site = transit.pop(d["transfer_id"])
            costed = sp.cost(positions[key], sp.StockMove(kind, qty, value=value))
            entry = sp.transfer_in(mid, day, costed, site, from_site, d["transfer_id"])
        else:
            costed = sp.cost(positions[key], sp.StockMove(kind, qty))
            entry = sp.count_adjustment(mid, day, costed.amount, site, d.get("note") or "")
        positions[key] = costed.position
        if entry is not None:
            entries.append(entry)
    values: dict[Dimension, set[str]] = defaultdict(set)
    for e in entries:
        for ln in e.lines:
            for dim, v in ln.dimensions:
                values[dim].add(v)
    ledger, _ = Ledger().post_all(entries, ChartOfAccounts.build(sp.default_accounts(), values), PeriodCalendar())
    return list(ledger.entries)


def test_two_offline_desktops_receive_and_issue_concurrently_and_the_ledger_equals_a_serial_replay(
        live_hub: HubProcess, tmp_path: Path) -> None:
    tenant = f"t-gle2e-{new_ulid()[-6:].lower()}"
    hq, hq_client = make_client(live_hub, tmp_path, "hq", tenant, "s1")
    hq.enqueue_many([
        MutationDraft("procurement.purchase_order", "PO1", "create", {"vendor_id": "V1", "lines": PO_LINES,
                                                                      "total": 33170}, "buyer"),
        MutationDraft("maintenance.work_order", "WO1", "create", {"equipment_id": "EX-01", "title": "service"},
                      "planner")])
    hq_client.sync_once()
    (a, client_a), (b, client_b) = (make_client(live_hub, tmp_path, n, tenant, "s1") for n in ("desk-a", "desk-b"))
    pit, pit_client = make_client(live_hub, tmp_path, "desk-pit", tenant, "s2")
    for c in (client_a, client_b, pit_client):
        c.sync_once()  # each office has the PO and the work order before it goes offline
    rnd = random.Random(20261206)

    # Round 1, offline: both offices work MAIN's FILTER and BELT; A also ships 6 filters to the pit's store.
    offline_work(a, rnd, 2, 25)
    offline_work(b, rnd, 2, 25)
    transfer = new_ulid()
    move(a, "s1", "transfer_out", "FILTER", 6, 3, unit_cost=1, transfer_id=transfer, to_store_id="PIT")
    move(pit, "s2", "receipt", "BELT", 4, 3, store_id="PIT", unit_cost=8.10)
    sync_together([client_a, client_b, pit_client])
    # Round 2: the pit receives the transfer (it learned of it in round 1's catch-up) while both offices go on.
    pit_client.sync_once()
    move(pit, "s2", "transfer_in", "FILTER", 6, 4, store_id="PIT", unit_cost=1, transfer_id=transfer)
    move(pit, "s2", "issue", "FILTER", 2, 4, store_id="PIT", cost_centre="CC-PIT")
    offline_work(a, rnd, 5, 25)
    offline_work(b, rnd, 5, 25)
    sync_together([client_a, client_b, pit_client])
    for store in (a, b, pit):
        assert store.outbox_depth() == 0 and store.rejections() == [], store.rejections()

    expected = replay(live_hub, tenant)
    assert len(expected) > 90
    rows = db_fetch(live_hub.dsn, "SELECT entry_key, account, site, cost_centre, equipment, debit_cents, "
                                  "credit_cents FROM finance.ledger_lines WHERE tenant_id = $1", tenant)
    hub_lines = sorted((r["entry_key"], r["account"], r["site"], r["cost_centre"], r["equipment"], r["debit_cents"],
                        r["credit_cents"]) for r in rows)
    ref_lines = sorted((e.key, ln.account, dict(ln.dimensions).get(Dimension.SITE),
                        dict(ln.dimensions).get(Dimension.COST_CENTRE), dict(ln.dimensions).get(Dimension.EQUIPMENT),
                        int(ln.debit.scaleb(2)), int(ln.credit.scaleb(2))) for e in expected for ln in e.lines)
    assert hub_lines == ref_lines  # every line, to the cent

    tb = trial_balance(expected)
    hub_tb = db_fetch(live_hub.dsn, "SELECT account, sum(debit_cents)::bigint AS d, sum(credit_cents)::bigint AS c "
                                    "FROM finance.ledger_lines WHERE tenant_id = $1 GROUP BY account", tenant)
    assert {r["account"]: (r["d"], r["c"]) for r in hub_tb} == {
        acc: (int(t.debit.scaleb(2)), int(t.credit.scaleb(2))) for acc, t in tb.accounts.items()}
    assert tb.balanced and sum(r["d"] - r["c"] for r in hub_tb) == 0

    # Inventory = stock valuation, to the cent, per site; stock in transit cleared by the receipt.
    stock = db_fetch(live_hub.dsn, "SELECT site_id, sum((data->>'value_cents')::bigint)::bigint AS v FROM sync.records "
                                   "WHERE tenant_id = $1 AND entity = 'inventory.stock' GROUP BY site_id", tenant)
    inventory = db_fetch(live_hub.dsn, "SELECT site, sum(debit_cents - credit_cents)::bigint AS v FROM "
                                       "finance.ledger_lines WHERE tenant_id = $1 AND account = '1400' GROUP BY site",
                         tenant)
    assert {r["site_id"]: r["v"] for r in stock} == {r["site"]: r["v"] for r in inventory}
    assert set(r["site"] for r in inventory) == {"s1", "s2"}
    assert tb.balance("1450") == 0
    # The offices pulled the valued balances the hub keeps.
    hub_stock = {r["entity_id"]: r["data"] for r in db_fetch(
        live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'inventory.stock'",
        tenant)}
    client_a.sync_once()
    mine = a.get("inventory.stock", "MAIN:FILTER")
    assert mine is not None and mine.state is not None
    assert mine.state["value_cents"] == hub_stock["MAIN:FILTER"]["value_cents"]
    assert date(2026, 7, 2) <= min(e.posting_date for e in expected)
