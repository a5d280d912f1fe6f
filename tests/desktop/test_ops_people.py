"""People screens (issue 14) driven through the real widgets on a real encrypted store (offline)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from shared.domain.shifts import ShiftPattern
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
    storeman = open_ops(tmp_path / "desk.db", actor="sam", roles=frozenset({"storeman"}))
    qtbot.addWidget(storeman.window)
    assert "People" not in storeman.window.ops
    assert not storeman.window.nav.findItems("People", Qt.MatchFlag.MatchExactly)
    storeman.close()
    # The crew's supervisor approves attendance and decides reconciliation lines, but keeps off the master data.
    supervisor = open_ops(tmp_path / "desk.db", actor="sue", roles=frozenset({"supervisor"}))
    qtbot.addWidget(supervisor.window)
    assert supervisor.window.ops["People"].form is None and supervisor.window.ops["Leave"].form is None
    assert supervisor.window.ops["Attendance"].form is not None
    assert supervisor.window.ops["Hours reconciliation"].form is not None
    supervisor.close()
    manager = open_ops(tmp_path / "desk.db", actor="max", roles=frozenset({"site_manager"}))
    qtbot.addWidget(manager.window)
    assert manager.window.ops["People"].form is None  # reads hr.*, may not write it
    manager.close()


def _attendance_desk(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [
        ("hr.employee", "emp-anna", ANNA),
        ("hr.employee", "emp-ben", {**ANNA, "number": "E101", "name": "Ben Cole"}),
        ("hr.employee", "emp-cara", {**ANNA, "number": "E102", "name": "Cara Diaz"}),
        # Sydney's clocks fall back at 03:00 on 5 April 2026: the night from the 4th is 13 h long.
        ("hr.roster_assignment", "emp-anna:2026-04-04", {"employee_id": "emp-anna", "shift_date": "2026-04-04",
                                                         "kind": "night", "source": "generated"}),
        ("hr.roster_assignment", "emp-ben:2026-04-04", {"employee_id": "emp-ben", "shift_date": "2026-04-04",
                                                        "kind": "day", "source": "generated"}),
    ])
    desk.window.show_module("Attendance")
    screen = desk.window.ops["Attendance"]
    screen.pattern = ShiftPattern("Australia/Sydney")
    screen.day.setText("2026-04-04")
    screen.refresh()
    return desk, screen


def _row(screen, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    return next(r.cells for r in screen.model.rows if r.cells[0].endswith(name))


def test_a_13_hour_night_shows_lateness_and_only_time_past_its_real_end_as_overtime(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = _attendance_desk(qtbot, tmp_path)
    form = screen.form
    type_into(qtbot, form, {"employee_id": "E100", "shift_date": "2026-04-04", "shift": "night",
                            "clock_in": "2026-04-04T18:10", "clock_out": "2026-04-05T07:00"})
    click(qtbot, form.save_button)
    type_into(qtbot, form, {"employee_id": "E102", "shift_date": "2026-04-04", "shift": "day",
                            "clock_in": "2026-04-04T06:00", "clock_out": "2026-04-04T15:00"})
    click(qtbot, form.save_button)
    assert desk.store.outbox_depth() == 2
    # 18:10 AEDT to 07:00 AEST is 13 h 50 min; the rostered night ends 06:00 AEST, so 1 h overtime, 10 min late.
    assert _row(screen, "Anna Byrne")[1:9] == ["night", "night", "2026-04-04 18:10", "2026-04-05 07:00", "13.83",
                                               "10", "0", "1.00"]
    # Not rostered: worked hours only, nothing to be late for.
    assert _row(screen, "Cara Diaz")[2:9] == ["no roster", "2026-04-04 06:00", "2026-04-04 15:00", "9.00", "", "",
                                              ""]
    assert _row(screen, "Ben Cole")[9] == "absent"  # rostered on days, never clocked, no leave
    [anna] = [r for r in screen.model.rows if r.cells[0].endswith("Anna Byrne")]
    [saved] = desk.store.query("hr.attendance", where={"employee_id": "emp-anna"})
    assert anna.needs_review and (saved.state or {})["clock_in"] == "2026-04-04T18:10:00+11:00"
    assert "2 clocked, 1 absent" in screen.summary.text()
    desk.close()


def test_clock_out_before_clock_in_is_refused_beside_clock_out_and_keeps_what_was_typed(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = _attendance_desk(qtbot, tmp_path)
    form = screen.form
    typed = {"employee_id": "E100", "shift_date": "2026-04-04", "shift": "night", "clock_in": "2026-04-04T18:00",
             "clock_out": "2026-04-04T06:00", "notes": "forgot the date"}
    type_into(qtbot, form, typed)
    click(qtbot, form.save_button)
    assert "must be after clock-in" in form.errors["clock_out"].text()
    assert {n: form.inputs[n].text() for n in typed} == typed and desk.store.outbox_depth() == 0
    # Clocked in now, out later: the clock-out alone completes the row and is checked against its clock-in.
    form.inputs["clock_out"].clear()
    click(qtbot, form.save_button)
    assert desk.store.outbox_depth() == 1 and _row(screen, "Anna Byrne")[5] == "on shift"
    out = {"employee_id": "E100", "shift_date": "2026-04-04", "shift": "night", "clock_out": "2026-04-04T17:00"}
    type_into(qtbot, form, out)
    click(qtbot, form.save_button)
    assert "must be after clock-in" in form.errors["clock_out"].text()
    assert form.inputs["clock_out"].text() == "2026-04-04T17:00" and desk.store.outbox_depth() == 1
    type_into(qtbot, form, {"clock_out": "2026-04-05T06:00"})
    click(qtbot, form.save_button)
    assert form.errors["clock_out"].text() == "" and desk.store.outbox_depth() == 2
    assert len(desk.store.query("hr.attendance")) == 1  # completed in place
    assert _row(screen, "Anna Byrne")[5:9] == ["13.00", "0", "0", "0.00"]
    desk.close()


def test_an_unknown_employee_number_is_refused_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = _attendance_desk(qtbot, tmp_path)
    type_into(qtbot, screen.form, {"employee_id": "E999", "shift_date": "2026-04-04", "shift": "day",
                                   "clock_in": "2026-04-04T06:00"})
    click(qtbot, screen.form.save_button)
    assert "no employee with number E999" in screen.form.errors["employee_id"].text()
    assert desk.store.outbox_depth() == 0
    desk.close()


def _leave_desk(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [
        ("hr.employee", "emp-anna", {**ANNA, "hire_date": "2025-07-16"}),
        ("hr.leave_type", "lt-al", {"code": "AL", "name": "Annual leave", "days_per_month": 1.5,
                                    "carry_over_cap": 5}),
        ("hr.leave_request", "lr-feb", {"employee_id": "emp-anna", "leave_type": "AL", "start_date": "2026-02-02",
                                        "end_date": "2026-02-04", "days": 3, "status": "approved"}),
    ])
    desk.window.show_module("Leave")
    return desk, desk.window.ops["Leave"]


def test_the_leave_form_shows_the_balance_carried_capped_and_accrued_for_the_chosen_type(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = _leave_desk(qtbot, tmp_path)
    type_into(qtbot, screen.form, {"employee_id": "E100", "leave_type": "AL", "start_date": "2026-03-10"})
    # 2025 from 16 July: 1.5 x 16/31 = 0.77 + 5 x 1.5 = 8.27, capped to 5 at year end; 2026 to 10 March: Jan and
    # Feb credited (3.00); February's 3 approved days booked: 5.00 available.
    assert screen.balance.text() == ("AL balance on 2026-03-10: 5.00 days (carried in 5.00, accrued 3.00, "
                                     "booked 3.00)")
    type_into(qtbot, screen.form, {"leave_type": "XX"})
    assert "Type an employee number and a leave type" in screen.balance.text()
    desk.close()


def test_overlapping_leave_and_leave_over_the_balance_are_refused_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = _leave_desk(qtbot, tmp_path)
    form = screen.form
    typed = {"employee_id": "E100", "leave_type": "AL", "start_date": "2026-02-04", "end_date": "2026-02-05",
             "reason": "family"}
    type_into(qtbot, form, typed)
    click(qtbot, form.save_button)
    assert "overlaps leave lr-feb" in form.errors["start_date"].text()
    assert {n: form.inputs[n].text() for n in typed} == typed and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"start_date": "2026-03-10", "end_date": "2026-03-16"})  # 7 days, 5 available
    click(qtbot, form.save_button)
    assert "only 5.00 days available" in form.errors["end_date"].text() and form.errors["start_date"].text() == ""
    assert form.inputs["end_date"].text() == "2026-03-16" and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"end_date": "2026-03-14"})
    click(qtbot, form.save_button)
    assert form.errors["end_date"].text() == "" and desk.store.outbox_depth() == 2  # the leave and its approval
    [new] = [r for r in desk.store.query("hr.leave_request") if r.entity_id != "lr-feb"]
    assert new.pending and new.state is not None
    assert {k: new.state[k] for k in ("employee_id", "leave_type", "days", "status", "reason")} == {
        "employee_id": "emp-anna", "leave_type": "AL", "days": 5.0, "status": "requested", "reason": "family"}
    assert screen.model.rowCount() == 2
    type_into(qtbot, form, {"employee_id": "E100", "leave_type": "AL", "start_date": "2026-03-20"})
    assert "5.00 days" not in screen.balance.text() and "booked 8.00" in screen.balance.text()
    desk.close()


def test_a_site_manager_sees_leave_and_attendance_but_gets_no_forms(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="max", roles=frozenset({"site_manager"}))
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.employee", "emp-anna", ANNA),
                          ("hr.leave_request", "lr-1", {"employee_id": "emp-anna", "leave_type": "AL",
                                                        "start_date": "2026-02-02", "end_date": "2026-02-04",
                                                        "days": 3, "status": "approved"})])
    for title in ("Leave", "Attendance"):
        desk.window.show_module(title)
        assert desk.window.ops[title].form is None
    assert desk.window.ops["Leave"].model.cell(0, 0) == "E100 Anna Byrne"
    desk.close()


def _log(equipment: str, hours: float, source: str, operator: str | None = None) -> dict[str, object]:
    log: dict[str, object] = {"equipment_id": equipment, "shift_date": "2026-07-01", "shift": "day",
                              "operating_hours": hours, "source": source}
    return {**log, "operator": operator} if operator else log


def test_flagged_hours_are_reviewed_and_a_correction_needs_a_reason_and_paid_hours(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    shift = {"shift_date": "2026-07-01", "shift": "day", "clock_in": "2026-07-01T06:00:00+00:00",
             "clock_out": "2026-07-01T18:00:00+00:00", "source": "office", "status": "approved"}
    from_hub(desk.store, [
        ("hr.employee", "emp-anna", ANNA), ("hr.employee", "emp-ben", {**ANNA, "number": "E101", "name": "Ben Cole"}),
        ("hr.employee", "emp-cara", {**ANNA, "number": "E102", "name": "Cara Diaz"}),
        ("hr.attendance", "at-anna", {**shift, "employee_id": "emp-anna"}),
        ("hr.attendance", "at-ben", {**shift, "employee_id": "emp-ben"}),
        ("equipment.usage_log", "u1", _log("DT01", 10, "manual", "E100")),
        ("equipment.usage_log", "u2", _log("DT01", 8, "telematics")),
        ("equipment.usage_log", "u3", _log("EX02", 6, "manual", "Ben Cole")),
        ("equipment.usage_log", "u4", _log("EX02", 6.2, "telematics")),  # 0.2 h off: within 0.5
        ("equipment.usage_log", "u5", _log("LD03", 5, "manual", "E102")),  # Cara never clocked in
    ])
    desk.window.show_module("Hours reconciliation")
    screen = desk.window.ops["Hours reconciliation"]
    screen.day.setText("2026-07-01")
    screen.refresh()
    assert [(r.cells[0], r.cells[6], r.cells[7]) for r in screen.model.rows] == [
        ("E100 Anna Byrne", "logged_vs_gateway", "open"), ("E102 Cara Diaz", "no_attendance", "open")]
    assert all(r.needs_review for r in screen.model.rows)
    assert screen.model.rows[0].cells[3:6] == ["8.00", "10.00", "12.00"]
    # Payroll waits for every flagged line of the period to be decided.
    assert screen.export_button is not None
    screen.period_start.setText("2026-07-01")
    screen.period_end.setText("2026-07-01")
    screen.export_folder = tmp_path / "exports"
    click(qtbot, screen.export_button)
    assert "2 reconciliation line(s) still open" in screen.export_status.text()
    assert not list(screen.export_folder.glob("*.csv"))
    form = screen.form
    click(qtbot, form.save_button)  # no line chosen
    assert form.errors["decision"].text() and desk.store.outbox_depth() == 0
    assert screen.select("emp-anna:2026-07-01:day")
    type_into(qtbot, form, {"decision": "correct"})
    click(qtbot, form.save_button)
    assert form.errors["reason"].text() == "say why (it is audited)" and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"reason": "DT01 hour meter faulty"})
    click(qtbot, form.save_button)
    assert form.errors["paid_hours"].text() == "enter the hours to pay" and desk.store.outbox_depth() == 0
    assert form.inputs["reason"].text() == "DT01 hour meter faulty"  # kept
    type_into(qtbot, form, {"paid_hours": "9.5"})
    click(qtbot, form.save_button)
    assert desk.store.outbox_depth() == 1
    review = desk.store.get("hr.reconciliation_review", "emp-anna:2026-07-01:day")
    assert review is not None and review.pending and review.state is not None
    assert {k: review.state[k] for k in ("decision", "paid_hours", "gateway_hours", "logged_hours", "flags",
                                         "decided_by")} == {
        "decision": "corrected", "paid_hours": 9.5, "gateway_hours": 8.0, "logged_hours": 10.0,
        "flags": ["logged_vs_gateway"], "decided_by": "hana"}
    anna = screen.model.rows[0]
    assert anna.cells[7:10] == ["corrected", "9.50", "DT01 hour meter faulty"] and not anna.needs_review
    assert screen.select("emp-cara:2026-07-01:day")
    type_into(qtbot, form, {"decision": "reject", "reason": "not on site that day"})
    click(qtbot, form.save_button)
    assert desk.store.outbox_depth() == 2 and "0 open" in screen.summary.text()
    click(qtbot, screen.export_button)
    path = screen.export_folder / "payroll-2026-07-01..2026-07-01.csv"
    assert screen.export_status.text() == f"Payroll written to {path}"
    # Anna: corrected to 9.5 h; Ben: within the threshold, his 12 clocked hours as they stand; Cara: rejected, 0.
    lines = path.read_text().splitlines()
    assert lines[0] == "period,employee_number,employee_name,kind,code,quantity,unit,multiplier,rate_cents,amount_cents"
    ordinary = [ln for ln in lines[1:] if ",hours,ORD," in ln]
    assert ordinary == ["2026-07-01..2026-07-01,E100,Anna Byrne,hours,ORD,9.50,h,,,",
                        "2026-07-01..2026-07-01,E101,Ben Cole,hours,ORD,12.00,h,,,",
                        "2026-07-01..2026-07-01,E102,Cara Diaz,hours,ORD,0.00,h,,,"]
    first = path.read_bytes()
    click(qtbot, screen.export_button)  # the same period again: the same file, byte for byte
    assert path.read_bytes() == first
    desk.close()


def _inbox_leave(days: int, last: str) -> list[tuple[str, str, dict[str, object]]]:
    leave = {"employee_id": "emp-anna", "leave_type": "AL", "start_date": "2026-03-02", "end_date": last,
             "days": days, "status": "requested", "approval_request_id": "leave:lr-1"}
    return [("hr.employee", "emp-anna", {**ANNA, "user_id": "anna"}),
            ("hr.leave_type", "lt-al", {"code": "AL", "name": "Annual leave", "days_per_month": 1.5,
                                        "carry_over_cap": 5}),
            ("hr.leave_request", "lr-1", leave),
            ("approvals.request", "leave:lr-1", {"document_type": "leave", "document_id": "lr-1", "amount": days,
                                                 "requested_by": "anna", "title": f"AL leave 2026-03-02 to {last}"})]


def test_deciding_a_leave_in_the_inbox_moves_the_leave_s_status_in_the_same_save(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, _inbox_leave(3, "2026-03-04"))
    desk.window.show_module("Inbox")
    inbox = desk.window.ops["Inbox"]
    assert inbox.approvals.model().rowCount() == 1
    inbox.approvals.selectRow(0)
    qtbot.keyClicks(inbox.comment, "enjoy")
    click(qtbot, inbox.approve_button)
    assert "The leave request is approved." in inbox.message.text()
    leave = desk.store.get("hr.leave_request", "lr-1")
    assert leave is not None and leave.pending and leave.state is not None
    assert (leave.state["status"], leave.state["approved_by"]) == ("approved", "hana")
    [decision] = [r.state for r in desk.store.query("approvals.decision")]
    assert decision is not None and (decision["request_id"], decision["verdict"], decision["comment"]) == (
        "leave:lr-1", "approve", "enjoy")
    queued = [(m.entity, m.entity_id) for m in desk.store.outbox_batch() if m.entity != "notifications.notification"]
    assert queued == [("approvals.decision", decision_id(desk)), ("hr.leave_request", "lr-1")]  # one save, in order
    desk.close()


def decision_id(desk) -> str:  # type: ignore[no-untyped-def]
    [row] = desk.store.query("approvals.decision")
    return str(row.entity_id)


def test_the_inbox_refuses_a_leave_approval_over_the_balance_and_writes_nothing(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, _inbox_leave(10, "2026-03-11"))  # 5 carried + 3 accrued by 2 March: 8 available
    desk.window.show_module("Inbox")
    inbox = desk.window.ops["Inbox"]
    inbox.approvals.selectRow(0)
    click(qtbot, inbox.approve_button)
    assert "10 days requested, 8.00 available" in inbox.message.text() and "Approve below zero" in inbox.message.text()
    assert desk.store.query("approvals.decision") == []
    assert desk.store.get("hr.leave_request", "lr-1").state["status"] == "requested"  # type: ignore[union-attr]
    click(qtbot, inbox.reject_button)  # a rejection needs no balance
    assert desk.store.get("hr.leave_request", "lr-1").state["status"] == "rejected"  # type: ignore[union-attr]
    desk.close()
