"""The roster screen's two forms.

- Generate: a crew's roster N weeks ahead from its rotation in the site's zone (`roster_generation`): new rows
  created, rows the rotation now says otherwise updated, hand-edited rows left alone, in one transaction. The
  rows are the same on any PC, so two offices generating the same weeks converge. The gaps the site's roster
  still has in those weeks are shown beside the crew field (the other crews usually fill them: generating is
  not refused for them) and the typed values stay for the next crew.
- Edit one day: a person's date to day/night/travel/off/leave, marked `edited`. An edit that would leave a
  shift of that date with nobody rostered is refused beside `kind` once ("roster gap"); saving the same edit
  again rosters it anyway (a person decided)."""

from __future__ import annotations

from datetime import date
from typing import Any

from desktop.fields_form import FieldsForm
from desktop.people_checks import employee_id_for
from desktop.record_form import SAVED_HERE, person_draft_key
from desktop.roster_rows import ROSTER, crew_for, members_of, rotation_of, window_rows
from desktop.site_settings_store import current_settings
from shared.domain.roster_generation import check_weeks, gap_message, gaps, merged_rows, plan_edit, plan_generation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import LocalStore, MutationDraft


def _date(values: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(str(values.get(name) or "").strip())
    except ValueError:
        raise ValidationError(f"{name} is not a date", {name: "must be a date (YYYY-MM-DD)"}) from None


class GenerateForm(FieldsForm):
    def __init__(self, store: LocalStore, actor: str) -> None:
        self.actor = actor
        self.last_gaps: list[tuple[date, str]] = []
        self.last_summary = ""
        self.last_window: tuple[date, int] | None = None  # (first date, weeks) of the last generation
        super().__init__(store, [("crew_id", "Crew *"), ("start_date", "From (YYYY-MM-DD) *"),
                                 ("weeks", "Weeks ahead *")],
                         draft_key=person_draft_key("form:roster.generate", actor), save_label="Generate roster")

    def write(self) -> tuple[str, str]:
        values = self.values()
        crew_id, crew = crew_for(self.store, str(values.get("crew_id") or ""))
        start, weeks = _date(values, "start_date"), check_weeks(values.get("weeks", ""))
        rotation, anchor = rotation_of(self.store, crew_id, crew)
        members = members_of(self.store, crew_id)
        end_guess = date.fromordinal(start.toordinal() + 7 * weeks - 1)
        existing = window_rows(self.store, start, end_guess)
        plan = plan_generation(rotation, anchor, start, weeks, current_settings(self.store).pattern, crew_id,
                               members, existing)
        drafts = [MutationDraft(ROSTER, i, Op.CREATE, p, self.actor) for i, p in sorted(plan.creates.items())]
        drafts += [MutationDraft(ROSTER, i, Op.UPDATE, c, self.actor) for i, c in sorted(plan.updates.items())]
        if drafts:
            self.store.enqueue_many(drafts)
        self.last_gaps = gaps(merged_rows(existing, plan).values(), plan.start, plan.end)
        self.last_window = (start, weeks)
        kept = f"; {len(plan.kept_edits)} hand-edited day(s) kept" if plan.kept_edits else ""
        self.last_summary = (f"Crew {crew_id}, {plan.start} to {plan.end}: {len(plan.creates)} new, "
                             f"{len(plan.updates)} changed, {plan.unchanged} already so{kept}.")
        return crew_id, (SAVED_HERE if drafts else "Nothing to write: the roster is already generated.") + \
            " " + self.last_summary

    def save(self) -> str | None:
        typed = {name: edit.text() for name, edit in self.inputs.items()}
        saved = super().save()
        if saved is not None:
            for name, text in typed.items():  # the same weeks for the next crew: keep what was typed
                self.set_text(name, text)
            self.errors["crew_id"].setText(gap_message(self.last_gaps))
        return saved


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
