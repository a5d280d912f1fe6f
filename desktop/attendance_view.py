"""Attendance for one date: every clocked row measured by the shared attendance rules against that person's
roster row (`hr.roster_assignment`) when there is one: worked hours, lateness, early leave, overtime; and
everyone rostered to work that date with no attendance and no approved leave, as an absence (red). Times are
the site's (`hr.site_settings`). Those who may write `hr.attendance` (the crew's supervisor, HR) approve or
reject the selected completed row (`attendance_approval`); a pending row with overtime past the roster is red."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from desktop.attendance_approval import ApprovalBar
from desktop.attendance_form import ATTENDANCE, attendance_form
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import OpsScreen, table_view
from desktop.people_checks import employee_names
from desktop.site_settings_store import current_settings
from shared.domain.attendance import Clocked, absences, evaluate
from shared.domain.leave import LeaveRequest, leave_dates
from shared.domain.rosters import WORK_KINDS, RosterDay, assignment_id, rostered_shift
from shared.domain.shifts import ShiftPattern
from shared.permissions import allows
from shared.store import LocalRecord, LocalStore

HEADERS = ["Employee", "Shift", "Rostered", "Clock in", "Clock out", "Worked h", "Late min", "Early leave min",
           "Overtime h", "Status"]


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)}" if seconds else "0"


class AttendanceScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self._pattern: ShiftPattern | None = None
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:hr.attendance")
        self.day = QLineEdit(datetime.now(self.pattern.zone).date().isoformat())
        self.day.setObjectName("attendance_date")
        self.day.returnPressed.connect(self.refresh)
        self.summary = QLabel("")
        left = QVBoxLayout()
        left.addWidget(QLabel("Date (Enter to show)"))
        left.addWidget(self.day)
        left.addWidget(self.view, 1)
        left.addWidget(self.summary)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        writer = allows(roles, "write", ATTENDANCE)
        self.approval = ApprovalBar(self) if writer else None
        if self.approval is not None:
            left.addWidget(self.approval)
        self.form = attendance_form(store, actor, lambda: self.pattern) if writer else None
        if self.form is not None:
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addWidget(self.form, 2)
        self.refresh()

    @property
    def pattern(self) -> ShiftPattern:
        """The site's zone and shift starts from its settings record, read each time (a sync may change them);
        a screen showing another site's office sets its own."""
        return self._pattern if self._pattern is not None else current_settings(self.store).pattern

    @pattern.setter
    def pattern(self, value: ShiftPattern) -> None:
        self._pattern = value

    def selected_key(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.rows[index.row()].key

    def select(self, key: str) -> bool:
        for row, r in enumerate(self.model.rows):
            if r.key == key:
                self.view.selectRow(row)
                return True
        return False

    def refresh(self) -> None:
        try:
            day = date.fromisoformat(self.day.text().strip())
        except ValueError:
            self.summary.setText("Type a date as YYYY-MM-DD.")
            self.model.set_rows([])
            return
        names = employee_names(self.store)
        pattern = self.pattern
        rows = []
        clocked = self.store.query(ATTENDANCE, where={"shift_date": day.isoformat()})
        for record in clocked:
            state = record.state or {}
            employee_id = str(state.get("employee_id"))
            roster = self.store.get("hr.roster_assignment", assignment_id(employee_id, day))
            kind = str((roster.state or {}).get("kind")) if roster else None
            clock_in = datetime.fromisoformat(str(state["clock_in"]))
            out_text = state.get("clock_out")
            cells = [names.get(employee_id, employee_id), str(state.get("shift", "")), kind or "no roster",
                     self._local(clock_in), "", "on shift", "", "", "", str(state.get("status") or "pending")]
            late = overtime = False
            if out_text:
                clock_out = datetime.fromisoformat(str(out_text))
                rostered = rostered_shift(pattern, day, kind) if kind in WORK_KINDS else None
                result = evaluate(rostered, clock_in, clock_out)
                cells[4], cells[5] = self._local(clock_out), f"{result.worked_hours:.2f}"
                if roster is not None:  # without a roster row there is nothing to be late for
                    cells[6] = _minutes(result.late.total_seconds())
                    cells[7] = _minutes(result.early_leave.total_seconds())
                    cells[8] = f"{result.overtime_hours:.2f}"
                    late = bool(result.late or result.early_leave)
                overtime = bool(result.overtime) and cells[9] == "pending"  # waits for the supervisor
            rows.append(ComputedRow(record.entity_id, cells, pending=record.pending, needs_review=late or overtime))
        rows.extend(self._absent(day, names, clocked, pattern))
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        absent = sum(1 for r in rows if r.cells[9] == "absent")
        waiting = sum(1 for r in rows if r.cells[9] == "pending")
        self.summary.setText(f"{len(rows) - absent} clocked, {absent} absent on {day}; {waiting} to approve "
                             f"({pattern.time_zone})")

    def _absent(self, day: date, names: dict[str, str], clocked: list[LocalRecord],
                pattern: ShiftPattern) -> list[ComputedRow]:
        present = [Clocked(str((r.state or {}).get("employee_id")), day) for r in clocked]
        out = []
        for roster in self.store.query("hr.roster_assignment", where={"shift_date": day.isoformat()}):
            state = roster.state or {}
            employee_id, kind = str(state.get("employee_id")), str(state.get("kind"))
            shift = rostered_shift(pattern, day, kind) if kind in WORK_KINDS else None
            leave = [LeaveRequest(r.entity_id, employee_id, str(s.get("leave_type")), date.fromisoformat(
                str(s["start_date"])), date.fromisoformat(str(s["end_date"])), str(s.get("status")))
                     for r in self.store.query("hr.leave_request", where={"employee_id": employee_id})
                     if (s := r.state or {})]
            if absences(employee_id, [RosterDay(day, kind, shift)], present, leave_dates(leave, employee_id)):
                out.append(ComputedRow(roster.entity_id, [names.get(employee_id, employee_id), kind, kind, "", "",
                                                          "0.00", "", "", "", "absent"],
                                       pending=roster.pending, needs_review=True))
        return out

    def _local(self, instant: datetime) -> str:
        return instant.astimezone(self.pattern.zone).strftime("%Y-%m-%d %H:%M")
