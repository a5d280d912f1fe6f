"""Purchase orders and the inbox, offline: a PO with lines is sent for approval, approved from the inbox,
and received partially against a line."""

from __future__ import annotations

import os
from pathlib import Path

from desktop.stock_writes import on_hand as ledger_on_hand

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from shared.store import LocalStore
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into

CHAIN = ("approvals.chain", "chain-po", {"document_type": "procurement.purchase_order", "levels": [
    {"min_amount": 0, "approver_user": "sam"}, {"min_amount": 10000, "approver_role": "site_manager"}]})
PO = ("procurement.purchase_order", "PO1", {
    "number": "PO-0001", "vendor_id": "V-PILBARA", "total": 130, "approval": "approved", "lines": [
        {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 5},
        {"line_id": "2", "item_id": "HOSE", "store_id": "MAIN", "quantity": 4, "unit_price": 20}]})


def po_row(screen, key: str):  # type: ignore[no-untyped-def]
    return next(r for r in screen.model.rows if r.key == key)


def select_po(screen, key: str) -> None:  # type: ignore[no-untyped-def]
    assert screen.select(key)


def on_hand(store: LocalStore, key: str) -> float:
    """This office's stock, from its own ledger (the hub keeps the running balance, D27)."""
    store_id, item_id = key.split(":")
    return float(ledger_on_hand(store, store_id, item_id))


def test_receive_goods_against_a_po_partially(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [PO, ("inventory.stock", "MAIN:FILTER", {"store_id": "MAIN", "item_id": "FILTER",
                                                                  "on_hand": 0})])
    desk.window.show_module("Purchase orders")
    screen = desk.window.ops["Purchase orders"]
    assert po_row(screen, "PO1").cells[4] == "open"
    form = screen.receipt
    select_po(screen, "PO1")
    type_into(qtbot, form, {"line_id": "1", "quantity": "4", "delivery_note": "DN-771"})
    click(qtbot, form.save_button)
    row = po_row(screen, "PO1")
    assert row.cells[4] == "partially_received" and row.cells[5] == "2" and row.pending
    select_po(screen, "PO1")
    assert [screen.line_model.cell(0, c) for c in (3, 4, 5)] == ["10", "4", "6"]
    type_into(qtbot, form, {"line_id": "1", "quantity": "7"})
    click(qtbot, form.save_button)  # 4 + 7 is past the 10 ordered: refused, what was typed is kept
    assert "against 10 ordered" in form.errors["quantity"].text() and form.inputs["quantity"].text() == "7"
    type_into(qtbot, form, {"line_id": "3", "quantity": "1"})
    click(qtbot, form.save_button)
    assert "not a line of this PO" in form.errors["line_id"].text()
    type_into(qtbot, form, {"line_id": "1", "quantity": "6"})
    click(qtbot, form.save_button)
    assert po_row(screen, "PO1").cells[5] == "1"
    assert on_hand(desk.store, "MAIN:FILTER") == 10
    receipts = desk.store.query("procurement.goods_receipt")
    assert sorted(float((r.state or {})["quantity"]) for r in receipts) == [4.0, 6.0]
    movement = desk.store.get("inventory.movement", str((receipts[0].state or {})["movement_id"]))
    assert movement is not None and (movement.state or {})["unit_cost"] == 5.0
    desk.close()


def test_create_a_po_with_lines_and_approve_it_from_the_inbox_offline(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    buyer = open_ops(tmp_path / "desk.db", actor="bo", roles=frozenset({"buyer"}))
    qtbot.addWidget(buyer.window)
    from_hub(buyer.store, [CHAIN])
    buyer.window.show_module("Purchase orders")
    form = buyer.window.ops["Purchase orders"].po_form
    click(qtbot, form.save_button)
    assert form.errors["vendor_id"].text() == "is required"
    qtbot.keyClicks(form.inputs["vendor_id"], "V-PILBARA")
    form.line_model.set_rows([])
    form.add_line(["FILTER", "MAIN", "10", "five"])
    click(qtbot, form.save_button)
    assert "unit_price must be a number" in form.errors["lines"].text() and buyer.store.outbox_depth() == 0
    form.line_model.set_cell(0, 3, "5")  # what the cell editor does
    form.add_line(["HOSE", "MAIN", "4", "20"])
    click(qtbot, form.save_button)
    screen = buyer.window.ops["Purchase orders"]
    [row] = screen.model.rows
    assert row.cells[2] == "130.00" and row.cells[3].startswith("waiting: level 1 of 1 (sam)") and row.pending
    select_po(screen, row.key)
    assert not screen.approve_button.isEnabled()  # bo is not the approver
    buyer.close()

    sam = open_ops(tmp_path / "desk.db", actor="sam", roles=frozenset())
    qtbot.addWidget(sam.window)
    sam.window.show_module("Inbox")
    inbox = sam.window.ops["Inbox"]
    approvals, notes = inbox.approvals.model(), inbox.notifications.model()
    assert approvals.rowCount() == 1 and approvals.cell(0, 2) == "130.00"
    assert notes.rowCount() == 1 and notes.cell(0, 3) == "unread"
    inbox.notifications.selectRow(0)
    click(qtbot, inbox.read_button)
    assert notes.cell(0, 3) == "read" and notes.cell(0, 4) == "pending"
    depth = sam.store.outbox_depth()
    inbox.approvals.selectRow(0)
    qtbot.keyClicks(inbox.comment, "prices as quoted")
    click(qtbot, inbox.approve_button)
    assert approvals.rowCount() == 0 and notes.rowCount() == 0  # decided: the need is gone
    [decision] = sam.store.query("approvals.decision")
    assert decision.pending and decision.state is not None
    assert (decision.state["verdict"], decision.state["by"], decision.state["comment"]) == (
        "approve", "sam", "prices as quoted")
    assert sam.store.outbox_depth() == depth + 2  # the decision, and the notification resolved
    sam.window.show_module("Purchase orders")
    assert sam.window.ops["Purchase orders"].model.rows[0].cells[3] == "approved"
    sam.close()


def test_a_reject_from_the_po_screen_and_the_po_draft_survives_a_restart(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="sam", roles=frozenset())
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [CHAIN, PO, ("approvals.request", "R1", {
        "document_type": "procurement.purchase_order", "document_id": "PO1", "amount": 130, "requested_by": "bo"})])
    desk.window.show_module("Purchase orders")
    screen = desk.window.ops["Purchase orders"]
    select_po(screen, "PO1")
    assert screen.approve_button.isEnabled()
    click(qtbot, screen.reject_button)
    assert po_row(screen, "PO1").cells[3] == "rejected" and not screen.approve_button.isEnabled()
    qtbot.keyClicks(screen.po_form.inputs["vendor_id"], "V-OUTBACK")
    screen.po_form.add_line(["TYRE", "MAIN", "2", "4000"])
    desk.close()
    again = open_ops(tmp_path / "desk.db", actor="sam", roles=frozenset())
    qtbot.addWidget(again.window)
    form = again.window.ops["Purchase orders"].po_form
    assert form.inputs["vendor_id"].text() == "V-OUTBACK"
    assert [form.line_model.cell(form.line_model.rowCount() - 1, c) for c in range(4)] == ["TYRE", "MAIN", "2", "4000"]
    again.close()
