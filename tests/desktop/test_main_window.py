"""The desktop driven through its real widgets in a real Qt event loop (offscreen), against a real hub."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from desktop.app import Desktop, build
from shared.store import DeviceIdentity, PassphraseKeyProvider
from tests.fixtures.hubserver import HubProcess, provision_device

KEY = PassphraseKeyProvider("desk test", n=2**10)


def open_desktop(path: Path, hub: HubProcess | None = None, tenant: str = "t-desk") -> Desktop:
    token = provision_device(hub.dsn, tenant, "north", "desk-1") if hub else None
    return build(path, KEY, identity=DeviceIdentity("desk-1", tenant, "north"), actor="supervisor",
                 hub_url=hub.url if hub else None, token=token, start_sync=False)


def type_into(qtbot, form, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for name, text in values.items():
        edit = form.inputs[name]
        edit.clear()
        qtbot.keyClicks(edit, text)


def test_a_bad_form_shows_messages_next_to_the_fields_and_keeps_what_was_typed(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    form = desk.window.forms["equipment.unit"]
    type_into(qtbot, form, {"fleet_no": "DT01", "equipment_class": "boat"})
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert "must be one of" in form.errors["equipment_class"].text()
    assert form.inputs["fleet_no"].text() == "DT01"  # nothing typed is lost
    assert desk.store.outbox_depth() == 0
    desk.close()


def test_a_draft_survives_closing_the_app(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    type_into(qtbot, desk.window.forms["equipment.breakdown"], {"cause": "hydraulic hose burst"})
    desk.close()  # as if the PC lost power after the keystrokes
    again = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(again.window)
    assert again.window.forms["equipment.breakdown"].inputs["cause"].text() == "hydraulic hose burst"
    again.close()


def test_log_equipment_offline_see_it_pending_then_confirmed_by_a_real_hub(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                            tmp_path: Path) -> None:
    desk = open_desktop(tmp_path / "desk.db", live_hub)
    qtbot.addWidget(desk.window)
    desk.window.show()
    form = desk.window.forms["equipment.unit"]
    type_into(qtbot, form, {"fleet_no": "DT07", "equipment_class": "truck", "make": "CAT"})
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    model = desk.window.models["equipment.unit"]
    assert model.rowCount() == 1
    sync_col = model.columnCount() - 1
    assert model.data(model.index(0, sync_col)) == "pending"
    assert desk.window.outbox.text() == "outbox: 1"
    assert desk.bridge is not None
    # Not qtbot.waitSignal: the bridge emits from sync threads, and waitSignal's own handler would run there.
    desk.bridge.start()
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.data(model.index(0, sync_col)) == "confirmed",
                    timeout=20_000)
    qtbot.waitUntil(lambda: desk.window.online.text() == "online", timeout=10_000)
    desk.close()


@pytest.mark.parametrize("rows", [5000])
def test_large_tables_load_lazily(qtbot, tmp_path: Path, rows: int) -> None:  # type: ignore[no-untyped-def]
    from shared.store import MutationDraft

    desk = open_desktop(tmp_path / "desk.db")
    desk.store.enqueue_many([MutationDraft("equipment.unit", f"U{i:05}", "create",
                                           {"fleet_no": f"U{i:05}", "equipment_class": "truck"}, "u")
                             for i in range(rows)])
    desk.window.refresh_tables()
    model = desk.window.models["equipment.unit"]
    assert model.total == rows and model.rowCount() == 200  # one page loaded, the rest on demand
    model.fetchMore(model.index(-1, -1))
    assert model.rowCount() == 400
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, 0)) == f"U{rows - 1:05}"
    desk.close()


def test_a_fleet_number_in_use_is_refused_beside_the_field_and_that_machine_kept(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from shared.store import MutationDraft

    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    desk.store.enqueue_many([
        MutationDraft("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck",
                                                           "rental": True, "rental_rate": 310.0,
                                                           "customer": "Kumba Haulage"}, "supervisor"),
        # a machine the hub created (its id is not its fleet number)
        MutationDraft("equipment.unit", "equip-007", "create", {"fleet_no": "EX07", "equipment_class": "excavator"},
                      "admin")])
    desk.window.refresh_tables()
    form = desk.window.forms["equipment.unit"]
    depth = desk.store.outbox_depth()
    for fleet_no in ("DT01", "EX07", "dt01 "):
        type_into(qtbot, form, {"fleet_no": fleet_no, "equipment_class": "dozer", "make": "CAT"})
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
        assert "already" in form.errors["fleet_no"].text(), fleet_no
        assert form.inputs["fleet_no"].text() == fleet_no  # kept for correction
    assert desk.store.outbox_depth() == depth  # nothing written
    unit = desk.store.get("equipment.unit", "DT01")
    assert unit is not None and unit.state is not None
    assert (unit.state["equipment_class"], unit.state["rental_rate"], unit.state["customer"]) == (
        "truck", 310.0, "Kumba Haulage")
    type_into(qtbot, form, {"fleet_no": "DZ02", "equipment_class": "dozer", "make": "CAT"})
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert desk.store.get("equipment.unit", "DZ02") is not None and form.errors["fleet_no"].text() == ""
    desk.close()


def test_a_half_typed_form_is_that_persons_draft_not_the_next_persons(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # One site-office PC, two people in turn: drafts were per PC, so the next person saw (and could save)
    # what the first one had half typed.
    def open_as(actor: str) -> Desktop:
        desk = build(tmp_path / "desk.db", KEY, identity=DeviceIdentity("desk-1", "t-desk", "north"), actor=actor,
                     start_sync=False)
        qtbot.addWidget(desk.window)
        return desk

    first = open_as("sam.storeman")
    type_into(qtbot, first.window.forms["equipment.breakdown"], {"cause": "hydraulic hose burst"})
    first.close()
    second = open_as("kim.supervisor")
    assert second.window.forms["equipment.breakdown"].inputs["cause"].text() == ""
    type_into(qtbot, second.window.forms["equipment.breakdown"], {"cause": "flat tyre"})
    second.close()
    again = open_as("sam.storeman")
    assert again.window.forms["equipment.breakdown"].inputs["cause"].text() == "hydraulic hose burst"
    again.close()
