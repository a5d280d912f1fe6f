"""Hours, breakdowns, KPIs and conflicts driven through the real widgets on a real encrypted store."""

from __future__ import annotations

import csv
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from desktop.first_run import add_demo_data
from shared.envelopes import Event
from tests.desktop.test_main_window import open_desktop, type_into


def test_log_hours_checked_against_the_last_meter_reading(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    form = desk.window.forms["equipment.usage_log"]
    shift = {"equipment_id": "DT01", "shift_date": "2026-11-20", "shift": "day", "operator": "J. Mokoena",
             "operating_hours": "9", "standby_hours": "2", "hour_meter_start": "1000", "hour_meter_end": "1009"}
    type_into(qtbot, form, shift)
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert desk.store.count("equipment.usage_log") == 1
    type_into(qtbot, form, {**shift, "shift": "night", "hour_meter_start": "1005", "hour_meter_end": "1004"})
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert "below the last reading" in form.errors["hour_meter_start"].text()
    assert form.errors["hour_meter_end"].text()
    assert form.inputs["hour_meter_start"].text() == "1005"  # kept for correction
    assert desk.store.count("equipment.usage_log") == 1
    form.inputs["hour_meter_start"].setText("1009")
    form.inputs["hour_meter_end"].setText("1018")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert desk.store.count("equipment.usage_log") == 2
    desk.close()


def test_a_breakdown_is_captured_and_shown_pending(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    desk.window.show_module("Breakdowns")
    form = desk.window.forms["equipment.breakdown"]
    type_into(qtbot, form, {"equipment_id": "EX01", "started_at": "2026-11-20T08:15:00+00:00",
                            "cause": "hydraulic hose burst", "fault_code": "HYD-114"})
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    model = desk.window.models["equipment.breakdown"]
    assert model.rowCount() == 1
    assert model.data(model.index(0, model.columnCount() - 1)) == "pending"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.FontRole).italic()
    assert desk.window.outbox.text() == "outbox: 1"
    desk.close()


def test_kpi_dashboard_works_offline_and_exports(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    add_demo_data(desk.store, actor="supervisor", days=7)
    desk.window.refresh_tables()
    desk.window.show_module("KPI dashboard")
    kpis = desk.window.kpis
    kpis.set_period(date.today() - timedelta(days=30), date.today())
    assert [r.group for r in kpis.rows] == ["DT01", "DT02", "DZ01", "EX01"]
    assert kpis.model.rowCount() == 4 and kpis.model.cell(0, 4).endswith("%")
    kpis.group_by.setCurrentText("class")
    assert [r.group for r in kpis.rows] == ["dozer", "excavator", "truck"]
    kpis.export_csv(tmp_path / "k.csv")
    rows = list(csv.DictReader((tmp_path / "k.csv").open()))
    assert len(rows) == 3 and 0 < float(rows[0]["mechanical_availability"]) <= 1
    kpis.export_pdf(tmp_path / "k.pdf")
    assert (tmp_path / "k.pdf").read_bytes()[:5] == b"%PDF-"
    desk.window.show_module("Rental hours")
    assert desk.window.rental.model.rowCount() == 2  # two rental units
    desk.window.show_module("Gateway vs logged hours")
    assert desk.window.gateway.model.rowCount() == 4 * 7 * 2
    desk.close()


def conflict_event(seq: int) -> Event:
    return Event(seq=seq, id=f"e{seq}", tenant_id="t-desk", site_id="north", type="sync.conflict.opened",
                 entity="sync.conflict", entity_id="C1", version=1, timestamp=datetime.now(UTC), correlation_id="m1",
                 payload={"entity": "equipment.rental_contract", "entity_id": "RC1", "mutation_id": "m1",
                          "device_id": "desk-1", "actor": "supervisor", "strategy": "client_override",
                          "status": "open", "needs_person": True, "base_version": 1, "server_version": 2,
                          "server_data": {"equipment_id": "DT01", "customer": "Kumba", "rate_per_hour": 300},
                          "client_op": "update", "client_payload": {"rate_per_hour": 340},
                          "fields": ["rate_per_hour"], "resolution": "held for a person",
                          "created_at": "2026-11-24T10:00:00+00:00"})


def test_resolve_a_conflict_side_by_side(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    desk.store.apply_events([conflict_event(1)])  # as the hub's stream delivers it
    desk.window.refresh_tables()
    inbox = desk.window.conflicts_inbox
    assert inbox.list.count() == 1 and desk.window.conflicts.text() == "conflicts waiting: 1"
    first = [inbox.side_model.cell(0, c) for c in range(3)]
    assert first == ["rate_per_hour", "300", "340"]  # the conflicting field first, both versions
    qtbot.mouseClick(inbox.keep_client, Qt.MouseButton.LeftButton)
    [resolution] = desk.store.query("sync.conflict_resolution")
    assert resolution.pending and resolution.state == {"conflict_id": "C1", "choice": "client"}
    assert inbox.list.count() == 0  # resolved here, waiting for the hub
    assert desk.store.outbox_depth() == 1
    desk.close()


def test_status_bar_shows_drain_and_backfill_progress(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from shared.sync import SyncState

    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    desk.window.show()
    win = desk.window
    win.show_sync_state(SyncState(online=True, outbox_depth=50_000))
    win.show_sync_state(SyncState(online=True, outbox_depth=20_000))
    assert win.progress.isVisible() and win.progress.value() == 30_000 and win.outbox.text() == "outbox: 20000"
    win.show_sync_state(SyncState(online=True, outbox_depth=0, head_seq=90_000, cursor=30_000))
    assert win.progress.isVisible() and win.progress.maximum() == 90_000
    win.show_sync_state(SyncState(online=False, last_error="hub unreachable"))
    assert not win.progress.isVisible() and win.online.text() == "offline: hub unreachable"
    desk.close()


def test_filter_bar_filters_the_table(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    add_demo_data(desk.store, actor="supervisor", days=2)
    desk.window.refresh_tables()
    bar = desk.window.filters["equipment.usage_log"]
    bar.column.setCurrentIndex(bar.column.findData("source"))
    qtbot.keyClicks(bar.value, "telematics")
    qtbot.keyClick(bar.value, Qt.Key.Key_Return)
    model = desk.window.models["equipment.usage_log"]
    assert model.rowCount() == 4 * 2 * 2 and model.total == 16
    bar.value.clear()
    qtbot.keyClick(bar.value, Qt.Key.Key_Return)
    assert model.total == 32
    desk.close()


def test_idle_counting_is_a_per_site_setting_that_changes_the_kpis(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from desktop.kpi_view import site_configs

    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    desk.store.enqueue("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"}, actor="s")
    desk.store.enqueue("equipment.usage_log", "L1", "create", {
        "equipment_id": "DT01", "shift_date": date.today().isoformat(), "shift": "day", "operating_hours": 6,
        "idle_hours": 2, "standby_hours": 4}, actor="s")
    kpis = desk.window.kpis
    kpis.refresh()
    assert kpis.rows[0].values["use_of_availability"] == 0.5  # 6 / (6 + 2 + 4)
    kpis.idle_as.setCurrentText("operating")
    assert kpis.rows[0].values["use_of_availability"] == 8 / 12
    assert site_configs(desk.store)["north"].idle_counts_as == "operating"
    desk.close()


def refusal_event(seq: int, conflict_id: str, claim: str, hub_says: bool) -> Event:
    """A consume-once refusal as the hub's push writes it (hub/sync/apply.py `_refuse`)."""
    movement = {"kind": "transfer_in" if claim == "transfer_receipt" else "receipt", "store_id": "store-workshop",
                "item_id": "FILTER", "quantity": 2}
    return Event(seq=seq, id=f"e{seq}", tenant_id="t-desk", site_id="north", type="sync.conflict.opened",
                 entity="sync.conflict", entity_id=conflict_id, version=1, timestamp=datetime.now(UTC),
                 correlation_id=f"m{seq}",
                 payload={"kind": "consume_once", "claim": claim, "document": "transfer:T1", "entity":
                          "inventory.movement", "entity_id": f"MV{seq}", "mutation_id": f"m{seq}",
                          "device_id": "desk-2", "actor": "storeman", "strategy": "manual", "status": "open",
                          "needs_person": True, "base_version": 0, "server_version": 0,
                          "reason": "transfer T1 was already received", "server_data": {"received": 2},
                          "client_op": "create", "client_payload": movement, "fields": [], "dependents": [],
                          "can_book_anyway": hub_says, "resolution": "not booked: a person decides",
                          "created_at": f"2026-11-24T10:0{seq}:00+00:00"})


def test_book_anyway_is_disabled_with_the_reason_for_a_transfer_received_twice(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    # the second says "yes" in the record, but the shared rule is the word: a transfer arrives once
    desk.store.apply_events([refusal_event(1, "C1", "transfer_receipt", False),
                             refusal_event(2, "C2", "transfer_receipt", True),
                             refusal_event(3, "C3", "po_line_receipt", True)])
    desk.window.refresh_tables()
    desk.window.show_module("Conflicts inbox")
    inbox = desk.window.conflicts_inbox
    assert [c.entity_id for c in inbox.conflicts] == ["C1", "C2", "C3"]
    for row in (0, 1):
        inbox.list.setCurrentRow(row)
        assert inbox.keep_client.text() == "Book it anyway" and not inbox.keep_client.isEnabled()
        assert "transfer arrives once" in inbox.keep_client.toolTip() and "stock count" in inbox.keep_client.toolTip()
        assert inbox.keep_server.isEnabled()
        qtbot.mouseClick(inbox.keep_client, Qt.MouseButton.LeftButton)
        assert inbox.resolve("client") is None  # not by code either
    assert desk.store.query("sync.conflict_resolution") == []
    inbox.list.setCurrentRow(2)  # a second PO receipt can be real goods: a person may book it
    assert inbox.keep_client.isEnabled() and inbox.keep_client.toolTip() == ""
    qtbot.mouseClick(inbox.keep_client, Qt.MouseButton.LeftButton)
    [resolution] = desk.store.query("sync.conflict_resolution")
    assert resolution.state == {"conflict_id": "C3", "choice": "client"}
    inbox.list.setCurrentRow(0)
    qtbot.mouseClick(inbox.keep_server, Qt.MouseButton.LeftButton)  # keeping what was booked always works
    assert sorted((r.state or {})["conflict_id"] for r in desk.store.query("sync.conflict_resolution")) == [
        "C1", "C3"]
    desk.close()


def test_a_change_the_hub_refused_is_shown_with_the_reason_and_what_was_typed(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The push loop moves a refused change out of the outbox so the queue goes on; the person must still see it.
    from shared.envelopes import Outcome, OutcomeStatus

    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    form = desk.window.forms["equipment.breakdown"]
    type_into(qtbot, form, {"equipment_id": "DT01", "started_at": "2026-11-20T06:00:00+08:00",
                            "cause": "hydraulic hose burst"})
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    [pending] = desk.store.connection.execute("SELECT id, device_seq FROM outbox").fetchall()
    assert desk.window.refused.text() == ""
    desk.store.apply_outcomes([Outcome(mutation_id=pending[0], device_seq=pending[1], status=OutcomeStatus.REJECTED,
                                       code="forbidden", message="supervisor may not create breakdowns at north")])
    desk.window.refresh_counts()
    assert desk.store.outbox_depth() == 0
    assert desk.window.refused.text() == "refused by the hub: 1"
    desk.window.show_module("Refused by the hub")
    screen = desk.window.rejected
    assert screen.model.rowCount() == 1 and "1 change(s) refused" in screen.summary.text()
    [row] = screen.model.rows
    assert row.cells[1] == f"equipment.breakdown {desk.store.rejections()[0]['entity_id']}"
    assert row.cells[3] == "forbidden: supervisor may not create breakdowns at north" and row.needs_review
    screen.view.selectRow(0)
    assert "hydraulic hose burst" in screen.detail.text() and "typed by supervisor" in screen.detail.text()
    desk.close()
