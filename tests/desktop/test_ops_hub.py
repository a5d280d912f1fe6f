"""The operations screens against a real hub: a site office works offline (raises and moves a work order,
issues stock, receives goods partially against a PO, approves the PO from its inbox), sees every row
pending, then the sync worker (off the UI thread) drains the outbox and the rows come back confirmed; the
hub's records and the office agree, and nothing was rejected."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from shared.envelopes import Op
from shared.ids import new_ulid
from tests.desktop.test_ops_maintenance import click, open_ops, step, type_into
from tests.desktop.test_ops_procurement import po_row
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch

LINES = [{"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 5},
         {"line_id": "2", "item_id": "HOSE", "store_id": "MAIN", "quantity": 4, "unit_price": 20}]


def hq_master_data(live_hub: HubProcess, tmp_path: Path, tenant: str) -> None:
    """HQ (another device) sets up the chain, the item, opening stock and a PO waiting for approval."""
    hq = open_ops(tmp_path / "hq.db", actor="hq", hub=live_hub, tenant=tenant, device="hq-1")
    s = hq.store
    s.enqueue("approvals.chain", "chain-po", Op.CREATE, {"document_type": "procurement.purchase_order", "levels": [
        {"min_amount": 0, "approver_user": "sam"}]}, actor="hq")
    s.enqueue("inventory.item", "FILTER", Op.CREATE, {"code": "FILTER", "description": "Oil filter", "unit": "ea"},
              actor="hq")
    s.enqueue("inventory.movement", new_ulid(), Op.CREATE, {
        "kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 20, "unit_cost": 4.5,
        "occurred_at": "2026-07-01T06:00:00+00:00"}, actor="hq")
    s.enqueue("procurement.purchase_order", "PO1", Op.CREATE, {"number": "PO-0001", "vendor_id": "V1", "lines": LINES,
                                                               "total": 130, "approval": "submitted"}, actor="hq")
    s.enqueue("approvals.request", "R1", Op.CREATE, {"document_type": "procurement.purchase_order",
                                                     "document_id": "PO1", "amount": 130, "requested_by": "bo",
                                                     "title": "PO-0001"}, actor="hq")
    assert hq.bridge is not None
    hq.bridge.client.sync_once()
    assert s.outbox_depth() == 0 and not s.rejections()
    hq.close()


def test_offline_operations_then_sync_to_a_real_hub_confirms_them(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    tenant = f"t-ops-{new_ulid()[-6:].lower()}"
    hq_master_data(live_hub, tmp_path, tenant)
    desk = open_ops(tmp_path / "desk.db", actor="sam", hub=live_hub, tenant=tenant,
                    roles=frozenset({"maintenance_supervisor", "storeman"}))
    qtbot.addWidget(desk.window)
    desk.window.show()
    assert desk.bridge is not None
    desk.bridge.client.catch_up()  # the office was online once and has the site's data
    desk.window.refresh_tables()

    # --- offline from here: nothing reaches the hub until the sync worker starts -----------------
    desk.window.show_module("Work orders")
    wo = desk.window.ops["Work orders"]
    type_into(qtbot, wo.new_form, {"equipment_id": "EX01", "title": "Boom cylinder leak", "requested_by": "jo"})
    click(qtbot, wo.new_form.save_button)
    wo.view.selectRow(0)
    for to in ("approved", "planned", "in_progress"):
        step(qtbot, wo, to)
    type_into(qtbot, wo.parts, {"store_id": "MAIN", "item_id": "FILTER", "quantity": "2"})
    click(qtbot, wo.parts.save_button)

    desk.window.show_module("Stock")
    stock = desk.window.ops["Stock"]
    type_into(qtbot, stock.issue, {"store_id": "MAIN", "item_id": "FILTER", "quantity": "7", "cost_centre": "MINING"})
    click(qtbot, stock.issue.save_button)
    line = next(r for r in stock.model.rows if r.key == "MAIN:FILTER")
    assert line.cells[3] == "11" and line.pending

    desk.window.show_module("Inbox")
    inbox = desk.window.ops["Inbox"]
    assert inbox.approvals.model().rowCount() == 1
    inbox.approvals.selectRow(0)
    click(qtbot, inbox.approve_button)

    desk.window.show_module("Purchase orders")
    pos = desk.window.ops["Purchase orders"]
    assert pos.select("PO1")
    type_into(qtbot, pos.receipt, {"line_id": "1", "quantity": "4"})
    click(qtbot, pos.receipt.save_button)
    row = po_row(pos, "PO1")
    assert row.pending and row.cells[3] == "approved" and row.cells[4] == "partially_received"
    assert desk.store.outbox_depth() > 10
    assert desk.window.outbox.text() == f"outbox: {desk.store.outbox_depth()}"

    # --- the network comes back: the worker thread drains the outbox and follows the stream ---------
    desk.bridge.start()

    def confirmed() -> bool:
        if desk.store.outbox_depth():
            return False
        pos.refresh()
        stock.refresh()
        wo.refresh()
        line = next(r for r in stock.model.rows if r.key == "MAIN:FILTER")
        sync_col = wo.model.columnCount() - 1
        return (not po_row(pos, "PO1").pending and not line.pending
                and wo.model.data(wo.model.index(0, sync_col)) == "confirmed")

    qtbot.waitUntil(confirmed, timeout=30_000)
    qtbot.waitUntil(lambda: desk.window.online.text() == "online", timeout=10_000)
    assert not desk.store.rejections() and not desk.store.conflicts("open")
    assert next(r for r in stock.model.rows if r.key == "MAIN:FILTER").cells[3] == "15"  # 20 - 2 - 7 + 4
    wo.refresh()
    assert wo.title.text().endswith("in_progress")

    def hub(entity: str) -> dict[str, dict]:  # type: ignore[type-arg]
        rows = db_fetch(live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2",
                        tenant, entity)
        return {r["entity_id"]: r["data"] for r in rows}

    assert hub("inventory.stock")["MAIN:FILTER"]["on_hand"] == 15  # kept by the hub from the movements (D27)
    assert sorted(d["to_status"] for d in hub("maintenance.work_order_transition").values()) == [
        "approved", "in_progress", "planned"]
    [decision] = hub("approvals.decision").values()
    assert (decision["request_id"], decision["verdict"], decision["by"]) == ("R1", "approve", "sam")
    [receipt] = hub("procurement.goods_receipt").values()
    assert (receipt["po_id"], receipt["line_id"], receipt["quantity"]) == ("PO1", "1", 4)
    desk.close()
