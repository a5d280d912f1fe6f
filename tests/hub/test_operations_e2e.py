"""Two offline desktops and the hub issue stock, receive goods and approve a PO concurrently; the hub's
ledger and read models end exactly right, whatever the delivery order and however often pushes repeat."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hub.db import connect
from hub.projections import project
from tests.fixtures.hubserver import HubProcess
from tests.fixtures.postgres import run_sync
from tests.hub.device import DeviceClient
from tests.hub.test_push import db_fetch, make_device

T0 = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
PO_LINES = [{"line_id": "1", "item_id": "I1", "store_id": "S1", "quantity": 10, "unit_price": 5},
            {"line_id": "2", "item_id": "I2", "store_id": "S1", "quantity": 4, "unit_price": 20}]


def when(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def movement(dev: DeviceClient, mid: str, kind: str, item: str, qty: float, minutes: int,
             cost: float | None = None, **extra: Any) -> list[dict[str, Any]]:
    """A ledger row, as the desktop writes it (the hub moves the running balance, D27)."""
    payload: dict[str, Any] = {"kind": kind, "store_id": "S1", "item_id": item, "quantity": qty,
                               "occurred_at": when(minutes), **extra}
    if cost is not None:
        payload["unit_cost"] = cost
    return [dev.mutation("inventory.movement", mid, "create", payload)]


def receipt(dev: DeviceClient, gid: str, line: str, item: str, qty: float, minutes: int) -> list[dict[str, Any]]:
    price = 5 if line == "1" else 20
    return [*movement(dev, f"{gid}-M", "receipt", item, qty, minutes, price, po_id="PO1", po_line_id=line),
            dev.mutation("procurement.goods_receipt", gid, "create", {
                "po_id": "PO1", "line_id": line, "item_id": item, "store_id": "S1", "quantity": qty,
                "unit_price": price, "received_at": when(minutes), "movement_id": f"{gid}-M"})]


def decision(dev: DeviceClient, did: str, level: int, by: str, minutes: int) -> dict[str, Any]:
    return dev.mutation("approvals.decision", did, "create", {
        "request_id": "R1", "level": level, "verdict": "approve", "by": by, "at": when(minutes), "amount": 130})


def push_in_random_chunks(dev: DeviceClient, muts: list[dict[str, Any]], rnd: random.Random) -> None:
    """Deliver in order (as an outbox drains) in random chunks, then replay random slices: duplicates."""
    i = 0
    while i < len(muts):
        n = rnd.randint(1, 3)
        outcomes = dev.push_ok(muts[i : i + n])
        assert all(o["status"] in ("applied", "duplicate") for o in outcomes), outcomes
        i += n
    for _ in range(3):
        start = rnd.randrange(len(muts))
        assert {o["status"] for o in dev.push_ok(muts[start : start + 3])} == {"duplicate"}


def test_concurrent_offline_stock_receipts_and_approvals_end_exactly_right(live_hub: HubProcess) -> None:
    tenant = "t-ops-e2e"
    hq = make_device(live_hub, tenant, "s1", "hub-hq")
    desk_a = make_device(live_hub, tenant, "s1", "desk-a")
    desk_b = make_device(live_hub, tenant, "s1", "desk-b")

    hq.push_ok([
        *movement(hq, "OPEN-1", "receipt", "I1", 10, 0, 4),
        hq.mutation("procurement.purchase_order", "PO1", "create", {"vendor_id": "V1", "lines": PO_LINES,
                                                                     "total": 130}),
        hq.mutation("approvals.chain", "C1", "create", {"document_type": "procurement.purchase_order", "levels": [
            {"min_amount": 0, "approver_user": "sup-a"}, {"min_amount": 100, "approver_user": "mgr"}]}),
        hq.mutation("approvals.request", "R1", "create", {
            "document_type": "procurement.purchase_order", "document_id": "PO1", "amount": 130,
            "requested_by": "buyer"}),
    ])

    # Offline, both desktops work on the same items and the same PO line, and both decide level 1.
    a = [*movement(desk_a, "A-I1", "issue", "I1", 3, 10), *receipt(desk_a, "A-GR1", "1", "I1", 6, 20),
         *movement(desk_a, "A-I2", "issue", "I1", 8, 30), decision(desk_a, "A-D0", 0, "sup-a", 15)]
    b = [*movement(desk_b, "B-I1", "issue", "I1", 2, 12), *receipt(desk_b, "B-GR1", "1", "I1", 4, 25),
         *receipt(desk_b, "B-GR2", "2", "I2", 4, 26), *movement(desk_b, "B-I2", "issue", "I2", 1, 40),
         decision(desk_b, "B-D0", 0, "sup-a", 16)]
    hq_later = [*movement(hq, "HQ-I1", "issue", "I1", 1, 35), decision(hq, "HQ-D1", 1, "mgr", 50)]

    errors: list[BaseException] = []

    def deliver(dev: DeviceClient, muts: list[dict[str, Any]], seed: int) -> None:
        try:
            push_in_random_chunks(dev, muts, random.Random(seed))
        except BaseException as exc:  # the test thread reports it
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(dev, muts, n))
               for n, (dev, muts) in enumerate(((desk_a, a), (desk_b, b), (hq, hq_later)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors

    # The running balances the hub keeps and the ledger agree: every issue counted once.
    balances = {r["entity_id"]: r["data"]["on_hand"] for r in db_fetch(
        live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'inventory.stock'",
        tenant)}
    assert balances == {"S1:I1": 10 - 3 + 6 - 8 - 2 + 4 - 1, "S1:I2": 4 - 1}

    async def read_models() -> dict[str, Any]:
        conn = await connect(live_hub.dsn)
        try:
            await project(conn, tenant)
            stock = {r["item_id"]: (r["quantity"], r["average_cost"], r["needs_review"]) for r in await conn.fetch(
                "SELECT * FROM inventory.stock_on_hand WHERE tenant_id = $1", tenant)}
            po = await conn.fetchrow("SELECT * FROM procurement.po_status WHERE tenant_id = $1", tenant)
            req = await conn.fetchrow("SELECT * FROM approvals.request_status WHERE tenant_id = $1", tenant)
            return {"stock": stock, "po": po, "req": req}
        finally:
            await conn.close()

    models = run_sync(read_models())
    # I1: 10@4, issue 3 (7), issue 2 (5), receipt 6@5 (11, avg (5*4+30)/11), receipt 4@5, issue 8, issue 1
    i1_qty, i1_avg, i1_review = models["stock"]["I1"]
    assert i1_qty == Decimal(6) and not i1_review
    assert abs(i1_avg - Decimal(70) / 15) < Decimal("1e-9")
    assert models["stock"]["I2"][:2] == (Decimal(3), Decimal(20))
    assert (models["po"]["status"], models["po"]["outstanding_lines"], models["po"]["needs_review"]) == (
        "received", 0, False)
    assert (models["req"]["status"], list(models["req"]["waiting_on"])) == ("approved", [])
