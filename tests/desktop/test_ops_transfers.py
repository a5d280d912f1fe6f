"""Transfers between stores through the real widgets on a real encrypted store: shipped at one store (the
Stock screen's Transfer form), listed in transit, received at the other (the Transfers screen), on hand
right at both and nothing left in transit; a short receipt needs its reason; and two site offices with a
real hub: one ships, the other receives, both sync, rows come back confirmed, the hub's balances agree."""

from __future__ import annotations

import os
from pathlib import Path

from desktop.stock_writes import on_hand as ledger_on_hand

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.stock_writes import movement_drafts
from shared.envelopes import Op
from shared.ids import new_ulid
from tests.desktop.test_ops_inventory import OPENING, row
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch


def ship(qtbot, desk, quantity: str, to_store: str = "PIT2") -> None:  # type: ignore[no-untyped-def]
    desk.window.show_module("Stock")
    form = desk.window.ops["Stock"].transfer
    type_into(qtbot, form, {"store_id": "MAIN", "to_store_id": to_store, "item_id": "FILTER", "quantity": quantity})
    click(qtbot, form.save_button)
    assert form.status.text().startswith("Saved here"), form.status.text()


def balance(desk, key: str) -> float:  # type: ignore[no-untyped-def]
    """This office's stock, from its own ledger (the hub keeps the running balance, D27)."""
    store_id, item_id = key.split(":")
    return float(ledger_on_hand(desk.store, store_id, item_id))


def test_ship_see_in_transit_receive_at_the_other_store(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, OPENING)  # MAIN holds 20 filters at 13.00 average
    ship(qtbot, desk, "6")
    desk.window.show_module("Transfers")
    screen = desk.window.ops["Transfers"]
    [line] = screen.model.rows
    assert line.cells[1:7] == ["FILTER", "MAIN", "PIT2", "6", "0", "6"] and line.pending
    assert screen.summary.text() == "1 transfer(s) in transit"
    assert not screen.receive.save_button.isEnabled()  # nothing chosen yet
    assert screen.select(line.key)
    assert "6 × FILTER from MAIN into PIT2" in screen.chosen.text()
    type_into(qtbot, screen.receive, {"quantity": "7"})
    click(qtbot, screen.receive.save_button)  # more than was shipped: refused beside the field, nothing written
    assert "at most 6 in transit" in screen.receive.errors["quantity"].text()
    depth = desk.store.outbox_depth()
    screen.receive.inputs["quantity"].clear()  # empty: everything in transit
    click(qtbot, screen.receive.save_button)
    assert screen.model.rows == [] and screen.summary.text() == "0 transfer(s) in transit"
    assert desk.store.outbox_depth() == depth + 1  # the transfer_in (the hub moves PIT2's balance)
    [booked] = [r for r in desk.store.query("inventory.movement") if (r.state or {}).get("kind") == "transfer_in"]
    assert booked.state is not None and booked.state["transfer_id"] == line.key and booked.state["unit_cost"] == 13.0
    screen.show_received.setChecked(True)
    [done] = screen.model.rows
    assert done.cells[4:7] == ["6", "6", "0"] and done.pending
    stock = desk.window.ops["Stock"]
    desk.window.show_module("Stock")
    assert row(stock, "MAIN:FILTER").cells[3] == "14" and row(stock, "PIT2:FILTER").cells[3] == "6"
    assert row(stock, "PIT2:FILTER").cells[4] == "13.00"  # value moved at the shipping cost
    assert balance(desk, "MAIN:FILTER") == 14 and balance(desk, "PIT2:FILTER") == 6
    desk.close()


def test_a_short_receipt_needs_its_reason_and_books_the_loss(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, OPENING)
    ship(qtbot, desk, "5")
    desk.window.show_module("Transfers")
    screen = desk.window.ops["Transfers"]
    assert screen.select(screen.model.rows[0].key)
    depth = desk.store.outbox_depth()
    type_into(qtbot, screen.receive, {"quantity": "4"})
    click(qtbot, screen.receive.save_button)
    assert "give the reason" in screen.receive.errors["note"].text() and desk.store.outbox_depth() == depth
    type_into(qtbot, screen.receive, {"note": "one crushed in the tray"})
    click(qtbot, screen.receive.save_button)
    assert screen.model.rows == []
    [loss] = [r for r in desk.store.query("inventory.movement") if (r.state or {}).get("kind") == "count_adjustment"]
    assert loss.state is not None and loss.state["quantity"] == -1 and "one crushed" in loss.state["note"]
    assert balance(desk, "PIT2:FILTER") == 4 and balance(desk, "MAIN:FILTER") == 15
    desk.close()


def test_a_half_typed_receipt_survives_closing_the_app(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    type_into(qtbot, desk.window.ops["Transfers"].receive, {"quantity": "3", "note": "pallet wet"})
    desk.close()
    again = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(again.window)
    form = again.window.ops["Transfers"].receive
    assert form.inputs["quantity"].text() == "3" and form.inputs["note"].text() == "pallet wet"
    again.close()


def test_two_offices_ship_and_receive_through_a_real_hub(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    tenant = f"t-xfer-{new_ulid()[-6:].lower()}"
    sender = open_ops(tmp_path / "main.db", actor="sam", hub=live_hub, tenant=tenant, device="main-1")
    qtbot.addWidget(sender.window)
    assert sender.bridge is not None
    s = sender.store
    s.enqueue("inventory.item", "FILTER", Op.CREATE, {"code": "FILTER", "description": "Oil filter", "unit": "ea"},
              actor="sam")
    opening = {"kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 20, "unit_cost": 4.5,
               "occurred_at": "2026-07-01T06:00:00+00:00"}
    s.enqueue_many(movement_drafts(s, new_ulid(), opening, "sam"))
    ship(qtbot, sender, "8")  # offline: the sender's rows are pending
    sender.bridge.start()
    qtbot.waitUntil(lambda: s.outbox_depth() == 0, timeout=30_000)
    assert not s.rejections()

    receiver = open_ops(tmp_path / "pit2.db", actor="kim", hub=live_hub, tenant=tenant, device="pit2-1")
    qtbot.addWidget(receiver.window)
    assert receiver.bridge is not None
    receiver.bridge.client.catch_up()
    receiver.window.show_module("Transfers")
    screen = receiver.window.ops["Transfers"]
    screen.refresh()
    [line] = screen.model.rows
    assert line.cells[2:7] == ["MAIN", "PIT2", "8", "0", "8"] and not line.pending  # the hub confirmed the shipment
    assert screen.select(line.key)
    click(qtbot, screen.receive.save_button)
    assert screen.model.rows == []
    screen.show_received.setChecked(True)
    assert screen.model.rows[0].pending
    receiver.bridge.start()

    def confirmed() -> bool:
        if receiver.store.outbox_depth():
            return False
        screen.refresh()
        return bool(screen.model.rows) and not screen.model.rows[0].pending

    qtbot.waitUntil(confirmed, timeout=30_000)
    assert not receiver.store.rejections() and not receiver.store.conflicts("open")

    def hub(entity: str) -> dict[str, dict]:  # type: ignore[type-arg]
        rows = db_fetch(live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2",
                        tenant, entity)
        return {r["entity_id"]: r["data"] for r in rows}

    stock = hub("inventory.stock")
    assert stock["MAIN:FILTER"]["on_hand"] == 12 and stock["PIT2:FILTER"]["on_hand"] == 8
    kinds = sorted(d["kind"] for d in hub("inventory.movement").values())
    assert kinds == ["receipt", "transfer_in", "transfer_out"]
    # the sender follows the stream: it sees the transfer received, nothing in transit
    sender.window.show_module("Transfers")
    qtbot.waitUntil(lambda: (sender.window.ops["Transfers"].refresh(), sender.window.ops["Transfers"].model.rows)[1]
                    == [], timeout=30_000)
    sender.close()
    receiver.close()


def test_a_transfer_received_at_two_offline_offices_is_booked_once(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    """Issue 12: two offices at the receiving site both book the same transfer offline. The hub books the first
    (D27); the second office's receipt disappears from its ledger, its conflicts inbox says why, and both offices
    end with the hub's single receipt: stock 8 at PIT2, never 16."""
    tenant = f"t-xfer2-{new_ulid()[-6:].lower()}"
    sender = open_ops(tmp_path / "main.db", actor="sam", hub=live_hub, tenant=tenant, device="main-1")
    qtbot.addWidget(sender.window)
    assert sender.bridge is not None
    s = sender.store
    s.enqueue_many(movement_drafts(s, new_ulid(), {
        "kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 20, "unit_cost": 4.5,
        "occurred_at": "2026-07-01T06:00:00+00:00"}, "sam"))
    ship(qtbot, sender, "8")
    sender.bridge.client.sync_once()
    assert s.outbox_depth() == 0 and not s.rejections()

    offices = []
    for name in ("pit2-1", "pit2-2"):
        desk = open_ops(tmp_path / f"{name}.db", actor="kim", hub=live_hub, tenant=tenant, device=name)
        qtbot.addWidget(desk.window)
        assert desk.bridge is not None
        desk.bridge.client.catch_up()
        desk.window.show_module("Transfers")
        screen = desk.window.ops["Transfers"]
        screen.refresh()
        [line] = screen.model.rows
        assert screen.select(line.key)
        click(qtbot, screen.receive.save_button)  # offline: each office books everything in transit
        assert balance(desk, "PIT2:FILTER") == 8
        offices.append(desk)

    for desk in offices:
        desk.bridge.client.sync_once()
    for desk in offices:
        desk.bridge.client.sync_once()  # the other office's receipt arrives through the log
    for desk in offices:  # the site's conflict, for whoever at the site resolves it: the second office's receipt
        [conflict] = desk.store.conflicts("open")
        assert conflict.state is not None and "already received" in conflict.state["reason"]
        assert conflict.state["device_id"] == "pit2-2" and desk.store.outbox_depth() == 0
    for desk in offices:
        assert balance(desk, "PIT2:FILTER") == 8, desk.store.path  # one transfer_in in every replica
        booked = [r for r in desk.store.query("inventory.movement") if (r.state or {}).get("kind") == "transfer_in"]
        assert len(booked) == 1
    rows = db_fetch(live_hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 "
                                  "AND entity = 'inventory.stock'", tenant)
    assert {r["entity_id"]: r["data"]["on_hand"] for r in rows} == {"MAIN:FILTER": 12, "PIT2:FILTER": 8}
    for desk in (sender, *offices):
        desk.close()
