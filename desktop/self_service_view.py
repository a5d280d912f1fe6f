"""My roster and leave (issue 14): what an operator signed in at the site office sees of the people records,
and only their own: their roster for the weeks ahead (with each shift's real hours in the site's zone), their
attendance with overtime past the roster and the hours the reconciliation accepted, their leave balance per
type, their leave requests, and a form to request leave for themselves (`self_service_forms`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.leave_balance import balance_on, leave_type, requests_of
from desktop.ops_screen import OpsScreen, table_view
from desktop.roster_rows import ROSTER
from desktop.self_service_forms import me, open_row, own_clock, own_leave_form
from desktop.site_settings_store import current_settings
from shared.domain.attendance import evaluate
from shared.domain.roster_generation import rostered_hours
from shared.domain.rosters import WORK_KINDS, assignment_id, rostered_shift
from shared.domain.shifts import ShiftPattern
from shared.errors import ValidationError
from shared.store import LocalStore

ROSTER_WEEKS = 4
ATTENDANCE_DAYS = 31


class SelfServiceScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.who = QLabel("")
        self.who.setObjectName("self_who")
        self.day = QLineEdit(datetime.now(current_settings(store).pattern.zone).date().isoformat())
        self.day.setObjectName("self_date")
        self.day.returnPressed.connect(self.refresh)
        self.roster = ComputedTableModel(["Date", "Rostered", "Hours"])
        self.attendance = ComputedTableModel(["Date", "Shift", "Clock in", "Clock out", "Worked h", "Overtime h",
                                              "Status", "Paid h (reconciled)"])
        self.leave = ComputedTableModel(["Type", "First day", "Last day", "Days", "Status"])
        self.balance = QLabel("")
        self.balance.setObjectName("self_balance")
        self.balance.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(self.who)
        left.addWidget(QLabel("From (Enter to show)"))
        left.addWidget(self.day)
        for title, model, name in ((f"My roster, {ROSTER_WEEKS} weeks", self.roster, "self_roster"),
                                   (f"My attendance, last {ATTENDANCE_DAYS} days", self.attendance,
                                    "self_attendance"), ("My leave", self.leave, "self_leave")):
            left.addWidget(QLabel(title))
            left.addWidget(table_view(model, f"table:{name}"), 1)
        left.addWidget(self.balance)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        right = QVBoxLayout()
        # Clocking themselves in and out at the office PC (D71): the time is the PC's clock, the row stays pending.
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.clock_button = QPushButton("Clock in now")
        self.clock_button.setObjectName("self_clock")
        self.clock_button.clicked.connect(self.clock)
        self.clock_message = QLabel("")
        self.clock_message.setObjectName("self_clock_message")
        self.clock_message.setWordWrap(True)
        right.addWidget(self.clock_button)
        right.addWidget(self.clock_message)
        self.form = own_leave_form(store, actor, roles)
        self.form.saved.connect(lambda _id: self.after_write())
        right.addWidget(self.form, 1)
        layout.addLayout(right, 2)
        self.refresh()

    def clock(self) -> bool:
        """Clock the signed-in person in, or out of the shift they are on; a refusal is shown beside the button."""
        settings = current_settings(self.store)
        try:
            draft = own_clock(self.store, self.actor, self.roles, self.now(), settings.pattern)
        except ValidationError as exc:
            self.clock_message.setText(exc.field_errors.get("clock") or str(exc))
            return False
        self.store.enqueue_many([draft])
        verb = "in" if "clock_in" in draft.payload else "out"
        stamp = str(draft.payload.get("clock_in") or draft.payload.get("clock_out"))
        self.clock_message.setText(f"Clocked {verb} at {stamp[11:16]}: pending until a supervisor approves it.")
        self.after_write()
        return True

    def refresh(self) -> None:
        person = me(self.store, self.actor)
        for model in (self.roster, self.attendance, self.leave):
            model.set_rows([])
        if person is None:
            self.who.setText(f"{self.actor}: your sign-in is not linked to an employee yet; ask HR.")
            self.balance.setText("")
            return
        employee_id, employee = person
        on_shift = open_row(self.store, employee_id)
        since = str((on_shift.state or {}).get("clock_in") or "")[11:16] if on_shift else ""
        self.clock_button.setText(f"Clock out (on shift since {since})" if on_shift else "Clock in now")
        self.who.setText(f"{employee.get('number', '')} {employee.get('name', '')} (signed in as {self.actor})")
        try:
            day = date.fromisoformat(self.day.text().strip())
        except ValueError:
            self.who.setText(self.who.text() + ". Type a date as YYYY-MM-DD.")
            return
        pattern = current_settings(self.store).pattern
        rows = []
        for offset in range(7 * ROSTER_WEEKS):
            d = day + timedelta(days=offset)
            record = self.store.get(ROSTER, assignment_id(employee_id, d))
            if record is None or record.deleted:
                continue
            kind = str((record.state or {}).get("kind"))
            hours = rostered_hours(pattern, d, kind)
            rows.append(ComputedRow(record.entity_id, [d.isoformat(), kind, f"{hours:.2f}" if hours else ""],
                                    pending=record.pending))
        self.roster.set_rows(rows)
        self._attendance(employee_id, day, pattern)
        requests = requests_of(self.store, employee_id)
        self.leave.set_rows([ComputedRow(r.id, [r.leave_type, r.start.isoformat(), r.end.isoformat(),
                                                f"{(r.end - r.start).days + 1}", r.status]) for r in
                             sorted(requests, key=lambda r: r.start)])
        lines = []
        for record in self.store.query("hr.leave_type", order_by="code"):
            rule = leave_type(self.store, str((record.state or {}).get("code", "")))
            if rule is not None:
                b = balance_on(rule, employee, requests, day)
                lines.append(f"{rule.code}: {b.available:.2f} days available on {day}")
        self.balance.setText("; ".join(lines) or "No leave types yet.")

    def _attendance(self, employee_id: str, day: date, pattern: ShiftPattern) -> None:
        first = day - timedelta(days=ATTENDANCE_DAYS - 1)
        reviewed = {(str(s.get("shift_date")), str(s.get("shift"))): s.get("paid_hours")
                    for r in self.store.query("hr.reconciliation_review", where={"employee_id": employee_id})
                    if (s := r.state or {}) and s.get("decision") != "open"}
        rows = []
        for record in self.store.query("hr.attendance", where={"employee_id": employee_id}, order_by="clock_in"):
            s = record.state or {}
            shift_date = date.fromisoformat(str(s["shift_date"]))
            if not first <= shift_date <= day:
                continue
            clock_in = datetime.fromisoformat(str(s["clock_in"]))
            cells = [shift_date.isoformat(), str(s.get("shift")), f"{clock_in.astimezone(pattern.zone):%H:%M}", "",
                     "on shift", "", str(s.get("status") or "pending"), ""]
            if s.get("clock_out"):
                clock_out = datetime.fromisoformat(str(s["clock_out"]))
                roster = self.store.get(ROSTER, assignment_id(employee_id, shift_date))
                kind = str((roster.state or {}).get("kind")) if roster else ""
                result = evaluate(rostered_shift(pattern, shift_date, kind) if kind in WORK_KINDS else None,
                                  clock_in, clock_out)
                cells[3:6] = [f"{clock_out.astimezone(pattern.zone):%H:%M}", f"{result.worked_hours:.2f}",
                              f"{result.overtime_hours:.2f}"]
            paid = reviewed.get((shift_date.isoformat(), str(s.get("shift"))))
            cells[7] = "" if paid is None else f"{float(paid):.2f}"
            rows.append(ComputedRow(record.entity_id, cells, pending=record.pending))
        self.attendance.set_rows(rows)
