"""Operator self-service: an operator signed in at the desktop sees only their own roster, attendance, hours and
leave balance, requests leave and clocks in and out for themselves only; the hub refuses an operator's leave
request or clock-in for somebody else (and an operator approving their own), by the same shared own-records
rule."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from shared.envelopes import Op
from shared.ids import new_ulid
from shared.permissions import OWN_RECORDS, own_rule, own_write_refusal
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.desktop.test_ops_people import ANNA
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_identity_users import add_user
from tests.hub.test_push import db_fetch

OPERATOR = frozenset({"operator"})
OLGA = {**ANNA, "number": "E200", "name": "Olga Ruiz", "user_id": "olga", "hire_date": "2026-01-01"}
PETE = {**ANNA, "number": "E201", "name": "Pete Lee", "user_id": "pete", "hire_date": "2026-01-01"}
AL = {"code": "AL", "name": "Annual leave", "days_per_month": 1.5}


def _people() -> list[tuple[str, str, dict[str, object]]]:
    night = {"shift": "night", "source": "office", "status": "approved"}
    return [
        ("hr.site_settings", "north", {"time_zone": "America/Santiago", "day_start": "06:00",
                                       "night_start": "18:00", "threshold_hours": 0.5}),
        ("hr.employee", "emp-olga", OLGA), ("hr.employee", "emp-pete", PETE), ("hr.leave_type", "lt-al", AL),
        ("hr.roster_assignment", "emp-olga:2026-09-05", {"employee_id": "emp-olga", "shift_date": "2026-09-05",
                                                         "kind": "night", "source": "generated"}),
        ("hr.roster_assignment", "emp-pete:2026-09-05", {"employee_id": "emp-pete", "shift_date": "2026-09-05",
                                                         "kind": "day", "source": "generated"}),
        ("hr.attendance", "at-olga", {**night, "employee_id": "emp-olga", "shift_date": "2026-09-05",
                                      "clock_in": "2026-09-05T18:00:00-04:00",
                                      "clock_out": "2026-09-06T07:00:00-03:00"}),
        ("hr.attendance", "at-pete", {**night, "employee_id": "emp-pete", "shift_date": "2026-09-05", "shift": "day",
                                      "clock_in": "2026-09-05T06:00:00-04:00",
                                      "clock_out": "2026-09-05T18:00:00-04:00"}),
        ("hr.reconciliation_review", "emp-olga:2026-09-05:night", {
            "employee_id": "emp-olga", "shift_date": "2026-09-05", "shift": "night", "decision": "corrected",
            "paid_hours": 11.5, "reason": "meal break"}),
        ("hr.leave_request", "lr-pete", {"employee_id": "emp-pete", "leave_type": "AL", "start_date": "2026-09-10",
                                         "end_date": "2026-09-11", "days": 2, "status": "approved"}),
        ("hr.leave_request", "lr-olga", {"employee_id": "emp-olga", "leave_type": "AL", "start_date": "2026-09-14",
                                         "end_date": "2026-09-15", "days": 2, "status": "approved"}),
    ]


def _hub_people() -> list[tuple[str, str, dict[str, object]]]:
    """`_people` as HR's office sends them to a hub: each approved leave after its approval request and HR's
    decision on it (the hub books an approved leave only when its chain approved it, D68)."""
    rows = []
    for entity, entity_id, payload in _people():
        if entity == "hr.leave_request":
            days, person = payload["days"], str(payload["employee_id"]).removeprefix("emp-")
            rows += [("approvals.request", f"leave:{entity_id}", {
                         "document_type": "leave", "document_id": entity_id, "amount": days, "requested_by": person,
                         "requested_at": "2026-08-01T09:00:00+00:00"}),
                     ("approvals.decision", f"d-{entity_id}", {
                         "request_id": f"leave:{entity_id}", "level": 0, "verdict": "approve", "by": "hq",
                         "roles": ["hr"], "at": "2026-08-02T09:00:00+00:00", "amount": days})]
        rows.append((entity, entity_id, payload))
    return rows


def test_an_operator_sees_only_their_own_roster_attendance_hours_and_leave(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="olga", roles=OPERATOR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, _people())
    for hr_screen in ("People", "Attendance", "Leave", "Rosters", "Site settings"):
        assert hr_screen not in desk.window.ops
    assert desk.window.nav.findItems("My roster & leave", Qt.MatchFlag.MatchExactly)
    desk.window.show_module("My roster & leave")
    screen = desk.window.ops["My roster & leave"]
    screen.day.setText("2026-09-01")
    screen.refresh()
    assert screen.who.text() == "E200 Olga Ruiz (signed in as olga)"
    # Chile springs forward during her night of 5 September: 11 h rostered, 18:00 to 07:00 is 12 h worked, 1 h
    # past the roster's real end; the supervisor corrected the paid hours to 11.5.
    assert [r.cells for r in screen.roster.rows] == [["2026-09-05", "night", "11.00"]]
    screen.day.setText("2026-09-20")
    screen.refresh()
    assert [r.cells for r in screen.attendance.rows] == [["2026-09-05", "night", "18:00", "07:00", "12.00", "1.00",
                                                          "approved", "11.50"]]
    assert [r.cells for r in screen.leave.rows] == [["AL", "2026-09-14", "2026-09-15", "2", "approved"]]
    # January to August credited (8 x 1.5 = 12), her own 2 days booked (not Pete's): 10.00 on 20 September.
    assert screen.balance.text() == "AL: 10.00 days available on 2026-09-20"
    desk.close()


def test_an_operator_requests_leave_for_themselves_and_an_overlap_is_refused_beside_the_field(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    desk = open_ops(tmp_path / "desk.db", actor="olga", roles=OPERATOR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, _people())
    desk.window.show_module("My roster & leave")
    form = desk.window.ops["My roster & leave"].form
    assert "employee_id" not in form.inputs  # the person is who signed in, never typed
    typed = {"leave_type": "AL", "start_date": "2026-09-15", "end_date": "2026-09-16", "reason": "wedding"}
    type_into(qtbot, form, typed)
    click(qtbot, form.save_button)
    assert "overlaps leave lr-olga" in form.errors["start_date"].text()
    assert {n: form.inputs[n].text() for n in typed} == typed and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"start_date": "2026-09-10", "end_date": "2026-09-11"})  # Pete's dates: not hers
    click(qtbot, form.save_button)
    assert desk.store.outbox_depth() == 1
    [m] = desk.store.outbox_batch(10)
    assert m.entity == "hr.leave_request" and m.actor == "olga"
    assert {k: m.payload[k] for k in ("employee_id", "status", "days", "reason")} == {
        "employee_id": "emp-olga", "status": "requested", "days": 2.0, "reason": "wedding"}
    desk.close()


def test_a_sign_in_not_linked_to_an_employee_is_told_so_and_writes_nothing(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="nobody", roles=OPERATOR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, _people())
    desk.window.show_module("My roster & leave")
    screen = desk.window.ops["My roster & leave"]
    assert "not linked to an employee" in screen.who.text() and not screen.roster.rows
    type_into(qtbot, screen.form, {"leave_type": "AL", "start_date": "2026-10-01", "end_date": "2026-10-01"})
    click(qtbot, screen.form.save_button)
    assert "ask HR" in screen.form.errors["leave_type"].text() and desk.store.outbox_depth() == 0
    desk.close()


def test_the_own_records_rule_allows_only_the_persons_own_open_requests() -> None:
    rule = own_rule({"operator"}, "hr.leave_request")
    assert rule is OWN_RECORDS["operator"]["hr.leave_request"]
    assert own_rule({"operator", "hr"}, "hr.leave_request") is None  # HR's grant covers it: no row rule
    users = {"emp-olga": "olga", "emp-pete": "pete"}
    own = {"employee_id": "emp-olga", "leave_type": "AL", "start_date": "2026-10-01", "end_date": "2026-10-01",
           "status": "requested"}
    assert own_write_refusal(rule, "create", own, None, users, "olga") is None
    assert "not the employee signed in as olga" in str(own_write_refusal(
        rule, "create", {**own, "employee_id": "emp-pete"}, None, users, "olga"))
    assert "approved_by" in str(own_write_refusal(rule, "create", {**own, "approved_by": "olga"}, None, users,
                                                  "olga"))
    assert "status 'approved'" in str(own_write_refusal(rule, "update", {"status": "approved"}, own, users, "olga"))
    assert own_write_refusal(rule, "update", {"status": "cancelled"}, own, users, "olga") is None
    assert "only an approver" in str(own_write_refusal(rule, "update", {"status": "cancelled"},
                                                       {**own, "status": "approved"}, users, "olga"))
    assert "another person" in str(own_write_refusal(rule, "update", {"employee_id": "emp-pete"}, own, users,
                                                     "olga"))
    assert "not delete" in str(own_write_refusal(rule, "delete", {}, own, users, "olga"))


def test_the_hub_refuses_an_operators_leave_request_for_someone_else(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    tenant = f"t-self-{new_ulid()[-6:].lower()}"
    hq = open_ops(tmp_path / "hq.db", actor="hq", hub=live_hub, tenant=tenant, device="hq-1")
    for entity, entity_id, payload in _hub_people():
        hq.store.enqueue(entity, entity_id, Op.CREATE, payload, actor="hq")
    assert hq.bridge is not None
    hq.bridge.client.sync_once()
    assert hq.store.outbox_depth() == 0 and not hq.store.rejections()
    hq.close()
    add_user(live_hub.dsn, tenant, "olga", [("operator", "north")])
    desk = open_ops(tmp_path / "desk.db", actor="olga", roles=OPERATOR, hub=live_hub, tenant=tenant)
    qtbot.addWidget(desk.window)
    assert desk.bridge is not None
    desk.bridge.client.catch_up()
    desk.window.show_module("My roster & leave")
    form = desk.window.ops["My roster & leave"].form
    type_into(qtbot, form, {"leave_type": "AL", "start_date": "2026-10-05", "end_date": "2026-10-06"})
    click(qtbot, form.save_button)
    [own] = [m.entity_id for m in desk.store.outbox_batch(10)]
    # Around the form: a request for Pete, and her own request marked approved by herself.
    desk.store.enqueue("hr.leave_request", "lr-forged", Op.CREATE, {
        "employee_id": "emp-pete", "leave_type": "AL", "start_date": "2026-10-20", "end_date": "2026-10-20",
        "days": 1, "status": "requested"}, actor="olga")
    desk.store.enqueue("hr.leave_request", own, Op.UPDATE, {"status": "approved", "approved_by": "olga"},
                       actor="olga")
    desk.bridge.client.sync_once()
    refused = {r["entity_id"]: r for r in desk.store.rejections()}
    assert set(refused) == {"lr-forged", own}, refused
    assert all(r["code"] == "forbidden" for r in refused.values())
    assert "emp-pete is not the employee signed in as olga" in refused["lr-forged"]["message"]
    rows = {r["entity_id"]: r["status"] for r in db_fetch(
        live_hub.dsn, "SELECT entity_id, data->>'status' AS status FROM sync.records WHERE tenant_id = $1 AND "
                      "entity = 'hr.leave_request'", tenant)}
    assert rows == {"lr-pete": "approved", "lr-olga": "approved", own: "requested"}  # hers applied, as requested
    desk.close()


SANTIAGO = ZoneInfo("America/Santiago")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=SANTIAGO)


def test_an_operator_clocks_in_and_out_for_themselves_and_an_overlap_is_refused_beside_the_button(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    desk = open_ops(tmp_path / "desk.db", actor="olga", roles=OPERATOR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, _people())
    desk.window.show_module("My roster & leave")
    screen = desk.window.ops["My roster & leave"]
    assert screen.clock_button.text() == "Clock in now"
    screen.now = lambda: _at(5, 6, 2).astimezone(UTC)  # the PC's clock, in UTC: stored in the site's zone
    click(qtbot, screen.clock_button)
    [opened] = desk.store.outbox_batch(10)
    assert (opened.op, opened.entity) == (Op.CREATE, "hr.attendance")
    assert opened.payload == {"employee_id": "emp-olga", "shift_date": "2026-10-05", "shift": "day",
                              "clock_in": "2026-10-05T06:02:00-03:00", "source": "office", "status": "pending"}
    assert screen.clock_button.text() == "Clock out (on shift since 06:02)"
    assert "pending until a supervisor approves it" in screen.clock_message.text()
    screen.now = lambda: _at(5, 18, 10)
    click(qtbot, screen.clock_button)
    closed = desk.store.outbox_batch(10)[-1]
    assert (closed.op, closed.entity_id, closed.payload) == (Op.UPDATE, opened.entity_id,
                                                             {"clock_out": "2026-10-05T18:10:00-03:00"})
    screen.day.setText("2026-10-05")
    screen.refresh()
    assert screen.attendance.rows[-1].cells[:7] == ["2026-10-05", "day", "06:02", "18:10", "12.13", "12.13",
                                                    "pending"]  # no roster row that day: all of it past the roster
    # Clocking in again inside the shift just clocked: refused beside the button, nothing written.
    screen.now = lambda: _at(5, 18, 5)
    assert not screen.clock()
    assert "overlaps 2026-10-05 day" in screen.clock_message.text() and desk.store.outbox_depth() == 2
    # A clock-out before the clock-in (the PC's clock set back) is refused with the rule's words.
    screen.now = lambda: _at(6, 6, 0)
    assert screen.clock() and desk.store.outbox_depth() == 3
    screen.now = lambda: _at(6, 5, 0)
    assert not screen.clock()
    assert "is not after clock-in" in screen.clock_message.text() and desk.store.outbox_depth() == 3
    desk.close()


def test_the_own_records_rule_lets_an_operator_clock_only_themselves_and_never_approve() -> None:
    rule = own_rule({"operator"}, "hr.attendance")
    assert rule is OWN_RECORDS["operator"]["hr.attendance"]
    assert own_rule({"operator", "supervisor"}, "hr.attendance") is None  # the supervisor's grant covers it
    users = {"emp-olga": "olga", "emp-pete": "pete"}
    own = {"employee_id": "emp-olga", "shift_date": "2026-10-05", "shift": "day",
           "clock_in": "2026-10-05T06:00:00-03:00", "source": "office", "status": "pending"}
    assert own_write_refusal(rule, "create", own, None, users, "olga") is None
    assert own_write_refusal(rule, "update", {"clock_out": "2026-10-05T18:00:00-03:00"}, own, users, "olga") is None
    assert "not the employee signed in as olga" in str(own_write_refusal(
        rule, "create", {**own, "employee_id": "emp-pete"}, None, users, "olga"))
    assert "status 'approved'" in str(own_write_refusal(rule, "update", {"status": "approved"}, own, users, "olga"))
    assert "approved_by" in str(own_write_refusal(rule, "update", {"approved_by": "olga"}, own, users, "olga"))
    assert "only an approver" in str(own_write_refusal(rule, "update", {"clock_out": "2026-10-05T19:00:00-03:00"},
                                                       {**own, "status": "approved"}, users, "olga"))


def test_the_hub_books_an_operators_own_clock_in_and_refuses_one_for_someone_else(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                                  tmp_path: Path) -> None:
    tenant = f"t-clock-{new_ulid()[-6:].lower()}"
    hq = open_ops(tmp_path / "hq.db", actor="hq", hub=live_hub, tenant=tenant, device="hq-1")
    for entity, entity_id, payload in _hub_people():
        hq.store.enqueue(entity, entity_id, Op.CREATE, payload, actor="hq")
    assert hq.bridge is not None
    hq.bridge.client.sync_once()
    assert hq.store.outbox_depth() == 0 and not hq.store.rejections()
    hq.close()
    add_user(live_hub.dsn, tenant, "olga", [("operator", "north")])
    desk = open_ops(tmp_path / "desk.db", actor="olga", roles=OPERATOR, hub=live_hub, tenant=tenant)
    qtbot.addWidget(desk.window)
    assert desk.bridge is not None
    desk.bridge.client.catch_up()
    desk.window.show_module("My roster & leave")
    screen = desk.window.ops["My roster & leave"]
    screen.now = lambda: _at(5, 6, 0)
    assert screen.clock()
    [own] = [m.entity_id for m in desk.store.outbox_batch(10)]
    # Around the screen: Pete clocked in by Olga, and her own row approved by herself.
    desk.store.enqueue("hr.attendance", "at-forged", Op.CREATE, {
        "employee_id": "emp-pete", "shift_date": "2026-10-05", "shift": "day",
        "clock_in": "2026-10-05T06:00:00-03:00", "source": "office", "status": "pending"}, actor="olga")
    desk.store.enqueue("hr.attendance", own, Op.UPDATE, {"status": "approved", "approved_by": "olga"}, actor="olga")
    desk.bridge.client.sync_once()
    refused = {r["entity_id"]: r for r in desk.store.rejections()}
    assert set(refused) == {"at-forged", own}, refused
    assert all(r["code"] == "forbidden" for r in refused.values())
    assert "emp-pete is not the employee signed in as olga" in refused["at-forged"]["message"]
    rows = {r["entity_id"]: (r["employee_id"], r["status"]) for r in db_fetch(
        live_hub.dsn, "SELECT entity_id, data->>'employee_id' AS employee_id, data->>'status' AS status "
                      "FROM sync.records WHERE tenant_id = $1 AND entity = 'hr.attendance'", tenant)}
    assert rows == {"at-olga": ("emp-olga", "approved"), "at-pete": ("emp-pete", "approved"),
                    own: ("emp-olga", "pending")}  # hers booked, pending; nothing for Pete
    desk.close()
