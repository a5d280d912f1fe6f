"""End to end, the whole finance chain (issue 13): two offline desktops (real encrypted client stores and sync
clients) against a real hub process and PostgreSQL. The mine office (site s1) and the head office (tenant-wide,
working the pit's store at s2) each receive goods against a PO and issue them to work orders, enter the vendor's
invoices (the mine's has a line priced beyond tolerance: it waits for an approval, which head office gives; then
it posts), pay them (one in part), bill a customer the rental hours of the usage logs, take the customer's receipt,
and finance runs November's depreciation. Then:

- the hub's trial balance is balanced and equal, per account to the cent, to a serial replay of the same
  operations through the pure shared rules;
- 1400 = stock valuation per site (difference 0.00); GR/IR (2150) holds exactly what was received and not
  invoiced; AP (2100) = the AP ageing total, AR (1200) = the AR ageing total;
- every push replayed (an office that lost its acknowledgement; then every push body re-posted raw) changes no
  balance;
- bad input posts nothing and says why: an unbalanced manual journal, an unknown account, a closed period."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from desktop import ap_replica
from desktop.ar_views import build_invoice
from desktop.stock_writes import movement_drafts
from desktop.table_query import ensure_indexes
from pitline.harness import provision_device
from shared.domain import payables as ap
from shared.domain import receivables as ar
from shared.domain.accounts import Dimension
from shared.domain.trial_balance import TrialBalance, trial_balance
from shared.errors import HubUnavailableError, ValidationError
from shared.ids import new_ulid
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.sync import SyncClient
from tests.e2e.finance_chain_replay import records, replay
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_identity_users import PASSWORD, add_user, signin
from tests.hub.test_push import db_fetch

PO1 = [{"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 12.5},
       {"line_id": "2", "item_id": "BELT", "store_id": "MAIN", "quantity": 4, "unit_price": 80}]
PO2 = [{"line_id": "1", "item_id": "OIL", "store_id": "PIT", "quantity": 20, "unit_price": 5.25}]
AS_OF = "2026-12-31"


class Office:
    """A desktop: its own store, a sync client that records every push body it sends and can lose the hub's
    answer to one push (the hub committed it; the office never heard)."""

    def __init__(self, hub: HubProcess, tmp_path: Path, name: str, tenant: str, site: str | None) -> None:
        path, key = tmp_path / f"{name}.db", PassphraseKeyProvider("test passphrase", n=2**10)
        self.store = LocalStore.open(path, key)
        self.store.set_identity(DeviceIdentity(name, tenant, site))
        ensure_indexes(self.store)  # as the desktop does when it opens its store
        self.token = provision_device(hub.dsn, tenant, site, name)
        self.bodies: list[bytes] = []
        self.lose_next_answer = False
        office = self

        class Recording(SyncClient):
            def _send_push(self, client: httpx.Client, body: bytes) -> Any:
                answer = super()._send_push(client, body)
                office.bodies.append(body)
                if office.lose_next_answer:
                    office.lose_next_answer = False
                    raise HubUnavailableError("POST /v1/sync/push: ReadError: the answer was lost")
                return answer

        self.client = Recording(lambda: LocalStore.open(path, key), hub.url, lambda: self.token)

    def write(self, *drafts: MutationDraft) -> None:
        self.store.enqueue_many(list(drafts))


def draft(entity: str, entity_id: str, payload: dict[str, Any], site: str | None = None,
          actor: str = "clerk") -> MutationDraft:
    return MutationDraft(entity, entity_id, "create", payload, actor, site)


def receive(office: Office, po_id: str, line: dict[str, Any], qty: float, day: str, site: str | None) -> None:
    """What the desktop's receipt form writes: the receipt movement (the ledger row) and the goods receipt."""
    movement_id, at = new_ulid(), f"{day}T08:00:00+00:00"
    movement = {"kind": "receipt", "store_id": line["store_id"], "item_id": line["item_id"], "quantity": qty,
                "unit_cost": float(line["unit_price"]), "occurred_at": at, "po_id": po_id,
                "po_line_id": line["line_id"], "by": "storeman"}
    receipt = {"po_id": po_id, "line_id": line["line_id"], "item_id": line["item_id"], "store_id": line["store_id"],
               "quantity": qty, "unit_price": float(line["unit_price"]), "received_at": at, "received_by": "storeman",
               "movement_id": movement_id}
    office.write(*(MutationDraft(d.entity, d.entity_id, d.op, d.payload, d.actor, site)
                   for d in movement_drafts(office.store, movement_id, movement, "storeman")),
                 draft("procurement.goods_receipt", new_ulid(), receipt, site, "storeman"))


def issue(office: Office, store: str, item: str, qty: float, day: str, site: str | None, **target: str) -> None:
    office.write(draft("inventory.movement", new_ulid(), {
        "kind": "issue", "store_id": store, "item_id": item, "quantity": qty, "occurred_at": f"{day}T10:00:00+00:00",
        "by": "storeman", **target}, site, "storeman"))


def vendor_invoice(office: Office, inv_id: str, po_id: str, lines: list[tuple[str, str, str]], site: str | None
                   ) -> None:
    """The invoice as the desk's form writes it: matched on this PC first; mismatched lines ask for an approval
    in the same save."""
    payload = {"vendor_id": "V1", "invoice_no": f"INV-{inv_id}", "po_id": po_id, "invoice_date": "2026-11-06",
               "status": "entered", "lines": [{"po_line_id": ln, "quantity": q, "unit_price": p} for ln, q, p in lines]}
    matches = ap_replica.match(office.store, ap.invoice_from_payload(inv_id, payload))
    drafts = [draft(ap.INVOICE, inv_id, payload, site)]
    waiting = [m for m in matches if not m.matched]
    if waiting:
        amount = sum((Decimal(m.line.quantity) * m.line.unit_price for m in waiting), Decimal(0))
        drafts.append(draft("approvals.request", f"REQ-{inv_id}", {
            "document_type": "vendor_invoice_mismatch", "document_id": inv_id, "amount": float(amount),
            "requested_by": "clerk", "title": f"INV-{inv_id}: {waiting[0].result.mismatches[0].message}"}, site))
    office.write(*drafts)


def sync_together(offices: list[Office]) -> None:
    start = threading.Barrier(len(offices))
    errors: list[BaseException] = []

    def go(o: Office) -> None:
        try:
            start.wait()
            o.client.sync_once()
        except BaseException as exc:  # reported on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(o,)) for o in offices]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def person(hub: HubProcess, tenant: str) -> httpx.Client:
    add_user(hub.dsn, tenant, f"{tenant}-fin", [("finance", None)])
    r = signin(hub.url, f"{tenant}-fin", PASSWORD)
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {r.json()['access_token']}"},
                        timeout=60)


def hub_balances(fin: httpx.Client) -> dict[str, tuple[Decimal, Decimal]]:
    r = fin.get("/v1/finance/trial-balance")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["balanced"] and body["total"]["debit"] == body["total"]["credit"], body["total"]
    return {a["account"]: (Decimal(a["debit"]), Decimal(a["credit"])) for a in body["accounts"]}


def as_balances(tb: TrialBalance) -> dict[str, tuple[Decimal, Decimal]]:
    return {acc: (t.debit, t.credit) for acc, t in tb.accounts.items()}


def test_two_offline_offices_run_the_whole_finance_chain_and_the_hub_ledger_equals_a_serial_replay(
        live_hub: HubProcess, tmp_path: Path) -> None:
    tenant = f"t-chain-{new_ulid()[-6:].lower()}"
    mine = Office(live_hub, tmp_path, "mine-office", tenant, "s1")
    head = Office(live_hub, tmp_path, "head-office", tenant, None)  # tenant-wide; works the pit's store at s2
    # Head office sets up the purchasing, the work orders, the rental and the asset register, online.
    head.write(
        draft("procurement.vendor", "V1", {"code": "V1", "name": "Parts Co", "payment_terms_days": 30}),
        draft("procurement.vendor", "V-CAT", {"code": "V-CAT", "name": "Truck dealer", "payment_terms_days": 30}),
        draft("approvals.chain", "CH1", {"document_type": "vendor_invoice_mismatch",
                                         "levels": [{"min_amount": 0, "approver_role": "finance"}]}),
        draft("inventory.store", "MAIN", {"code": "MAIN", "name": "Mine store"}, "s1"),
        draft("inventory.store", "PIT", {"code": "PIT", "name": "Pit store"}, "s2"),
        draft("procurement.purchase_order", "PO1", {"vendor_id": "V1", "lines": PO1, "total": 445}, "s1"),
        draft("procurement.purchase_order", "PO2", {"vendor_id": "V1", "lines": PO2, "total": 105}, "s2"),
        draft("maintenance.work_order", "WO1", {"equipment_id": "EX-01", "title": "service"}, "s1"),
        draft("maintenance.work_order", "WO2", {"equipment_id": "HT-07", "title": "brakes"}, "s2"),
        draft("equipment.rental_contract", "C1", {"equipment_id": "HT-07", "customer": "Acme",
                                                  "rate_per_hour": 150}, "s2"),
        # HT-07 in November: 8.25 + 0.5 idle measured by its gateway on the 10th, 10 typed on the 20th.
        draft("equipment.usage_log", "HT-07:2026-11-10:day:telematics", {
            "equipment_id": "HT-07", "shift_date": "2026-11-10", "shift": "day", "operating_hours": 8.25,
            "idle_hours": 0.5, "source": "telematics"}, "s2"),
        draft("equipment.usage_log", "HT-07:2026-11-20:day", {
            "equipment_id": "HT-07", "shift_date": "2026-11-20", "shift": "day", "operating_hours": 10,
            "source": "manual"}, "s2"),
        # 48,000.00 over 48 months from October, bought on the dealer's account (D89: its invoice TD-4807 is an
        # AP open item, due 31 October): 1,000.00 a month.
        draft("finance.asset", "A-HT07", {"equipment_id": "HT-07", "cost": "48000.00", "salvage": "0.00",
                                          "in_service": "2026-10-01", "method": "straight_line", "life_months": 48,
                                          "paid_from": "payable", "acquired_on": "2026-10-01",
                                          "vendor_id": "V-CAT", "invoice_no": "TD-4807"}, "s2"))
    head.client.sync_once()
    mine.client.sync_once()
    assert head.store.rejections() == [] and mine.store.rejections() == []
    # The desk sees the truck as the dealer's open invoice, so a payment can be allocated to it.
    truck = {d.document_id: d for d in ap_replica.ap_documents(head.store)}["A-HT07"]
    assert (truck.kind, truck.party, truck.reference, str(truck.due_date), truck.amount) == (
        "asset", "V-CAT", "TD-4807", "2026-10-31", Decimal("48000.00"))

    # Round 1, offline: both offices receive against their PO and issue to work orders.
    receive(mine, "PO1", PO1[0], 10, "2026-11-02", None)
    receive(mine, "PO1", PO1[1], 4, "2026-11-02", None)
    issue(mine, "MAIN", "FILTER", 3, "2026-11-03", None, work_order_id="WO1")
    issue(mine, "MAIN", "BELT", 1, "2026-11-03", None, cost_centre="CC-A")
    receive(head, "PO2", PO2[0], 20, "2026-11-02", "s2")
    issue(head, "PIT", "OIL", 6, "2026-11-04", "s2", work_order_id="WO2")
    issue(head, "PIT", "OIL", 2, "2026-11-04", "s2", cost_centre="CC-PIT")
    sync_together([mine, head])

    # Round 2, offline: invoices. The mine's filters at 13.00 against 12.50 (4 %, past the 2 % tolerance) wait for
    # an approval; 2 of the 4 belts billed. Head office's oil matches; it pays 60.00 of it and bills Acme.
    vendor_invoice(mine, "VIA", "PO1", [("1", "10", "13.00"), ("2", "2", "80.00")], None)
    assert mine.store.get("approvals.request", "REQ-VIA") is not None
    vendor_invoice(head, "VIB", "PO2", [("1", "20", "5.25")], "s2")
    assert head.store.get("approvals.request", "REQ-VIB") is None
    head.write(draft(ap.PAYMENT, "PAY-B", {"vendor_id": "V1", "paid_on": "2026-11-20", "amount": "60.00",
                                          "allocations": [{"invoice_id": "VIB", "amount": "60.00"}]}, "s2"))
    billed = build_invoice(head.store, {"customer": "Acme", "period_start": "2026-11-01",
                                        "period_end": "2026-11-30", "invoice_date": "2026-12-01",
                                        "number": "AR-1"}, "CI1")
    assert [(ln.hours, ln.rate) for ln in billed.lines] == [(Decimal("18.75"), Decimal(150))]
    head.write(draft(ar.INVOICE, "CI1", ar.invoice_payload(billed), "s2"))
    mine.lose_next_answer = True  # the mine's push lands, its answer does not
    with pytest.raises(HubUnavailableError):
        mine.client.sync_once()
    assert mine.store.outbox_depth() == 2 and len(mine.bodies) == 2  # still queued, as far as the office knows
    sync_together([mine, head])  # the mine pushes the same mutations again: duplicates
    assert mine.bodies[-1] == mine.bodies[-2] and mine.store.outbox_depth() == 0
    assert "vendor_invoice:VIA:1" not in {r["key"] for r in db_fetch(
        live_hub.dsn, "SELECT key FROM finance.journal_entries WHERE tenant_id = $1", tenant)}  # it waits

    # Round 3, offline: head office approves the mine's mismatch and takes Acme's 1,000.00; the mine pays VIA.
    head.write(draft("approvals.decision", new_ulid(), {
        "request_id": "REQ-VIA", "level": 0, "verdict": "approve", "by": "controller", "roles": ["finance"],
        "at": "2026-11-08T09:00:00+00:00", "amount": 130.0}))
    head.write(draft(ar.RECEIPT, "CR1", {"customer": "Acme", "received_on": "2026-12-10", "amount": "1000.00",
                                         "allocations": [{"invoice_id": "CI1", "amount": "1000.00"}]}, "s2"))
    # Head office pays the dealer 20,000.00 of the truck (28,000.00 stays open).
    head.write(draft(ap.PAYMENT, "PAY-T", {"vendor_id": "V-CAT", "paid_on": "2026-11-15", "amount": "20000.00",
                                          "allocations": [{"invoice_id": "A-HT07", "amount": "20000.00"}]}, "s2"))
    mine.write(draft(ap.PAYMENT, "PAY-A", {"vendor_id": "V1", "paid_on": "2026-11-25", "amount": "290.00",
                                          "allocations": [{"invoice_id": "VIA", "amount": "290.00"}]}))
    sync_together([mine, head])
    fin = person(live_hub, tenant)
    r = fin.post("/v1/finance/depreciation/2026-11")
    assert r.status_code == 200, r.text
    assert [(p["asset_id"], p["amount"]) for p in r.json()["posted"]] == [("A-HT07", "2000.00")]  # Oct + Nov
    sync_together([mine, head])
    for o in (mine, head):
        assert o.store.outbox_depth() == 0 and o.store.rejections() == [], o.store.rejections()

    # The hub's trial balance = the serial replay, per account, to the cent.
    expected = trial_balance(replay(live_hub, tenant))
    assert expected.balanced
    got = hub_balances(fin)
    assert got == as_balances(expected)
    # And by hand (debit − credit): the bank paid 20,000.00 of the truck's 48,000.00 and 290.00 + 60.00 to the
    # vendor, and took 1,000.00; parts consumed 3 × 12.50 + 80.00 + 8 × 5.25; 2 months' depreciation; the filters'
    # 5.00 variance.
    assert {a: str(d - c) for a, (d, c) in got.items()} == {
        "1100": "-19350.00", "1200": "1812.50", "1400": "390.50", "1500": "48000.00", "1590": "-2000.00",
        "2100": "-28045.00", "2150": "-160.00", "4100": "-2812.50", "5400": "5.00", "6100": "159.50",
        "6500": "2000.00"}
    assert expected.balance("1500") == Decimal("48000.00") and expected.balance("1590") == Decimal("-2000.00")

    # 1400 = stock valuation per site, difference 0.00.
    val = fin.get("/v1/finance/stock-valuation").json()
    per_site = {s["site"]: s for s in val["sites"]}
    assert set(per_site) == {"s1", "s2"} and val["total"]["difference"] == "0.00"
    assert all(s["difference"] == "0.00" and s["unvalued_records"] == 0 for s in per_site.values()), per_site
    # Hand figures: MAIN 10 × 12.50 − 3 × 12.50 + 4 × 80 − 80 = 327.50; PIT 20 × 5.25 − 8 × 5.25 = 63.00.
    assert (per_site["s1"]["stock_value"], per_site["s2"]["stock_value"]) == ("327.50", "63.00")
    by_site: dict[str, Decimal] = defaultdict(Decimal)
    for e in replay(live_hub, tenant):
        for ln in e.lines:
            if ln.account == "1400":
                by_site[dict(ln.dimensions)[Dimension.SITE]] += ln.debit - ln.credit
    assert {k: str(v) for k, v in by_site.items()} == {k: s["ledger_balance"] for k, s in per_site.items()}

    # GR/IR holds what was received and not invoiced: 2 belts × 80.00 on PO1.
    receipts = records(live_hub, tenant, "procurement.goods_receipt")
    prices = {(p, ln["line_id"]): Decimal(str(ln["unit_price"])) for p, lines in (("PO1", PO1), ("PO2", PO2))
              for ln in lines}
    received = sum((Decimal(str(g["data"]["quantity"])) * prices[(g["data"]["po_id"], g["data"]["line_id"])]
                    for g in receipts), Decimal(0))
    invoiced = sum((Decimal(ln["quantity"]) * prices[(i["data"]["po_id"], ln["po_line_id"])]
                    for i in records(live_hub, tenant, ap.INVOICE) for ln in i["data"]["lines"]), Decimal(0))
    assert received - invoiced == Decimal("160.00")
    assert got["2150"][1] - got["2150"][0] == received - invoiced

    # AP = AP ageing (VIB's 45.00 and the truck's 28,000.00 open), AR = AR ageing (2,812.50 − 1,000.00); the
    # desk's ageing from its replica says the same.
    ap_body = fin.get("/v1/finance/ap-ageing", params={"as_of": AS_OF}).json()
    ap_total = Decimal(ap_body["totals"]["total"])
    assert {(i["document_id"], i["kind"], i["open"]) for i in ap_body["items"]} == {
        ("VIB", "invoice", "45.00"), ("A-HT07", "asset", "28000.00")}
    assert ap_replica.ap_ageing(head.store, date.fromisoformat(AS_OF)).total == ap_total
    ar_total = Decimal(fin.get("/v1/finance/ar-ageing", params={"as_of": AS_OF}).json()["totals"]["total"])
    assert got["2100"][1] - got["2100"][0] == ap_total == Decimal("28045.00")
    assert got["1200"][0] - got["1200"][1] == ar_total == Decimal("1812.50")

    # November's depreciation run again: nothing more. Finance closes October and November; the run is then
    # refused for the closed month. Every push again, raw, as the offices sent them: all duplicates, even those
    # whose entries lie in the closed months; no balance moves.
    again = fin.post("/v1/finance/depreciation/2026-11")
    assert again.status_code == 200 and again.json()["posted"] == [], again.text
    for month in ("2026-10", "2026-11"):
        assert fin.post(f"/v1/finance/periods/{month}/close").status_code == 200
    for o in (mine, head):
        for body in o.bodies:
            r = httpx.post(f"{live_hub.url}/v1/sync/push", content=body, timeout=60,
                           headers={"Authorization": f"Bearer {o.token}", "Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            assert {x["status"] for x in r.json()["outcomes"]} == {"duplicate"}, r.json()["outcomes"]
    closed = fin.post("/v1/finance/depreciation/2026-11")
    assert closed.status_code == 422 and "period 2026-11 is closed" in closed.json()["message"], closed.text
    assert hub_balances(fin) == got

    # Bad input posts nothing and says why.
    entries_before = db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM finance.journal_entries WHERE tenant_id = $1",
                              tenant)[0]["n"]
    accrual = {"posted_on": "2026-12-31", "description": "December power accrual", "lines": [
        {"account": "6100", "debit": "400.00", "credit": "0", "dimensions": {"site": "s1", "cost_centre": "CC-A"}},
        {"account": "2150", "debit": "0", "credit": "400.00", "dimensions": {"site": "s1"}}]}
    unbalanced = {**accrual, "lines": [accrual["lines"][0], {**accrual["lines"][1], "credit": "40.00"}]}
    with pytest.raises(ValidationError, match="not balanced"):  # the desk refuses it before it is queued
        mine.write(draft("finance.journal_entry", "J-BAD", unbalanced))
    assert mine.store.outbox_depth() == 0
    mine.write(draft("finance.journal_entry", "J-9999", {**accrual, "lines": [
        {**accrual["lines"][0], "account": "9999"}, accrual["lines"][1]]}))
    mine.write(draft("finance.journal_entry", "J-NOV", {**accrual, "posted_on": "2026-11-30"}))
    mine.client.sync_once()
    refused = {r["entity_id"]: r["message"] for r in mine.store.rejections()}
    assert set(refused) == {"J-9999", "J-NOV"}, refused
    assert "account '9999' is not in the chart of accounts" in refused["J-9999"], refused
    assert {r["code"] for r in mine.store.rejections()} == {"posting_refused"}
    assert "period 2026-11 is closed" in refused["J-NOV"], refused
    # A device that skips the desk's check: the hub refuses the unbalanced journal itself.
    raw_token = provision_device(live_hub.dsn, tenant, "s1", "raw-device")
    raw = {"id": new_ulid(), "device_id": "raw-device", "device_seq": 1, "tenant_id": tenant, "site_id": "s1",
           "actor": "clerk", "entity": "finance.journal_entry", "entity_id": "J-RAW", "op": "create",
           "base_version": 0, "payload": unbalanced, "created_at": "2026-12-01T00:00:00+00:00"}
    r = httpx.post(f"{live_hub.url}/v1/sync/push", json={"device_id": "raw-device", "mutations": [raw]},
                   headers={"Authorization": f"Bearer {raw_token}"}, timeout=60)
    assert r.status_code == 200, r.text
    [out] = r.json()["outcomes"]
    assert out["status"] == "rejected" and "not balanced" in out["message"], out
    assert db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM finance.journal_entries WHERE tenant_id = $1",
                    tenant)[0]["n"] == entries_before
    assert hub_balances(fin) == got
    # ...and a good journal posts, as the rules say.
    mine.write(draft("finance.journal_entry", "J-OK", accrual))
    mine.client.sync_once()
    assert mine.store.rejections()[-1]["entity_id"] != "J-OK"
    after = hub_balances(fin)
    assert after == as_balances(trial_balance(replay(live_hub, tenant)))
    assert after["6100"][0] - got["6100"][0] == Decimal("400.00")
