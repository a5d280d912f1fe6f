"""Requisitions through the real widgets on a real encrypted store: raised from the reorder points once
(raising again raises none: what is on order counts), typed by hand with messages beside the fields and a
draft that survives closing, converted to a PO that appears with its approval waiting; and the same
against a real hub: the rows come back confirmed and the hub holds the ordered requisition and the PO."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from shared.envelopes import Op
from shared.ids import new_ulid
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.desktop.test_ops_procurement import CHAIN, po_row
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch

ITEMS = [
    ("inventory.item", "FILTER", {"code": "FILTER", "description": "Oil filter", "unit": "ea", "reorder_point": 10,
                                  "max_qty": 30, "preferred_vendor_id": "V-PILBARA", "standard_price": 12.5}),
    ("inventory.item", "HOSE", {"code": "HOSE", "description": "Hose", "unit": "ea", "reorder_point": 2,
                                "standard_price": 90}),
]
LEDGER = [
    ("inventory.movement", "M1", {"kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 4,
                                  "unit_cost": 12.0, "occurred_at": "2026-07-01T06:00:00+00:00"}),
    ("inventory.movement", "M2", {"kind": "receipt", "store_id": "MAIN", "item_id": "HOSE", "quantity": 5,
                                  "unit_cost": 90.0, "occurred_at": "2026-07-01T06:00:00+00:00"}),
]


def req_row(screen, item: str):  # type: ignore[no-untyped-def]
    return next(r for r in screen.model.rows if r.cells[1] == item)


def test_reorder_raises_once_then_convert_to_a_po_waiting_for_approval(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [CHAIN, *ITEMS, *LEDGER])
    desk.window.show_module("Requisitions")
    screen = desk.window.ops["Requisitions"]
    assert screen.model.rows == [] and not screen.convert.save_button.isEnabled()
    click(qtbot, screen.reorder_button)
    [row] = screen.model.rows  # FILTER 4 <= 10 (up to 30); HOSE 5 > 2
    assert row.cells[1:5] == ["FILTER", "MAIN", "26", "V-PILBARA"] and row.cells[6:8] == ["reorder", "submitted"]
    assert row.pending and "Raised 1" in screen.message.text()
    depth = desk.store.outbox_depth()
    click(qtbot, screen.reorder_button)  # the open requisition is on order: nothing new
    assert len(screen.model.rows) == 1 and desk.store.outbox_depth() == depth
    assert "Nothing at or below" in screen.message.text()

    assert screen.select(row.key)
    form = screen.convert
    assert form.inputs["vendor_id"].text() == "V-PILBARA" and form.inputs["unit_price"].text() == "12.5"
    type_into(qtbot, form, {"unit_price": "-3"})
    click(qtbot, form.save_button)
    assert form.errors["unit_price"].text() == "must be positive" and desk.store.outbox_depth() == depth
    type_into(qtbot, form, {"unit_price": "11"})
    click(qtbot, form.save_button)
    assert "1 purchase order(s)" in form.status.text()
    assert desk.store.outbox_depth() == depth + 3  # the PO, its approval request, the requisition ordered
    assert req_row(screen, "FILTER").cells[7] == "ordered" and not screen.convert.save_button.isEnabled()
    click(qtbot, screen.reorder_button)  # ordered: the PO's outstanding lines count as on order
    assert len(screen.model.rows) == 1 and desk.store.outbox_depth() == depth + 3

    desk.window.show_module("Purchase orders")
    pos = desk.window.ops["Purchase orders"]
    [po] = pos.model.rows
    assert po.pending and po.cells[1] == "V-PILBARA" and po.cells[2] == "286.00"
    assert po.cells[3] == "waiting: level 1 of 1 (sam)" and po.cells[4] == "open"
    record = desk.store.get("procurement.purchase_order", po.key)
    assert record is not None and record.state is not None and record.state["requisition_id"] == row.key
    desk.close()


def test_a_new_requisition_checks_its_fields_and_keeps_its_draft(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    desk.window.show_module("Requisitions")
    form = desk.window.ops["Requisitions"].new_form
    click(qtbot, form.save_button)
    assert form.errors["item_id"].text() == "is required" and form.errors["store_id"].text() == "is required"
    type_into(qtbot, form, {"item_id": "HOSE", "store_id": "PIT2", "quantity": "two", "needed_by": "soon"})
    click(qtbot, form.save_button)
    assert form.errors["quantity"].text() == "must be a number" and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"quantity": "2"})
    click(qtbot, form.save_button)
    assert "YYYY-MM-DD" in form.errors["needed_by"].text() and form.inputs["item_id"].text() == "HOSE"
    desk.close()
    again = open_ops(tmp_path / "desk.db")  # the half-typed requisition survived
    qtbot.addWidget(again.window)
    again.window.show_module("Requisitions")
    screen = again.window.ops["Requisitions"]
    form = screen.new_form
    assert form.inputs["item_id"].text() == "HOSE" and form.inputs["needed_by"].text() == "soon"
    type_into(qtbot, form, {"needed_by": "2026-12-01", "notes": "spare for DT01"})
    click(qtbot, form.save_button)
    [row] = screen.model.rows
    assert row.cells[1:4] == ["HOSE", "PIT2", "2"] and row.cells[5:8] == ["2026-12-01", "manual", "submitted"]
    assert row.pending and form.inputs["item_id"].text() == ""
    assert screen.select(row.key)
    type_into(qtbot, screen.convert, {"unit_price": "90"})
    click(qtbot, screen.convert.save_button)  # no preferred vendor and none typed
    assert "is required" in screen.convert.errors["vendor_id"].text()
    again.close()


def test_raise_and_convert_then_sync_to_a_real_hub(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    tenant = f"t-req-{new_ulid()[-6:].lower()}"
    desk = open_ops(tmp_path / "desk.db", actor="sam", hub=live_hub, tenant=tenant)
    qtbot.addWidget(desk.window)
    s = desk.store
    for entity, entity_id, payload in [CHAIN, *ITEMS, *LEDGER]:
        s.enqueue(entity, entity_id, Op.CREATE, payload, actor="sam")
    assert desk.bridge is not None
    desk.bridge.client.sync_once()
    assert s.outbox_depth() == 0 and not s.rejections()

    desk.window.show_module("Requisitions")
    screen = desk.window.ops["Requisitions"]
    [req_id] = screen.raise_from_reorder()
    assert screen.select(req_id)
    click(qtbot, screen.convert.save_button)  # the preferred vendor at the standard price
    assert screen.model.rows[0].pending and screen.model.rows[0].cells[7] == "ordered"
    desk.bridge.start()

    def confirmed() -> bool:
        if s.outbox_depth():
            return False
        screen.refresh()
        return not screen.model.rows[0].pending

    qtbot.waitUntil(confirmed, timeout=30_000)
    assert not s.rejections() and not s.conflicts("open")
    assert screen.raise_from_reorder() == []  # still nothing new after the hub's copy came back

    def hub(entity: str) -> dict[str, dict]:  # type: ignore[type-arg]
        rows = db_fetch(live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2",
                        tenant, entity)
        return {r["entity_id"]: r["data"] for r in rows}

    [requisition] = hub("procurement.requisition").values()
    assert requisition["status"] == "ordered" and requisition["source"] == "reorder"
    [po] = hub("procurement.purchase_order").values()
    assert po["requisition_id"] == req_id and po["vendor_id"] == "V-PILBARA" and po["total"] == 325
    [request] = [r for r in hub("approvals.request").values() if r["document_type"] == "procurement.purchase_order"]
    assert request["amount"] == 325
    desk.window.show_module("Purchase orders")
    pos = desk.window.ops["Purchase orders"]
    [row] = pos.model.rows
    assert not row.pending and row.cells[3].startswith("waiting: level 1")
    assert po_row(pos, row.key) is row
    desk.close()


def test_two_offline_offices_raise_the_same_reorder_and_the_hub_orders_it_once(  # type: ignore[no-untyped-def]
        qtbot, live_hub: HubProcess, tmp_path: Path) -> None:
    tenant = f"t-req2-{new_ulid()[-6:].lower()}"
    office = open_ops(tmp_path / "office.db", actor="sam", hub=live_hub, tenant=tenant, device="desk-1")
    store_room = open_ops(tmp_path / "store.db", actor="kim", hub=live_hub, tenant=tenant, device="desk-2")
    for desk in (office, store_room):
        qtbot.addWidget(desk.window)
    for entity, entity_id, payload in [*ITEMS, *LEDGER]:
        office.store.enqueue(entity, entity_id, Op.CREATE, payload, actor="sam")
    for desk in (office, store_room):
        assert desk.bridge is not None
        desk.bridge.client.sync_once()  # both know the same stock, then the link goes
    assert store_room.store.get("inventory.item", "FILTER") is not None

    raised = []
    for desk in (office, store_room):
        desk.window.show_module("Requisitions")
        raised.append(desk.window.ops["Requisitions"].raise_from_reorder())
    assert raised[0] == raised[1] and len(raised[0]) == 1  # one id for the same need, at both offices

    for desk in (office, store_room, office):  # back online, one after the other, then the first catches up
        assert desk.bridge is not None
        desk.bridge.client.sync_once()
        assert desk.store.outbox_depth() == 0 and not desk.store.rejections()
    rows = db_fetch(live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2",
                    tenant, "procurement.requisition")
    assert [r["entity_id"] for r in rows] == raised[0]  # ordered once, not twice
    assert rows[0]["data"]["requested_by"] == "sam"  # the first to arrive stands
    for desk in (office, store_room):
        [(req_id, state)] = [(r.entity_id, r.state) for r in desk.store.query("procurement.requisition")]
        assert req_id == raised[0][0] and state == rows[0]["data"]  # every replica equals the hub
        assert not desk.store.conflicts("open")  # nothing for a person to decide
        assert desk.window.ops["Requisitions"].raise_from_reorder() == []
