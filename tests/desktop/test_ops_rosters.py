"""Site settings, roster generation/editing, attendance approval and allowances in the payroll file, driven
through the real widgets on a real encrypted store (offline), and two offices generating one roster against a
real hub."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.payroll_export import payroll_csv
from shared.domain.site_calendar import DEFAULT_THRESHOLD
from shared.envelopes import Op
from shared.ids import new_ulid
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.desktop.test_ops_people import ANNA
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch

HR = frozenset({"hr"})
FOURTEEN_SEVEN = [{"kind": "day", "days": 7}, {"kind": "night", "days": 7}, {"kind": "travel", "days": 1},
                  {"kind": "off", "days": 5}, {"kind": "travel", "days": 1}]
SANTIAGO = {"time_zone": "America/Santiago", "day_start": "06:00", "night_start": "18:00", "threshold_hours": 0.25}


def generate(qtbot, gen) -> None:  # type: ignore[no-untyped-def]
    """Click Generate and wait for its answer (it is written off the UI thread)."""
    click(qtbot, gen.save_button)
    assert gen.busy and not gen.save_button.isEnabled()
    qtbot.waitUntil(lambda: not gen.busy, timeout=30_000)


def _crews() -> list[tuple[str, str, dict[str, object]]]:
    return [("hr.rotation_pattern", "r-14-7", {"name": "14/7", "blocks": FOURTEEN_SEVEN}),
            ("hr.crew", "A", {"name": "Alpha", "rotation_id": "r-14-7", "rotation_anchor": "2026-08-24"}),
            ("hr.employee", "emp-anna", ANNA),
            ("hr.employee", "emp-ben", {**ANNA, "number": "E101", "name": "Ben Cole"})]


def test_site_settings_refuse_a_bad_zone_start_and_threshold_beside_each_field_then_drive_the_screens(
        qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    desk.window.show_module("Site settings")
    screen = desk.window.ops["Site settings"]
    assert "UTC" in screen.summary.text() and "defaults" in screen.summary.text()
    form = screen.settings_form
    assert form is not None and form.inputs["threshold_hours"].text() == "0.5"  # the defaults, prefilled
    type_into(qtbot, form, {"time_zone": "America/Santiagoo", "day_start": "25:00", "threshold_hours": "-1"})
    click(qtbot, form.save_button)
    assert "not an IANA time zone" in form.errors["time_zone"].text()
    assert "HH:MM" in form.errors["day_start"].text()
    assert form.errors["threshold_hours"].text() == "must be 0 or more hours"
    assert desk.store.outbox_depth() == 0 and form.inputs["time_zone"].text() == "America/Santiagoo"
    type_into(qtbot, form, {"time_zone": "America/Santiago", "day_start": "19:00", "threshold_hours": "0.25"})
    click(qtbot, form.save_button)
    assert "later in the day" in form.errors["night_start"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"day_start": "06:00"})
    click(qtbot, form.save_button)
    assert desk.store.outbox_depth() == 1
    saved = desk.store.get("hr.site_settings", "north")
    assert saved is not None
    assert {k: (saved.state or {})[k] for k in SANTIAGO} == SANTIAGO
    assert "America/Santiago" in screen.summary.text() and "0.25 h" in screen.summary.text()
    # A changed threshold alone is sent alone (field merge keeps the other office's zone edit).
    type_into(qtbot, form, {"threshold_hours": "0.75"})
    click(qtbot, form.save_button)
    assert desk.store.outbox_batch(10)[-1].payload == {"threshold_hours": 0.75}
    # The people screens read it: attendance in Santiago's time, the reconciliation's threshold the site's.
    desk.window.show_module("Attendance")
    assert desk.window.ops["Attendance"].pattern.time_zone == "America/Santiago"
    desk.window.show_module("Hours reconciliation")
    recon = desk.window.ops["Hours reconciliation"]
    recon.refresh()
    assert recon.threshold.text() == "0.75" and recon.threshold.isReadOnly()
    desk.close()


def test_generating_a_roster_shows_the_11_hour_dst_night_and_the_gaps_beside_the_crew(qtbot,  # type: ignore[no-untyped-def]
                                                                                      tmp_path: Path) -> None:
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.site_settings", "north", SANTIAGO), *_crews()])
    desk.window.show_module("Rosters")
    screen = desk.window.ops["Rosters"]
    gen = screen.generate_form
    assert gen is not None and screen.edit_form is not None
    type_into(qtbot, gen, {"crew_id": "Zulu", "start_date": "2026-08-31", "weeks": "2"})
    generate(qtbot, gen)
    assert gen.errors["crew_id"].text() == "no crew Zulu" and desk.store.outbox_depth() == 0
    type_into(qtbot, gen, {"crew_id": "alpha", "weeks": "0"})
    generate(qtbot, gen)
    assert "from 1 to 104" in gen.errors["weeks"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, gen, {"weeks": "2"})
    generate(qtbot, gen)
    assert desk.store.outbox_depth() == 28  # 2 people x 14 days
    # One crew alone leaves every day shift of its night week and its R&R uncovered: said beside the crew.
    assert gen.errors["crew_id"].text().startswith("roster gap: nobody is rostered on 2026-08-31 day")
    assert gen.inputs["crew_id"].text() == "alpha"  # kept for the next crew
    rows = {(r.cells[0], r.cells[1]): r for r in screen.model.rows}
    assert len(rows) == 28 and rows[("2026-09-05", "E100 Anna Byrne")].cells[3:5] == ["night", "11.00"]
    assert rows[("2026-09-06", "E100 Anna Byrne")].cells[4] == "12.00"
    assert rows[("2026-09-08", "E101 Ben Cole")].cells[3:6] == ["off", "", "generated"]
    assert rows[("2026-09-05", "E100 Anna Byrne")].pending
    gap_rows = [tuple(r.cells) for r in screen.gap_model.rows]
    assert ("2026-08-31", "day") in gap_rows and ("2026-09-05", "night") not in gap_rows
    # Generating again writes nothing.
    generate(qtbot, gen)
    assert desk.store.outbox_depth() == 28 and "Nothing to write" in gen.status.text()
    desk.close()


def test_a_hand_edit_survives_regeneration_and_an_edit_opening_a_gap_needs_a_second_save(qtbot,  # type: ignore[no-untyped-def]
                                                                                         tmp_path: Path) -> None:
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.site_settings", "north", SANTIAGO), *_crews()])
    desk.window.show_module("Rosters")
    screen = desk.window.ops["Rosters"]
    gen, edit = screen.generate_form, screen.edit_form
    type_into(qtbot, gen, {"crew_id": "A", "start_date": "2026-08-31", "weeks": "1"})
    generate(qtbot, gen)
    assert desk.store.outbox_depth() == 14
    type_into(qtbot, edit, {"employee_id": "E100", "shift_date": "2026-09-01", "kind": "holiday"})
    click(qtbot, edit.save_button)
    assert "must be one of" in edit.errors["kind"].text() and desk.store.outbox_depth() == 14
    type_into(qtbot, edit, {"kind": "leave", "notes": "funeral"})
    click(qtbot, edit.save_button)  # Ben still works that night: no gap
    assert edit.errors["kind"].text() == "" and desk.store.outbox_depth() == 15
    row = desk.store.get("hr.roster_assignment", "emp-anna:2026-09-01")
    assert row is not None and (row.state or {})["kind"] == "leave" and (row.state or {})["source"] == "edited"
    # Ben off too would leave the night of 1 September with nobody: refused once beside the kind.
    type_into(qtbot, edit, {"employee_id": "E101", "shift_date": "2026-09-01", "kind": "off", "notes": "sick"})
    click(qtbot, edit.save_button)
    assert edit.errors["kind"].text().startswith("roster gap: nobody is rostered on 2026-09-01 night")
    assert desk.store.outbox_depth() == 15 and edit.inputs["kind"].text() == "off"
    click(qtbot, edit.save_button)  # the same edit again: a person decided
    assert desk.store.outbox_depth() == 16
    assert ("2026-09-01", "night") in [tuple(r.cells) for r in screen.gap_model.rows]
    # The crew's anchor moves a week; regenerating changes the generated days and keeps both edits.
    desk.store.enqueue("hr.crew", "A", Op.UPDATE, {"rotation_anchor": "2026-08-31"}, actor="hana")
    type_into(qtbot, gen, {"crew_id": "A", "start_date": "2026-08-31", "weeks": "1"})
    generate(qtbot, gen)
    assert "2 hand-edited day(s) kept" in gen.status.text()
    assert (desk.store.get("hr.roster_assignment", "emp-anna:2026-09-01").state or {})["kind"] == "leave"
    assert (desk.store.get("hr.roster_assignment", "emp-ben:2026-09-01").state or {})["kind"] == "off"
    assert (desk.store.get("hr.roster_assignment", "emp-anna:2026-09-02").state or {})["kind"] == "day"
    desk.close()


def test_the_supervisor_approves_overtime_and_a_rejection_needs_a_reason(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="sue", roles=frozenset({"supervisor"}))
    qtbot.addWidget(desk.window)
    sydney = {**SANTIAGO, "time_zone": "Australia/Sydney"}
    from_hub(desk.store, [
        ("hr.site_settings", "north", sydney), ("hr.employee", "emp-anna", ANNA),
        ("hr.employee", "emp-ben", {**ANNA, "number": "E101", "name": "Ben Cole"}),
        ("hr.roster_assignment", "emp-anna:2026-04-04", {"employee_id": "emp-anna", "shift_date": "2026-04-04",
                                                         "kind": "night", "source": "generated"}),
        # The 13 h fall-back night clocked 18:00 to 07:00: 1 h past the roster's real end.
        ("hr.attendance", "at-anna", {"employee_id": "emp-anna", "shift_date": "2026-04-04", "shift": "night",
                                      "clock_in": "2026-04-04T18:00:00+11:00", "clock_out": "2026-04-05T07:00:00+10:00",
                                      "source": "office", "status": "pending"}),
        ("hr.attendance", "at-ben", {"employee_id": "emp-ben", "shift_date": "2026-04-04", "shift": "day",
                                     "clock_in": "2026-04-04T06:00:00+11:00", "source": "office",
                                     "status": "pending"}),
    ])
    desk.window.show_module("Attendance")
    screen = desk.window.ops["Attendance"]
    screen.day.setText("2026-04-04")
    screen.refresh()
    anna = screen.model.row_by_key("at-anna")
    assert anna is not None and anna.cells[5] == "14.00" and anna.cells[8] == "1.00" and anna.needs_review
    bar = screen.approval
    assert bar is not None
    click(qtbot, bar.approve_button)  # nothing chosen
    assert "choose an attendance row" in bar.error.text() and desk.store.outbox_depth() == 0
    assert screen.select("at-ben")
    click(qtbot, bar.approve_button)
    assert "still on shift" in bar.error.text() and desk.store.outbox_depth() == 0
    assert screen.select("at-anna")
    click(qtbot, bar.reject_button)
    assert bar.error.text() == "type why this attendance is rejected" and desk.store.outbox_depth() == 0
    click(qtbot, bar.approve_button)
    [m] = desk.store.outbox_batch(10)
    assert m.op == "update" and m.payload == {"status": "approved", "approved_by": "sue"}
    anna = screen.model.row_by_key("at-anna")
    assert anna is not None and anna.cells[9] == "approved" and not anna.needs_review
    click(qtbot, bar.approve_button)
    assert "already approved" in bar.error.text() and desk.store.outbox_depth() == 1
    desk.close()


def test_overlapping_attendance_for_one_person_is_refused_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.site_settings", "north", SANTIAGO), ("hr.employee", "emp-anna", ANNA)])
    desk.window.show_module("Attendance")
    screen = desk.window.ops["Attendance"]
    form = screen.form
    type_into(qtbot, form, {"employee_id": "E100", "shift_date": "2026-10-01", "shift": "day",
                            "clock_in": "2026-10-01T06:00", "clock_out": "2026-10-01T18:30"})
    click(qtbot, form.save_button)
    assert desk.store.outbox_depth() == 1
    typed = {"employee_id": "E100", "shift_date": "2026-10-01", "shift": "night", "clock_in": "2026-10-01T18:00"}
    type_into(qtbot, form, typed)
    click(qtbot, form.save_button)
    assert form.errors["clock_in"].text().startswith("overlaps 2026-10-01 day, clocked 2026-10-01 06:00 to")
    assert {n: form.inputs[n].text() for n in typed} == typed and desk.store.outbox_depth() == 1
    type_into(qtbot, form, {"clock_in": "2026-10-01T18:30"})
    click(qtbot, form.save_button)  # back to back is not an overlap
    assert form.errors["clock_in"].text() == "" and desk.store.outbox_depth() == 2
    # Still clocked in on that night: a clock-in for the next day's shift is refused until the clock-out.
    type_into(qtbot, form, {"employee_id": "E100", "shift_date": "2026-10-02", "shift": "day",
                            "clock_in": "2026-10-02T06:00"})
    click(qtbot, form.save_button)
    assert "still clocked in on 2026-10-01 night" in form.errors["clock_in"].text()
    assert desk.store.outbox_depth() == 2
    desk.close()


def test_allowances_and_the_sites_public_holiday_reach_the_payroll_file(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)
    qtbot.addWidget(desk.window)
    shift = {"shift": "night", "source": "office", "status": "approved"}
    from_hub(desk.store, [
        ("hr.site_settings", "north", {**SANTIAGO, "time_zone": "UTC"}), ("hr.employee", "emp-anna", ANNA),
        ("hr.attendance", "a24", {**shift, "employee_id": "emp-anna", "shift_date": "2026-12-24",
                                  "clock_in": "2026-12-24T18:00:00+00:00", "clock_out": "2026-12-25T06:00:00+00:00"}),
        ("hr.attendance", "a25", {**shift, "employee_id": "emp-anna", "shift_date": "2026-12-25",
                                  "clock_in": "2026-12-25T18:00:00+00:00", "clock_out": "2026-12-26T06:00:00+00:00"}),
    ])
    desk.window.show_module("Site settings")
    settings = desk.window.ops["Site settings"]
    hol, rule = settings.holiday_form, settings.allowance_form
    type_into(qtbot, hol, {"day": "2026-12-25", "name": "Navidad"})
    click(qtbot, hol.save_button)
    type_into(qtbot, hol, {"day": "2026-12-25", "name": "Navidad"})
    click(qtbot, hol.save_button)
    assert hol.errors["day"].text() == "already saved as typed"
    type_into(qtbot, rule, {"code": "ph150", "basis": "public_holiday_hours"})
    click(qtbot, rule.save_button)
    assert "e.g. 1.5" in rule.errors["multiplier"].text()
    type_into(qtbot, rule, {"multiplier": "1.5"})
    click(qtbot, rule.save_button)
    type_into(qtbot, rule, {"code": "NIGHT", "basis": "night_shift", "rate_cents": "4500"})
    click(qtbot, rule.save_button)
    assert desk.store.outbox_depth() == 3
    assert [r.cells[0] for r in settings.holidays.rows] == ["2026-12-25"]
    assert [r.cells[:4] for r in settings.rules.rows] == [["NIGHT", "", "night_shift", "4500"],
                                                          ["PH150", "", "public_holiday_hours", ""]]
    text = payroll_csv(desk.store, date(2026, 12, 21), date(2026, 12, 31), DEFAULT_THRESHOLD)
    allowance = [ln for ln in text.splitlines() if ",allowance," in ln]
    # Two nights at 45.00; the night that starts on the 25th is the holiday's: 12 h at 1.5.
    assert allowance == ["2026-12-21..2026-12-31,E100,Anna Byrne,allowance,NIGHT,2.00,ea,,4500,9000",
                         "2026-12-21..2026-12-31,E100,Anna Byrne,allowance,PH150,12.00,h,1.50,,"]
    desk.close()


def test_two_offices_generating_the_same_roster_offline_leave_one_row_per_person_and_day(  # type: ignore[no-untyped-def]
        qtbot, live_hub: HubProcess, tmp_path: Path) -> None:
    tenant = f"t-rost-{new_ulid()[-6:].lower()}"
    hq = open_ops(tmp_path / "hq.db", actor="hq", hub=live_hub, tenant=tenant, device="hq-1")
    for entity, entity_id, payload in [("hr.site_settings", "north", SANTIAGO), *_crews()]:
        hq.store.enqueue(entity, entity_id, Op.CREATE, payload, actor="hq")
    assert hq.bridge is not None
    hq.bridge.client.sync_once()
    assert hq.store.outbox_depth() == 0 and not hq.store.rejections()
    hq.close()
    desks = []
    for name in ("desk-1", "desk-2"):
        desk = open_ops(tmp_path / f"{name}.db", actor="hana", roles=HR, hub=live_hub, tenant=tenant, device=name)
        qtbot.addWidget(desk.window)
        assert desk.bridge is not None
        desk.bridge.client.catch_up()
        desk.window.show_module("Rosters")
        gen = desk.window.ops["Rosters"].generate_form
        type_into(qtbot, gen, {"crew_id": "A", "start_date": "2026-08-31", "weeks": "2"})
        generate(qtbot, gen)  # both offline: neither has seen the other's rows
        assert desk.store.outbox_depth() == 28
        desks.append(desk)
    for desk in desks:
        desk.bridge.client.sync_once()
    for desk in desks:
        desk.bridge.client.sync_once()
        assert desk.store.outbox_depth() == 0 and not desk.store.rejections()
    rows = db_fetch(live_hub.dsn, "SELECT entity_id, data->>'kind' AS kind FROM sync.records WHERE tenant_id = $1 "
                    "AND entity = 'hr.roster_assignment' AND NOT deleted", tenant)
    assert len(rows) == 28 and {r["entity_id"] for r in rows} == {
        f"{e}:2026-{m:02d}-{d:02d}" for e in ("emp-anna", "emp-ben") for m, d in
        [(8, 31)] + [(9, x) for x in range(1, 14)]}
    night = {r["entity_id"]: r["kind"] for r in rows}["emp-ben:2026-09-05"]
    assert night == "night"
    conflicts = db_fetch(live_hub.dsn, "SELECT data->>'status' AS status FROM sync.records WHERE tenant_id = $1 "
                         "AND entity = 'sync.conflict'", tenant)
    versions = db_fetch(live_hub.dsn, "SELECT max(version) AS v FROM sync.records WHERE tenant_id = $1 "
                        "AND entity = 'hr.roster_assignment'", tenant)
    # The second office's identical creates are already so at the hub (D61): no conflict record, no second
    # version, nothing waits for a person on either desktop.
    assert conflicts == [] and versions[0]["v"] == 1 and not any(d.store.conflicts() for d in desks)
    replicas = [{r.entity_id: r.state for r in d.store.query("hr.roster_assignment")} for d in desks]
    assert replicas[0] == replicas[1] and len(replicas[0]) == 28
    for desk in desks:
        desk.close()


def test_readers_see_rosters_and_site_settings_without_forms_and_the_supervisor_gets_the_approval(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    for actor, roles in (("max", frozenset({"site_manager"})), ("sue", frozenset({"supervisor"}))):
        desk = open_ops(tmp_path / f"{actor}.db", actor=actor, roles=roles)
        qtbot.addWidget(desk.window)
        from_hub(desk.store, [("hr.site_settings", "north", SANTIAGO), *_crews()])
        desk.window.show_module("Site settings")  # a screen recomputes when shown
        rosters, settings = desk.window.ops["Rosters"], desk.window.ops["Site settings"]
        assert rosters.generate_form is None and rosters.edit_form is None
        assert settings.settings_form is None and settings.holiday_form is None and settings.allowance_form is None
        assert "America/Santiago" in settings.summary.text()
        assert (desk.window.ops["Attendance"].approval is not None) == (actor == "sue")  # the site manager reads
        desk.close()
