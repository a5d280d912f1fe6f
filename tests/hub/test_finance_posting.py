"""The hub posts the general ledger from the stock movements it applies, in the push's transaction, against a
real hub and PostgreSQL: amounts hand-computed at PO price and moving average, a replayed push posts nothing
twice, a refused posting rejects that one mutation and posts nothing of it, and the inventory account equals the
stock valuation (Σ value_cents of inventory.stock) to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_consume_once import records
from tests.hub.test_push import db_fetch, make_device

WHEN = "2026-07-01T08:00:00+00:00"


def lines(hub: HubProcess, tenant: str) -> dict[str, list[tuple[str, str, str, dict[str, str]]]]:
    """entry key -> [(account, debit, credit, dimensions)] in line order."""
    rows = db_fetch(hub.dsn, "SELECT entry_key, account, debit_cents, credit_cents, site, cost_centre, equipment, memo "
                             "FROM finance.ledger_lines WHERE tenant_id = $1 ORDER BY entry_key, line_no", tenant)
    out: dict[str, list[tuple[str, str, str, dict[str, str]]]] = {}
    for r in rows:
        dims = {k: r[k] for k in ("site", "cost_centre", "equipment") if r[k] is not None}
        out.setdefault(r["entry_key"], []).append(
            (r["account"], str(Decimal(r["debit_cents"]).scaleb(-2)), str(Decimal(r["credit_cents"]).scaleb(-2)), dims))
    return out


def balances(hub: HubProcess, tenant: str) -> dict[str, Decimal]:
    rows = db_fetch(hub.dsn, "SELECT account, sum(debit_cents - credit_cents)::bigint AS net FROM finance.ledger_lines "
                             "WHERE tenant_id = $1 GROUP BY account", tenant)
    return {r["account"]: Decimal(r["net"]).scaleb(-2) for r in rows}


def stock_value(hub: HubProcess, tenant: str) -> Decimal:
    stocks = records(hub, tenant, "inventory.stock").values()
    return sum((Decimal(d.get("value_cents") or 0).scaleb(-2) for d in stocks), Decimal("0.00"))


def entry_count(hub: HubProcess, tenant: str) -> int:
    return int(db_fetch(hub.dsn, "SELECT count(*) AS n FROM finance.journal_entries WHERE tenant_id = $1",
                        tenant)[0]["n"])


def movement(dev: DeviceClient, kind: str, qty: float, **extra: Any) -> dict[str, Any]:
    return dev.mutation("inventory.movement", extra.pop("movement_id", new_ulid()), "create", {
        "kind": kind, "store_id": extra.pop("store_id", "MAIN"), "item_id": extra.pop("item_id", "FILTER"),
        "quantity": qty, "occurred_at": extra.pop("occurred_at", WHEN), **extra})


def setup_po(dev: DeviceClient) -> None:
    out = dev.push_ok([
        dev.mutation("procurement.purchase_order", "PO1", "create", {"vendor_id": "V1", "total": 190, "lines": [
            {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 12.5},
            {"line_id": "2", "item_id": "FILTER", "store_id": "MAIN", "quantity": 5, "unit_price": 13}]}),
        dev.mutation("maintenance.work_order", "WO1", "create", {"equipment_id": "EX-01", "title": "filters"}),
    ])
    assert [o["status"] for o in out] == ["applied", "applied"], out


def test_receipts_at_po_price_then_issues_at_moving_average_post_hand_computed_entries(live_hub: HubProcess) -> None:
    tenant = f"t-gl-{new_ulid()[-6:].lower()}"
    dev = make_device(live_hub, tenant, "s1", "store-1")
    setup_po(dev)
    r1, r2, i1, i2 = (new_ulid() for _ in range(4))
    out = dev.push_ok([
        # The row's own unit_cost (99) is what the storeman typed; the ledger takes the PO line's price.
        movement(dev, "receipt", 10, movement_id=r1, unit_cost=99, po_id="PO1", po_line_id="1"),
        movement(dev, "receipt", 5, movement_id=r2, po_id="PO1", po_line_id="2"),
        movement(dev, "issue", 4, movement_id=i1, work_order_id="WO1"),
        movement(dev, "issue", 11, movement_id=i2, cost_centre="CRUSH"),
    ])
    assert [o["status"] for o in out] == ["applied"] * 4, out
    got = lines(live_hub, tenant)
    site = {"site": "s1"}
    # 10 × 12.50 = 125.00; 5 × 13.00 = 65.00 → 15 on hand worth 190.00.
    assert got[f"goods_receipt:{r1}"] == [("1400", "125.00", "0.00", site), ("2150", "0.00", "125.00", site)]
    assert got[f"goods_receipt:{r2}"] == [("1400", "65.00", "0.00", site), ("2150", "0.00", "65.00", site)]
    # 4 of 15 at 190.00: 190 × 4 / 15 = 50.666… → 50.67, to the machine the work order is for.
    assert got[f"goods_issue:{i1}"] == [
        ("6100", "50.67", "0.00", {"site": "s1", "cost_centre": "maintenance", "equipment": "EX-01"}),
        ("1400", "0.00", "50.67", site)]
    # The last 11 out take exactly what is left: 190.00 − 50.67 = 139.33, so the store empties at 0.00.
    assert got[f"goods_issue:{i2}"] == [("6100", "139.33", "0.00", {"site": "s1", "cost_centre": "CRUSH"}),
                                        ("1400", "0.00", "139.33", site)]
    bal = balances(live_hub, tenant)
    assert bal["1400"] == Decimal("0.00") == stock_value(live_hub, tenant)
    assert bal["2150"] == Decimal("-190.00") and bal["6100"] == Decimal("190.00")
    assert sum(bal.values()) == 0
    [stock] = records(live_hub, tenant, "inventory.stock").values()
    assert (stock["on_hand"], stock["value_cents"], stock["last_cost"]) == (0, 0, "13")


def test_a_replayed_push_posts_nothing_twice(live_hub: HubProcess) -> None:
    tenant = f"t-gl-{new_ulid()[-6:].lower()}"
    dev = make_device(live_hub, tenant, "s1", "store-1")
    setup_po(dev)
    batch = [movement(dev, "receipt", 10, po_id="PO1", po_line_id="1"), movement(dev, "issue", 3, cost_centre="CC1"),
             movement(dev, "count_adjustment", -1, note="broken")]
    assert [o["status"] for o in dev.push_ok(batch)] == ["applied"] * 3
    before, bal = entry_count(live_hub, tenant), balances(live_hub, tenant)
    assert before == 3
    for split in (batch, batch[:1], batch[1:], list(reversed(batch))):  # repeats in any split answer duplicate
        assert {o["status"] for o in dev.push_ok(split)} == {"duplicate"}
    assert entry_count(live_hub, tenant) == before and balances(live_hub, tenant) == bal
    # 10 × 12.50 = 125.00 in; 3 out at 37.50; 1 missing at the count: 87.50 × 1/7 = 12.50 to stock adjustments.
    assert bal == {"1400": Decimal("75.00"), "2150": Decimal("-125.00"), "6100": Decimal("37.50"),
                   "5500": Decimal("12.50")}
    assert stock_value(live_hub, tenant) == Decimal("75.00")


def test_a_refused_posting_rejects_that_mutation_only_and_posts_nothing_of_it(live_hub: HubProcess) -> None:
    tenant = f"t-gl-{new_ulid()[-6:].lower()}"
    dev = make_device(live_hub, tenant, "s1", "store-1")
    setup_po(dev)
    # The tenant lists its cost centres: an issue to one it does not know cannot be posted.
    out = dev.push_ok([dev.mutation("finance.dimension_value", "cost_centre:CRUSH", "create",
                                    {"dimension": "cost_centre", "value": "CRUSH", "name": "Crusher"}),
                       dev.mutation("finance.dimension_value", "cost_centre:maintenance", "create",
                                    {"dimension": "cost_centre", "value": "maintenance"})])
    assert [o["status"] for o in out] == ["applied", "applied"], out
    good, bad, after = new_ulid(), new_ulid(), new_ulid()
    out = dev.push_ok([
        movement(dev, "receipt", 10, po_id="PO1", po_line_id="1"),
        movement(dev, "issue", 2, movement_id=good, cost_centre="CRUSH"),
        movement(dev, "issue", 3, movement_id=bad, cost_centre="NOPE"),
        movement(dev, "issue", 1, movement_id=after, work_order_id="WO1"),
    ])
    assert [o["status"] for o in out] == ["applied", "applied", "rejected", "applied"], out
    assert out[2]["code"] == "posting_refused" and "'NOPE' is not a known cost centre" in out[2]["message"]
    movements = records(live_hub, tenant, "inventory.movement")
    assert bad not in movements and {good, after} <= set(movements)
    [stock] = records(live_hub, tenant, "inventory.stock").values()
    assert stock["on_hand"] == 7  # 10 − 2 − 1: the refused 3 never left the balance
    got = lines(live_hub, tenant)
    assert f"goods_issue:{bad}" not in got
    # 2 at 12.50 = 25.00 and 1 at 12.50 = 12.50 (the refused issue did not move the average or the value).
    assert got[f"goods_issue:{good}"][1][2] == "25.00" and got[f"goods_issue:{after}"][1][2] == "12.50"
    assert balances(live_hub, tenant)["1400"] == Decimal("87.50") == stock_value(live_hub, tenant)
    # The device's next push goes on from there: the refused row is not held, not half-applied.
    out = dev.push_ok([movement(dev, "issue", 3, cost_centre="CRUSH")])
    assert out[0]["status"] == "applied"
    assert balances(live_hub, tenant)["1400"] == Decimal("50.00") == stock_value(live_hub, tenant)


def test_transfers_move_value_at_average_cost_through_transit(live_hub: HubProcess) -> None:
    tenant = f"t-gl-{new_ulid()[-6:].lower()}"
    hq, ws = make_device(live_hub, tenant, "s1", "hq"), make_device(live_hub, tenant, "s2", "ws")
    out = hq.push_ok([movement(hq, "receipt", 3, unit_cost=10), movement(hq, "receipt", 3, unit_cost=11),
                      movement(hq, "transfer_out", 4, unit_cost=1, transfer_id="T1", to_store_id="WS")])
    assert [o["status"] for o in out] == ["applied"] * 3, out
    # 6 on hand worth 63.00; 4 leave at 63 × 4/6 = 42.00, whatever unit cost the desktop wrote on the rows.
    bal = balances(live_hub, tenant)
    assert (bal["1400"], bal["1450"]) == (Decimal("21.00"), Decimal("42.00"))
    out = ws.push_ok([movement(ws, "transfer_in", 4, store_id="WS", unit_cost=1, transfer_id="T1"),
                      movement(ws, "count_adjustment", -1, store_id="WS", transfer_id="T1", note="broken")])
    assert [o["status"] for o in out] == ["applied", "applied"], out
    bal = balances(live_hub, tenant)
    assert bal.get("1450") == Decimal("0.00")  # transit cleared at the shipped value
    assert (bal["1400"], bal["5500"]) == (Decimal("52.50"), Decimal("10.50"))  # one broken at 42/4
    per_site = db_fetch(live_hub.dsn, "SELECT site, sum(debit_cents - credit_cents)::bigint AS net FROM "
                                      "finance.ledger_lines WHERE tenant_id = $1 AND account = '1400' GROUP BY site",
                        tenant)
    stocks = records(live_hub, tenant, "inventory.stock")
    assert {r["site"]: r["net"] for r in per_site} == {"s1": stocks["MAIN:FILTER"]["value_cents"],
                                                       "s2": stocks["WS:FILTER"]["value_cents"]} == {"s1": 2100,
                                                                                                     "s2": 3150}
