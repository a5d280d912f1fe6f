"""People screens (issue 14) driven through the real widgets on a real encrypted store (offline)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into

HR = frozenset({"hr"})

ANNA = {"number": "E100", "name": "Anna Byrne", "position": "Operator", "department": "Mining", "crew_id": "A",
        "hire_date": "2025-01-01", "status": "active"}


def test_hr_adds_an_employee_and_a_duplicate_number_is_refused_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.employee", "emp-anna", ANNA)])
    desk.window.show_module("People")
    screen = desk.window.ops["People"]
    assert screen.model.rowCount() == 1 and screen.form is not None
    form = screen.form
    type_into(qtbot, form, {"number": " e100 ", "name": "Ben Cole", "hire_date": "2026-03-01", "status": "active"})
    click(qtbot, form.save_button)
    assert "already Anna Byrne" in form.errors["number"].text()
    assert form.inputs["name"].text() == "Ben Cole" and desk.store.outbox_depth() == 0  # kept, nothing written
    type_into(qtbot, form, {"number": "E101", "status": "retired"})
    click(qtbot, form.save_button)
    assert "must be one of" in form.errors["status"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"status": "active", "position": "Fitter", "crew_id": "B"})
    click(qtbot, form.save_button)
    assert form.errors["number"].text() == "" and desk.store.outbox_depth() == 1
    assert screen.model.rowCount() == 2
    assert screen.select_number("E101")
    row = screen.view.currentIndex().row()
    model = screen.model
    assert [model.data(model.index(row, c)) for c in range(6)] == ["E101", "Ben Cole", "Fitter", "", "B", "active"]
    assert model.data(model.index(row, model.columnCount() - 1)) == "pending"
    desk.close()


def test_editing_an_employee_keeps_its_own_number_and_sends_only_what_changed(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.employee", "emp-anna", ANNA),
                          ("hr.employee", "emp-ben", {**ANNA, "number": "E101", "name": "Ben Cole"})])
    desk.window.show_module("People")
    screen = desk.window.ops["People"]
    form = screen.form
    assert screen.select_number("E100")
    assert form.inputs["name"].text() == "Anna Byrne" and form.editing == "emp-anna"
    type_into(qtbot, form, {"number": "E101"})  # Ben's number
    click(qtbot, form.save_button)
    assert "already Ben Cole" in form.errors["number"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"number": "E100", "crew_id": "C"})
    click(qtbot, form.save_button)
    assert form.errors["number"].text() == ""
    [mutation] = desk.store.outbox_batch(10)
    assert mutation.op == "update" and mutation.payload == {"crew_id": "C"}
    record = desk.store.get("hr.employee", "emp-anna")
    assert record is not None and record.pending and (record.state or {})["crew_id"] == "C"
    assert (record.state or {})["name"] == "Anna Byrne" and desk.store.outbox_depth() == 1
    assert len(desk.store.query("hr.employee")) == 2  # edited in place, not added
    desk.close()


def test_people_screen_is_only_for_roles_that_read_hr_and_the_form_only_for_writers(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    supervisor = open_ops(tmp_path / "desk.db", actor="sam", roles=frozenset({"supervisor"}))
    qtbot.addWidget(supervisor.window)
    assert "People" not in supervisor.window.ops
    assert not supervisor.window.nav.findItems("People", Qt.MatchFlag.MatchExactly)
    supervisor.close()
    manager = open_ops(tmp_path / "desk.db", actor="max", roles=frozenset({"site_manager"}))
    qtbot.addWidget(manager.window)
    assert manager.window.ops["People"].form is None  # reads hr.*, may not write it
    manager.close()
