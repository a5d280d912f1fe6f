"""Maintenance screens driven through the real widgets on a real encrypted store (offline)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from desktop.stock_writes import on_hand as ledger_on_hand

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from desktop.app import Desktop, build
from shared.envelopes import Event
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider
from tests.fixtures.hubserver import HubProcess, provision_device

KEY = PassphraseKeyProvider("desk test", n=2**10)
SUPERVISOR = frozenset({"maintenance_supervisor", "storeman"})


def open_ops(path: Path, *, actor: str = "sam", roles: frozenset[str] = SUPERVISOR, hub: HubProcess | None = None,
             tenant: str = "t-ops", device: str = "desk-1") -> Desktop:
    token = provision_device(hub.dsn, tenant, "north", device) if hub else None
    return build(path, KEY, identity=DeviceIdentity(device, tenant, "north"), actor=actor, roles=roles,
                 hub_url=hub.url if hub else None, token=token, start_sync=False)


def from_hub(store: LocalStore, records: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
    """Records as the hub would send them (confirmed), without a hub: for the offline tests."""
    seq = store.cursor
    events = []
    for entity, entity_id, payload in records:
        seq += 1
        events.append(Event(seq=seq, id=f"e{seq}", tenant_id="t-ops", site_id="north", type=f"{entity}.created",
                            entity=entity, entity_id=entity_id, version=1, timestamp=datetime.now(UTC),
                            payload=payload, correlation_id=None))
    store.apply_events(events)


def type_into(qtbot, form, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for name, text in values.items():
        form.inputs[name].clear()
        qtbot.keyClicks(form.inputs[name], text)


def click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def step(qtbot, screen, to: str) -> None:  # type: ignore[no-untyped-def]
    click(qtbot, next(b for t, b in screen.steps.items() if t.value == to))


def enabled_steps(screen) -> list[str]:  # type: ignore[no-untyped-def]
    return [to.value for to, button in screen.steps.items() if button.isEnabled()]


def test_raise_a_work_order_and_move_it_through_its_lifecycle(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", roles=frozenset({"maintenance_supervisor", "planner"}))
    qtbot.addWidget(desk.window)
    desk.window.show_module("Work orders")
    screen = desk.window.ops["Work orders"]
    form = screen.new_form
    click(qtbot, form.save_button)  # nothing typed: messages beside the fields, nothing written
    assert form.errors["equipment_id"].text() and form.errors["title"].text()
    assert desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"equipment_id": "DT01", "title": "Hydraulic leak at boom", "priority": "urgent",
                            "requested_by": "jo"})
    click(qtbot, form.save_button)
    assert "must be one of" in form.errors["priority"].text() and form.inputs["title"].text()  # kept
    type_into(qtbot, form, {"priority": "high"})
    click(qtbot, form.save_button)
    assert screen.model.rowCount() == 1
    model = screen.model
    assert model.data(model.index(0, model.columnCount() - 1)) == "pending"
    screen.view.selectRow(0)
    wo_id = screen.selected_id()
    assert wo_id is not None
    # Requested: a supervisor may approve or cancel; nothing else is legal yet.
    assert enabled_steps(screen) == ["approved", "cancelled"]
    step(qtbot, screen, "approved")
    assert enabled_steps(screen) == ["planned", "cancelled"]
    step(qtbot, screen, "planned")
    assert screen.title.text().endswith("planned")
    assert model.data(model.index(0, 4)) == "planned"  # the cached status moved with the step
    for to in ("in_progress", "completed", "closed"):
        step(qtbot, screen, to)
    assert screen.title.text().endswith("closed") and enabled_steps(screen) == []
    steps = desk.store.query("maintenance.work_order_transition", where={"work_order_id": wo_id})
    assert sorted(str((s.state or {})["to_status"]) for s in steps) == sorted(
        ["approved", "planned", "in_progress", "completed", "closed"])
    assert all((s.state or {})["by"] == "sam" for s in steps)
    desk.close()


def test_the_requester_and_a_person_without_the_role_cannot_step(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="jo", roles=frozenset({"maintenance_supervisor"}))
    qtbot.addWidget(desk.window)
    screen = desk.window.ops["Work orders"]
    type_into(qtbot, screen.new_form, {"equipment_id": "DT01", "title": "Cracked bucket"})
    click(qtbot, screen.new_form.save_button)
    screen.view.selectRow(0)
    assert enabled_steps(screen) == ["cancelled"]  # jo requested it: approving is for someone else
    desk.close()
    tech = open_ops(tmp_path / "desk.db", actor="kim", roles=frozenset({"technician"}))
    qtbot.addWidget(tech.window)
    screen = tech.window.ops["Work orders"]
    screen.view.selectRow(0)
    assert enabled_steps(screen) == []
    tech.close()


def test_labour_and_parts_on_a_work_order_issue_stock(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [
        ("maintenance.work_order", "WO1", {"number": "WO1", "equipment_id": "EX01", "title": "Service",
                                           "status": "in_progress", "requested_by": "jo",
                                           "requested_at": "2026-07-01T06:00:00+00:00"}),
        ("inventory.movement", "M1", {"kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 10,
                                      "unit_cost": 12.5, "occurred_at": "2026-07-01T06:00:00+00:00"}),
        ("inventory.stock", "MAIN:FILTER", {"store_id": "MAIN", "item_id": "FILTER", "on_hand": 10}),
    ])
    desk.window.show_module("Work orders")
    screen = desk.window.ops["Work orders"]
    click(qtbot, screen.labour.save_button)  # no work order chosen yet
    assert "choose" in screen.labour.status.text().lower() or screen.labour.errors["hours"].text()
    screen.view.selectRow(0)
    type_into(qtbot, screen.labour, {"hours": "3.5", "trade": "fitter"})
    click(qtbot, screen.labour.save_button)
    type_into(qtbot, screen.parts, {"store_id": "MAIN", "item_id": "FILTER", "quantity": "4"})
    click(qtbot, screen.parts.save_button)
    assert "Labour 3.5 h" in screen.details.text() and "1 part line" in screen.details.text()
    [consumed] = desk.store.query("maintenance.part_consumption")
    assert consumed.state is not None and consumed.state["work_order_id"] == "WO1"
    issue = desk.store.get("inventory.movement", str(consumed.state["movement_id"]))
    assert issue is not None and issue.state is not None and issue.state["kind"] == "issue"
    assert ledger_on_hand(desk.store, "MAIN", "FILTER") == 6 and issue.pending
    desk.close()


def test_pm_plans_show_when_due_from_the_hour_meters_and_raise_once(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    today = date.today()
    logs = [("equipment.usage_log", f"L{d}", {
        "equipment_id": "DT01", "shift_date": (today - timedelta(days=d)).isoformat(), "shift": "day",
        "operating_hours": 10, "hour_meter_start": 1240 - 10 * d, "hour_meter_end": 1250 - 10 * d})
        for d in range(5, 0, -1)]
    from_hub(desk.store, [*logs,
        ("maintenance.pm_plan", "P250", {"equipment_id": "DT01", "title": "250 h service", "trigger": "hours",
                                         "schedule": "fixed", "interval_hours": 250, "lead_hours": 25,
                                         "start_hours": 1000}),
        ("maintenance.pm_plan", "PCAL", {"equipment_id": "DT01", "title": "Inspection", "trigger": "calendar",
                                         "schedule": "fixed", "interval_days": 90,
                                         "start_date": (today - timedelta(days=30)).isoformat()}),
        ("maintenance.pm_plan", "PBAD", {"equipment_id": "DT01", "title": "Broken", "trigger": "calendar",
                                         "schedule": "fixed"})])
    desk.window.show_module("PM plans")
    screen = desk.window.ops["PM plans"]
    rows = {r.key: r for r in screen.model.rows}
    assert rows["P250"].cells[4] == "1240" and rows["P250"].cells[5] == "1250"
    assert rows["P250"].cells[8] == "raise now"
    assert rows["PCAL"].cells[8] == "ok" and rows["PCAL"].cells[7] == "60 d"
    assert rows["PBAD"].needs_review and "cannot schedule" in rows["PBAD"].cells[8]
    screen.view.selectRow(next(i for i, r in enumerate(screen.model.rows) if r.key == "P250"))
    click(qtbot, screen.raise_button)
    assert desk.store.count("maintenance.work_order") == 1
    assert {r.key: r for r in screen.model.rows}["P250"].cells[8] == "raised"
    screen.view.selectRow(next(i for i, r in enumerate(screen.model.rows) if r.key == "P250"))
    click(qtbot, screen.raise_button)
    assert desk.store.count("maintenance.work_order") == 1  # the same due point never raises twice
    desk.close()


def test_a_replaced_meter_moves_pm_on_and_the_shift_form_takes_the_new_meters_readings(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The gateway found the meter replaced 40 days ago (an equipment.meter_correction through the hub); the new
    # meter reads far below the old one's top, which is outside the PM rate window.
    desk = open_ops(tmp_path / "desk.db", roles=SUPERVISOR | {"supervisor"})
    qtbot.addWidget(desk.window)
    today = date.today()
    changed = today - timedelta(days=40)
    old_meter = [("equipment.usage_log", f"O{d}", {
        "equipment_id": "DT01", "shift_date": (changed - timedelta(days=d)).isoformat(), "shift": "day",
        "operating_hours": 10, "hour_meter_start": 4990 - 10 * d, "hour_meter_end": 5000 - 10 * d})
        for d in range(3, 0, -1)]
    new_meter = [("equipment.usage_log", f"N{d}", {
        "equipment_id": "DT01", "shift_date": (changed + timedelta(days=d)).isoformat(), "shift": "day",
        "operating_hours": 10, "hour_meter_start": 10 * d - 10, "hour_meter_end": 10 * d})
        for d in range(1, 4)]  # 10, 20, 30 on the new meter, all older than the 30-day window
    from_hub(desk.store, [*old_meter, *new_meter,
        ("equipment.meter_correction", "MC1", {"equipment_id": "DT01", "shift_date": changed.isoformat(),
                                               "shift": "night", "before": 4990, "after": 0,
                                               "source": "telematics"}),
        ("maintenance.pm_plan", "P250", {"equipment_id": "DT01", "title": "250 h service", "trigger": "hours",
                                         "schedule": "fixed", "interval_hours": 250, "lead_hours": 25,
                                         "start_hours": 4750})])
    desk.window.show_module("PM plans")
    row = {r.key: r for r in desk.window.ops["PM plans"].model.rows}["P250"]
    assert row.cells[4] == "5020"  # 4,990 on the old meter + 30 on the new one (was 4990: PM stood still)
    desk.window.show_module("Hours")
    form = desk.window.forms["equipment.usage_log"]
    type_into(qtbot, form, {"equipment_id": "DT01", "shift_date": today.isoformat(), "shift": "day",
                            "operator": "J. Mokoena", "operating_hours": "9", "standby_hours": "2",
                            "hour_meter_start": "30", "hour_meter_end": "39"})
    click(qtbot, form.save_button)
    assert not form.errors["hour_meter_start"].text(), form.errors["hour_meter_start"].text()
    assert desk.store.count("equipment.usage_log") == 7  # read off the new meter's dial: accepted
    type_into(qtbot, form, {"equipment_id": "DT01", "shift_date": today.isoformat(), "shift": "night",
                            "operator": "J. Mokoena", "operating_hours": "9", "standby_hours": "2",
                            "hour_meter_start": "20", "hour_meter_end": "29"})
    click(qtbot, form.save_button)
    assert "below the last reading for this unit (39 h)" in form.errors["hour_meter_start"].text()
    desk.close()
