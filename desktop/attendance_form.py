"""The site office's clock-in/out form (`hr.attendance`). A person is named by their employee number. The
first save for a person, date and shift clocks them in (clock-out optional); a later one with only the
clock-out completes that row, and the whole row is checked by the shared rule (clock-out after clock-in,
at most 24 h) before anything is written, and against the person's other rows (`attendance_checks`: no two
overlapping, no second clock-in while still clocked in). Times typed without a zone are the site's local time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from desktop.mutation_form import MutationForm, need_text
from desktop.people_checks import employee_id_for
from shared.domain.attendance_checks import Clock, check_overlap
from shared.domain.shifts import ShiftPattern
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft

ATTENDANCE = "hr.attendance"
FIELDS = ["employee_id", "shift_date", "shift", "clock_in", "clock_out", "notes"]


def with_zone(text: Any, pattern: ShiftPattern) -> Any:
    """An ISO time as typed; one without a zone is read as the site's wall clock. Unreadable text is returned
    as it is, for the entity validation to name."""
    try:
        instant = datetime.fromisoformat(str(text))
    except ValueError:
        return text
    return (instant if instant.tzinfo else instant.replace(tzinfo=pattern.zone)).isoformat()


def _clock(row_id: str, state: Mapping[str, Any]) -> Clock:
    out = state.get("clock_out")
    return Clock(row_id, f"{state.get('shift_date')} {state.get('shift')}",
                 datetime.fromisoformat(str(state["clock_in"])), datetime.fromisoformat(str(out)) if out else None)


def check_against_others(store: LocalStore, row_id: str, row: Mapping[str, Any]) -> None:
    """The row as it will stand against the same person's rows of the day before, the day and the day after
    (a night reaches into the next date); a field message when they overlap."""
    day = date.fromisoformat(str(row["shift_date"]))
    others = [_clock(r.entity_id, r.state or {})
              for offset in (-1, 0, 1)
              for r in store.query(ATTENDANCE, where={"employee_id": row["employee_id"],
                                                      "shift_date": (day + timedelta(days=offset)).isoformat()})
              if (r.state or {}).get("status") != "rejected"]  # a rejected row is not time anyone was paid for
    check_overlap(_clock(row_id, row), others)


def attendance_form(store: LocalStore, actor: str, pattern: Callable[[], ShiftPattern]) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        employee_id = employee_id_for(store, need_text(values, "employee_id"))
        shift_date, shift = need_text(values, "shift_date"), need_text(values, "shift")
        typed = {**values, "employee_id": employee_id}
        for name in ("clock_in", "clock_out"):
            if name in typed:
                typed[name] = with_zone(typed[name], pattern())
        existing = store.query(ATTENDANCE, where={"employee_id": employee_id, "shift_date": shift_date,
                                                  "shift": shift}, limit=1)
        if not existing:
            payload = {"source": "office", "status": "pending", **typed}
            validate_mutation(ATTENDANCE, Op.CREATE, payload)  # field and clock messages before the overlap's
            row_id = new_ulid()
            check_against_others(store, row_id, payload)
            return [MutationDraft(ATTENDANCE, row_id, Op.CREATE, payload, actor)]
        row = existing[0]
        state = row.state or {}
        changed = {k: v for k, v in typed.items() if state.get(k) != v}
        if not changed:
            raise ValidationError("nothing to change", {"clock_out": "already recorded: type the clock-out"})
        # The row as it will stand, through the entity's own record check (an update alone skips it).
        if state.get("status") in ("approved", "rejected") and {"clock_in", "clock_out"} & set(changed):
            changed["status"] = "pending"  # a supervisor approved other times: they look again
        validate_mutation(ATTENDANCE, Op.CREATE, {**state, **changed})
        check_against_others(store, row.entity_id, {**state, **changed})
        return [MutationDraft(ATTENDANCE, row.entity_id, Op.UPDATE, changed, actor)]

    return MutationForm(store, ATTENDANCE, FIELDS, actor, build, draft_key="form:hr.attendance",
                        save_label="Clock in / out")
