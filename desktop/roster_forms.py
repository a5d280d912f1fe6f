"""The roster screen's two forms.

- Generate: a crew's roster N weeks ahead from its rotation in the site's zone (`roster_generation`): new rows
  created, rows the rotation now says otherwise updated, hand-edited rows left alone, in one transaction. The
  rows are the same on any PC, so two offices generating the same weeks converge. It runs off the UI thread
  (`roster_worker`, D62): the form shows what it is doing, refuses a second click until it is done and says a
  failure below the button (nothing written). The gaps the site's roster still has in those weeks are shown
  beside the crew field (the other crews usually fill them: generating is not refused for them) and the typed
  values stay for the next crew.
- Edit one day: a person's date to day/night/travel/off/leave, marked `edited`. An edit that would leave a
  shift of that date with nobody rostered is refused beside `kind` once ("roster gap"); saving the same edit
  again rosters it anyway (a person decided)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QProgressBar

from desktop.fields_form import FieldsForm
from desktop.people_checks import employee_id_for
from desktop.record_form import SAVED_HERE, person_draft_key
from desktop.roster_rows import ROSTER, window_rows
from desktop.roster_worker import Generated, GenerationRequest, RosterWorker
from shared.domain.roster_generation import gap_message, gaps, plan_edit
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import LocalStore, MutationDraft

BUSY = "A roster is being generated: wait for it to finish (this click changed nothing)."


def _date(values: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(str(values.get(name) or "").strip())
    except ValueError:
        raise ValidationError(f"{name} is not a date", {name: "must be a date (YYYY-MM-DD)"}) from None


class GenerateForm(FieldsForm):
    busy_changed = Signal(bool)

    def __init__(self, store: LocalStore, actor: str, opener: Callable[[], LocalStore] | None = None) -> None:
        self.actor = actor
        self._running = False  # from the click until its answer is shown (the thread ends a little earlier)
        self.last_gaps: list[tuple[date, str]] = []
        self.last_summary = ""
        self.last_window: tuple[date, int] | None = None  # (first date, weeks) of the last generation
        super().__init__(store, [("crew_id", "Crew *"), ("start_date", "From (YYYY-MM-DD) *"),
                                 ("weeks", "Weeks ahead *")],
                         draft_key=person_draft_key("form:roster.generate", actor), save_label="Generate roster")
        self.progress = QProgressBar()
        self.progress.setObjectName("roster_progress")
        self.progress.setRange(0, 0)  # one transaction: no count to show, only that it is working
        self.progress.setVisible(False)
        layout = self.layout()
        assert layout is not None  # FieldsForm's
        layout.addWidget(self.progress)
        self.worker = RosterWorker(opener or store.open_another)
        queued = Qt.ConnectionType.QueuedConnection  # emitted from the worker thread
        self.worker.progress.connect(self.status.setText, queued)
        self.worker.finished.connect(self._generated, queued)
        self.worker.failed.connect(self._failed, queued)

    @property
    def busy(self) -> bool:
        return self._running or self.worker.busy

    def save(self) -> str | None:
        """Start generating (None: the result arrives by `saved`); refused while a generation runs."""
        if self.busy:
            self.status.setText(BUSY)
            return None
        for label in self.errors.values():
            label.setText("")
        typed = {name: edit.text() for name, edit in self.inputs.items()}
        request = GenerationRequest(typed["crew_id"], typed["start_date"], typed["weeks"], self.actor)
        if not self.worker.start(request):
            self.status.setText(BUSY)
            return None
        self._set_busy(True)
        self.status.setText("Generating the roster…")
        return None

    def _set_busy(self, busy: bool) -> None:
        self._running = busy
        self.progress.setVisible(busy)
        self.save_button.setEnabled(not busy)
        for edit in self.inputs.values():
            edit.setReadOnly(busy)  # what is being generated stays what is shown
        self.busy_changed.emit(busy)

    def _generated(self, result: Generated) -> None:
        self._set_busy(False)
        self.store.delete_draft(self.draft_key)  # the typed values stay on screen for the next crew
        self.last_gaps, self.last_window, self.last_summary = result.gaps, (result.start, result.weeks), result.summary
        done = SAVED_HERE if result.written else "Nothing to write: the roster is already generated."
        self.status.setText(f"{done} {result.summary}")
        self.errors["crew_id"].setText(gap_message(result.gaps))
        self.saved.emit(result.crew_id)

    def _failed(self, exc: Exception) -> None:
        self._set_busy(False)
        if isinstance(exc, ValidationError):
            self.show_problem(exc)
        else:
            self.status.setText(f"Not generated: {exc}. Nothing was written; what you typed is kept.")


class EditDayForm(FieldsForm):
    def __init__(self, store: LocalStore, actor: str) -> None:
        self.actor = actor
        self._confirmed: tuple[str, str] | None = None  # (row id, kind) a person chose to roster despite a gap
        super().__init__(store, [("employee_id", "Employee number *"), ("shift_date", "Date *"),
                                 ("kind", "Rostered (day, night, travel, off, leave) *"), ("notes", "Notes")],
                         draft_key=person_draft_key("form:roster.edit", actor), save_label="Change this day")

    def write(self) -> tuple[str, str]:
        values = self.values()
        employee_id = employee_id_for(self.store, str(values.get("employee_id") or ""))
        day, kind = _date(values, "shift_date"), str(values.get("kind") or "").strip().lower()
        record = self.store.get(ROSTER, f"{employee_id}:{day.isoformat()}")
        current = (record.state or {}) if record is not None and not record.deleted else None
        person = self.store.get("hr.employee", employee_id)
        crew = str((person.state or {}).get("crew_id") or "") if person else ""
        row_id, payload, is_create = plan_edit(employee_id, day, kind, crew or None, current, values.get("notes"))
        rows = window_rows(self.store, day, day)
        before = gaps(rows.values(), day, day)
        rows[row_id] = {**(current or {}), **payload}
        opened = [g for g in gaps(rows.values(), day, day) if g not in before]
        if opened and self._confirmed != (row_id, kind):
            self._confirmed = (row_id, kind)
            raise ValidationError(gap_message(opened), {"kind": gap_message(opened) + "; save again to roster it "
                                                                                      "anyway"})
        self._confirmed = None
        op = Op.CREATE if is_create else Op.UPDATE
        self.store.enqueue_many([MutationDraft(ROSTER, row_id, op, payload, self.actor)])
        return row_id, SAVED_HERE
