"""Roster data from the local replica: the rows of a date window (every crew's, for the gaps), a crew and its
rotation as typed in a form, and the crew's members. Errors name the form field (`crew_id`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from shared.domain.rosters import Rotation, parse_blocks
from shared.errors import ValidationError
from shared.store import LocalStore

ROSTER = "hr.roster_assignment"


# Rows by date: without it every window read decodes every roster row held (two years of a site: ~0.1 s for
# each screen refresh and each generation). Partial, and named in the query: without statistics the planner
# would take the primary key (every row of the entity) instead.
DATE_INDEX = ("CREATE INDEX IF NOT EXISTS desk_roster_by_date ON records(json_extract(local_state, '$.shift_date'), "
              f"entity_id) WHERE entity = '{ROSTER}' AND deleted = 0")


def ensure_date_index(store: LocalStore) -> None:
    """Once per store (its own migration; afterwards one read)."""
    store.migrate("desktop.roster_index", [DATE_INDEX])


def window_records(store: LocalStore, start: date, end: date) -> dict[str, tuple[dict[str, Any], bool]]:
    """Roster rows (id -> (state, not yet confirmed by the hub)) dated `start` to `end`, every crew's: ISO
    dates compare as text."""
    ensure_date_index(store)
    rows = store.connection.execute(
        "SELECT entity_id, local_state, pending FROM records INDEXED BY desk_roster_by_date "
        f"WHERE entity = '{ROSTER}' AND deleted = 0 AND "
        "json_extract(local_state, '$.shift_date') BETWEEN ? AND ? ORDER BY entity_id",
        (start.isoformat(), end.isoformat())).fetchall()
    return {str(r[0]): (dict(orjson.loads(r[1])), bool(r[2])) for r in rows if r[1]}


def window_rows(store: LocalStore, start: date, end: date) -> dict[str, dict[str, Any]]:
    """Roster rows (id -> state) dated `start` to `end`."""
    return {k: state for k, (state, _pending) in window_records(store, start, end).items()}


def crew_for(store: LocalStore, typed: str) -> tuple[str, dict[str, Any]]:
    """The crew (id, state) named by its id or its name (letter case aside)."""
    wanted = typed.strip()
    if not wanted:
        raise ValidationError("crew is required", {"crew_id": "is required"})
    record = store.get("hr.crew", wanted)
    if record is not None and not record.deleted:
        return record.entity_id, dict(record.state or {})
    for r in store.query("hr.crew"):
        if str((r.state or {}).get("name", "")).strip().upper() == wanted.upper():
            return r.entity_id, dict(r.state or {})
    raise ValidationError(f"no crew {wanted}", {"crew_id": f"no crew {wanted}"})


def rotation_of(store: LocalStore, crew_id: str, crew: dict[str, Any]) -> tuple[Rotation, date]:
    """The crew's rotation and anchor, or why it cannot be generated (beside the crew field)."""
    rotation_id, anchor = crew.get("rotation_id"), crew.get("rotation_anchor")
    if not rotation_id or not anchor:
        raise ValidationError(f"crew {crew_id} has no rotation",
                              {"crew_id": f"crew {crew_id} needs a rotation and a rotation day 1 first"})
    record = store.get("hr.rotation_pattern", str(rotation_id))
    if record is None or record.deleted:
        raise ValidationError(f"no rotation {rotation_id}", {"crew_id": f"rotation {rotation_id} is not on this PC"})
    state = record.state or {}
    try:
        rotation = parse_blocks(str(state.get("name") or rotation_id), state.get("blocks"))
    except ValidationError as exc:
        raise ValidationError(str(exc), {"crew_id": f"rotation {rotation_id}: {exc.field_errors.get('blocks')}"}) \
            from None
    return rotation, date.fromisoformat(str(anchor))


def members_of(store: LocalStore, crew_id: str) -> list[str]:
    """Employees of the crew who can be rostered (a terminated person is not)."""
    return sorted(r.entity_id for r in store.query("hr.employee", where={"crew_id": crew_id})
                  if (r.state or {}).get("status") != "terminated")
