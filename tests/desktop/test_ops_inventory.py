"""Stock screens: on hand derived from the ledger, issues that show pending, negative balances flagged."""

from __future__ import annotations

import os
from pathlib import Path

from desktop.stock_writes import on_hand as ledger_on_hand

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into

OPENING = [
    ("inventory.item", "FILTER", {"code": "FILTER", "description": "Oil filter CAT 1R-0716", "unit": "ea"}),
    ("inventory.movement", "M1", {"kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 10,
                                  "unit_cost": 12.0, "occurred_at": "2026-07-01T06:00:00+00:00"}),
    ("inventory.movement", "M2", {"kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 10,
                                  "unit_cost": 14.0, "occurred_at": "2026-07-02T06:00:00+00:00"}),
    ("inventory.stock", "MAIN:FILTER", {"store_id": "MAIN", "item_id": "FILTER", "on_hand": 20}),
]


def row(screen, key: str):  # type: ignore[no-untyped-def]
    return next(r for r in screen.model.rows if r.key == key)


def test_issue_stock_see_on_hand_drop_and_the_row_pending(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, OPENING)
    desk.window.show_module("Stock")
    screen = desk.window.ops["Stock"]
    line = row(screen, "MAIN:FILTER")
    assert line.cells[2] == "Oil filter CAT 1R-0716" and line.cells[3] == "20" and line.cells[4] == "13.00"
    assert not line.pending
    form = screen.issue
    type_into(qtbot, form, {"store_id": "MAIN", "item_id": "FILTER", "quantity": "7"})
    click(qtbot, form.save_button)  # neither a work order nor a cost centre
    assert form.errors["cost_centre"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"cost_centre": "MINING", "quantity": "-2"})
    click(qtbot, form.save_button)
    assert form.errors["quantity"].text() == "must be positive" and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"quantity": "7"})
    click(qtbot, form.save_button)
    line = row(screen, "MAIN:FILTER")
    assert line.cells[3] == "13" and line.pending and not line.needs_review
    sync_col = screen.model.columnCount() - 1
    index = next(i for i, r in enumerate(screen.model.rows) if r.key == "MAIN:FILTER")
    assert screen.model.data(screen.model.index(index, sync_col)) == "pending"
    assert desk.store.outbox_depth() == 1  # the ledger row: the hub keeps the running balance (D27)
    assert desk.window.outbox.text() == "outbox: 1"
    assert ledger_on_hand(desk.store, "MAIN", "FILTER") == 13
    desk.close()


def test_an_issue_past_the_shelf_is_kept_and_flagged_red(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, OPENING)
    screen = desk.window.ops["Stock"]
    desk.window.show_module("Stock")
    type_into(qtbot, screen.issue, {"store_id": "MAIN", "item_id": "FILTER", "quantity": "25", "work_order_id": "WO9"})
    click(qtbot, screen.issue.save_button)
    line = row(screen, "MAIN:FILTER")
    assert line.cells[3] == "-5" and line.needs_review and line.cells[6] == "negative balance"
    index = next(i for i, r in enumerate(screen.model.rows) if r.key == "MAIN:FILTER")
    from PySide6.QtCore import Qt

    assert screen.model.data(screen.model.index(index, 0), Qt.ItemDataRole.BackgroundRole) is not None
    assert "1 need review" in screen.summary.text()
    desk.close()


def test_transfer_and_count_write_ledger_rows(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, OPENING)
    desk.window.show_module("Stock")
    screen = desk.window.ops["Stock"]
    type_into(qtbot, screen.transfer, {"store_id": "MAIN", "to_store_id": "MAIN", "item_id": "FILTER", "quantity": "3"})
    click(qtbot, screen.transfer.save_button)
    assert screen.transfer.errors["to_store_id"].text() == "must differ from the source"
    type_into(qtbot, screen.transfer, {"to_store_id": "WORKSHOP"})
    click(qtbot, screen.transfer.save_button)
    assert row(screen, "MAIN:FILTER").cells[3] == "17"
    [shipped] = [r for r in desk.store.query("inventory.movement") if (r.state or {}).get("kind") == "transfer_out"]
    assert shipped.state is not None and shipped.state["unit_cost"] == 13.0
    assert shipped.state["to_store_id"] == "WORKSHOP"
    type_into(qtbot, screen.count, {"store_id": "MAIN", "item_id": "FILTER", "counted_qty": "17"})
    click(qtbot, screen.count.save_button)
    assert "agrees with the ledger" in screen.count.errors["counted_qty"].text()
    type_into(qtbot, screen.count, {"counted_qty": "15"})
    click(qtbot, screen.count.save_button)
    assert row(screen, "MAIN:FILTER").cells[3] == "15"
    [counted] = [r for r in desk.store.query("inventory.movement") if (r.state or {}).get("kind") == "count_adjustment"]
    assert counted.state is not None and counted.state["quantity"] == -2 and counted.state["counted_qty"] == 15
    assert ledger_on_hand(desk.store, "MAIN", "FILTER") == 15
    desk.close()


def test_a_half_typed_issue_survives_closing_the_app(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    type_into(qtbot, desk.window.ops["Stock"].issue, {"item_id": "FILTER", "quantity": "4"})
    desk.close()
    again = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(again.window)
    form = again.window.ops["Stock"].issue
    assert form.inputs["item_id"].text() == "FILTER" and form.inputs["quantity"].text() == "4"
    assert again.window.ops["Stock"].transfer.inputs["item_id"].text() == ""  # each form keeps its own draft
    again.close()
