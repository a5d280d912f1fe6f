"""Rosters (issue 14): the rostered days of a window (one crew or all), each with its real hours in the site's
zone (a DST night shows 11 or 13 h), and the shifts nobody covers in that window (red). HR and administrators
generate a crew's weeks from its rotation (off the UI thread: `roster_worker`) and change single days
(`roster_forms`); others read."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import OpsScreen, table_view
from desktop.people_checks import employee_names
from desktop.roster_forms import EditDayForm, GenerateForm
from desktop.roster_rows import ROSTER, window_records
from desktop.site_settings_store import current_settings
from shared.domain.roster_generation import gaps, rostered_hours
from shared.permissions import allows
from shared.store import LocalStore

HEADERS = ["Date", "Employee", "Crew", "Rostered", "Hours", "Source"]
MAX_SHOWN_WEEKS = 26


class RosterScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        today = datetime.now(current_settings(store).pattern.zone).date()  # the site's today, not the PC's
        self.crew, self.start, self.weeks = QLineEdit(""), QLineEdit(today.isoformat()), QLineEdit("4")
        bar = QHBoxLayout()
        for label, edit, name in (("Crew (empty: all)", self.crew, "roster_crew"), ("From", self.start,
                                                                                    "roster_from"),
                                  ("Weeks", self.weeks, "roster_weeks")):
            edit.setObjectName(name)
            edit.returnPressed.connect(self.refresh)
            bar.addWidget(QLabel(label))
            bar.addWidget(edit)
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:hr.roster_assignment")
        self.gap_model = ComputedTableModel(["Date", "Shift nobody covers"], sync_column=False)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        left = QVBoxLayout()
        left.addLayout(bar)
        left.addWidget(self.view, 3)
        left.addWidget(QLabel("Roster gaps in these weeks (every crew of the site)"))
        left.addWidget(table_view(self.gap_model, "table:roster_gaps"), 1)
        left.addWidget(self.summary)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.generate_form: GenerateForm | None = None
        self.edit_form: EditDayForm | None = None
        if allows(roles, "write", ROSTER):
            self.generate_form, self.edit_form = GenerateForm(store, actor), EditDayForm(store, actor)
            right = QVBoxLayout()
            self.generate_form.saved.connect(self._after_generate)
            # No single-day edit while a generation is being written: it could land between its read and write.
            self.generate_form.busy_changed.connect(self._generating)
            self.edit_form.saved.connect(lambda _id: self.after_write())
            for form in (self.generate_form, self.edit_form):
                right.addWidget(form)
            right.addStretch(1)
            layout.addLayout(right, 2)
        self.refresh()

    def _generating(self, busy: bool) -> None:
        if self.edit_form is not None:
            self.edit_form.setEnabled(not busy)

    def _after_generate(self, crew_id: str) -> None:
        """Show what was generated: the crew (by id, whatever name was typed) from the first generated date."""
        assert self.generate_form is not None and self.generate_form.last_window is not None
        start, weeks = self.generate_form.last_window
        self.crew.setText(crew_id)
        self.start.setText(start.isoformat())
        self.weeks.setText(str(min(weeks, MAX_SHOWN_WEEKS)))
        self.after_write()

    def date_window(self) -> tuple[date, date] | None:
        try:
            start, weeks = date.fromisoformat(self.start.text().strip()), int(self.weeks.text().strip())
        except ValueError:
            return None
        if not 1 <= weeks <= MAX_SHOWN_WEEKS:
            return None
        return start, start + timedelta(days=7 * weeks - 1)

    def refresh(self) -> None:
        window = self.date_window()
        if window is None:
            self.summary.setText(f"Type the first date as YYYY-MM-DD and 1 to {MAX_SHOWN_WEEKS} weeks.")
            self.model.set_rows([])
            self.gap_model.set_rows([])
            return
        start, end = window
        pattern = current_settings(self.store).pattern
        names = employee_names(self.store)
        records = window_records(self.store, start, end)
        rows = {row_id: state for row_id, (state, _p) in records.items()}
        crew = self.crew.text().strip()
        shown = []
        for row_id, (s, is_pending) in records.items():
            if crew and s.get("crew_id") != crew:
                continue
            day, kind = date.fromisoformat(str(s["shift_date"])), str(s.get("kind"))
            hours = rostered_hours(pattern, day, kind)
            shown.append(ComputedRow(row_id, [day.isoformat(), names.get(str(s.get("employee_id")),
                                                                         str(s.get("employee_id"))),
                                              str(s.get("crew_id") or ""), kind, f"{hours:.2f}" if hours else "",
                                              str(s.get("source") or "")], pending=is_pending))
        shown.sort(key=lambda r: (r.cells[0], r.cells[1]))
        self.model.set_rows(shown)
        found = gaps(rows.values(), start, end)
        self.gap_model.set_rows([ComputedRow(f"{d}:{name}", [d.isoformat(), name], needs_review=True)
                                 for d, name in found])
        self.summary.setText(f"{len(shown)} rostered day(s) {start} to {end} in {pattern.time_zone}; "
                             f"{len(found)} shift(s) nobody covers")
