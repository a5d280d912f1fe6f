"""The payroll result file imported from the hours reconciliation screen (offline, real widgets, real encrypted
store): a good file becomes one result per employee, the same file again changes nothing, a bad file reports
its lines and writes nothing, and another file for the period needs the explicit replace tick."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.desktop.test_ops_maintenance import click, from_hub, open_ops
from tests.desktop.test_ops_people import ANNA

HEADER = "period,employee_number,gross,deductions,net,hours_paid,leave_days_paid\n"
PERIOD = "2026-03-30..2026-04-05"


def _screen(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=frozenset({"hr"}))
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.employee", "emp-anna", ANNA),
                          ("hr.employee", "emp-ben", {**ANNA, "number": "E101", "name": "Ben Cole"})])
    desk.window.show_module("Hours reconciliation")
    return desk, desk.window.ops["Hours reconciliation"].payroll_import


def _import(qtbot, panel, path: Path, *, replace: bool = False) -> str:  # type: ignore[no-untyped-def]
    panel.path.setText(str(path))
    panel.replace.setChecked(replace)
    click(qtbot, panel.import_button)
    return str(panel.status.text())


def test_a_result_file_imports_once_and_the_same_file_again_changes_nothing(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, panel = _screen(qtbot, tmp_path)
    good = tmp_path / "week14.csv"
    good.write_text(HEADER + f"{PERIOD},E100,1500.00,300.00,1200.00,85.00,0\n{PERIOD},e101,900,100,800,60,1\n")
    assert _import(qtbot, panel, good) == f"{PERIOD}: 2 employees imported (2 new, 0 changed, 0 removed)"
    assert desk.store.outbox_depth() == 3  # the import record and two results
    ben = desk.store.get("hr.payroll_result", f"{PERIOD}:E101")
    assert ben is not None and ben.state is not None
    assert (ben.state["employee_id"], ben.state["gross"], ben.state["net"], ben.state["hours_paid"]) == (
        "emp-ben", "900.00", "800.00", "60.00")
    assert _import(qtbot, panel, good) == f"{PERIOD}: this file was already imported; nothing changed"
    assert desk.store.outbox_depth() == 3
    desk.close()


def test_bad_rows_are_reported_by_line_and_nothing_of_the_file_is_written(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, panel = _screen(qtbot, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"{PERIOD},E100,1500.00,300.00,1200.00,85.00,0\n{PERIOD},E999,1,0,1,1,0\n"
                   f"{PERIOD},E101,900,100,700,60,1\n")
    said = _import(qtbot, panel, bad)
    assert said.startswith("Not imported: 2 problem(s), nothing imported: line 3: employee number E999 is nobody's; "
                           "line 4: net 700.00 is not gross 900.00 less deductions 100.00")
    assert "b00020" in panel.status.styleSheet() and desk.store.outbox_depth() == 0
    assert _import(qtbot, panel, tmp_path / "missing.csv").startswith("Not imported: cannot read")
    desk.close()


def test_another_file_for_an_imported_period_is_refused_unless_replaced_explicitly(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, panel = _screen(qtbot, tmp_path)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(HEADER + f"{PERIOD},E100,1500.00,300.00,1200.00,85.00,0\n{PERIOD},E101,900,100,800,60,1\n")
    second.write_text(HEADER + f"{PERIOD},E100,1550.00,300.00,1250.00,86.00,0\n")
    _import(qtbot, panel, first)
    said = _import(qtbot, panel, second)
    assert "was already imported from another file" in said and "by hana" in said and "replace it explicitly" in said
    assert desk.store.outbox_depth() == 3
    assert _import(qtbot, panel, second, replace=True) == (
        f"{PERIOD}: 1 employees imported (0 new, 1 changed, 1 removed)")
    assert not panel.replace.isChecked()  # the tick is for one import only
    anna = desk.store.get("hr.payroll_result", f"{PERIOD}:E100")
    assert anna is not None and anna.state is not None and anna.state["net"] == "1250.00"
    ben = desk.store.get("hr.payroll_result", f"{PERIOD}:E101")
    assert ben is None or ben.deleted
    desk.close()
