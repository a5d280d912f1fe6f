"""A conflict made by two offices against a real hub, resolved in the inbox of one of them."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from desktop.app import build
from shared.envelopes import Op
from shared.ids import new_ulid
from shared.store import DeviceIdentity, PassphraseKeyProvider
from tests.fixtures.hubserver import HubProcess, provision_device

KEY = PassphraseKeyProvider("desk test", n=2**10)


def test_two_offices_conflict_and_a_person_resolves_it(qtbot, live_hub: HubProcess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tenant = f"t-cf-{new_ulid()[-6:].lower()}"
    desks = []
    for name in ("desk-a", "desk-b"):
        token = provision_device(live_hub.dsn, tenant, "north", name)
        desk = build(tmp_path / f"{name}.db", KEY, identity=DeviceIdentity(name, tenant, "north"), actor=name,
                     hub_url=live_hub.url, token=token, start_sync=False)
        qtbot.addWidget(desk.window)
        desks.append(desk)
    a, b = desks
    assert a.bridge is not None and b.bridge is not None
    terms = {"equipment_id": "DT01", "customer": "Kumba", "rate_per_hour": 300}
    a.store.enqueue("equipment.rental_contract", "RC1", Op.CREATE, terms, actor="desk-a")
    a.bridge.client.sync_once()
    b.bridge.client.sync_once()
    a.store.enqueue("equipment.rental_contract", "RC1", Op.UPDATE, {"rate_per_hour": 320}, actor="desk-a")
    b.store.enqueue("equipment.rental_contract", "RC1", Op.UPDATE, {"rate_per_hour": 340}, actor="desk-b")
    a.bridge.client.sync_once()
    b.bridge.client.sync_once()
    b.bridge.client.sync_once()
    b.window.refresh_tables()
    inbox = b.window.conflicts_inbox
    assert inbox.list.count() == 1, [c.state for c in b.store.conflicts("open")]
    sides = inbox.side_model
    rows = {sides.cell(i, 0): (sides.cell(i, 1), sides.cell(i, 2)) for i in range(sides.rowCount())}
    assert rows["rate_per_hour"] == ("320", "340")
    qtbot.mouseClick(inbox.keep_client, Qt.MouseButton.LeftButton)
    b.bridge.client.sync_once()
    b.window.refresh_tables()
    record = b.store.get("equipment.rental_contract", "RC1")
    assert record is not None and record.state is not None and record.state["rate_per_hour"] == 340
    assert not b.store.conflicts("open") and b.store.outbox_depth() == 0
    for desk in desks:
        desk.close()
