"""Checks on a new machine that need the local data: a fleet number names one machine. The record's id is
its fleet number, so saving a second "DT01" would replace the first (its rental rate and customer lost)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from shared.store import LocalStore


def machine_with_fleet_number(store: LocalStore, fleet_no: str) -> tuple[str, dict[str, Any]] | None:
    """The machine (id, state) already known by this fleet number, letter case and spaces aside: the id a
    form would write, or a machine the hub created under another id."""
    wanted = fleet_no.strip().upper()
    row = store.connection.execute(
        "SELECT entity_id, local_state FROM records WHERE entity = 'equipment.unit' AND deleted = 0 AND "
        "(upper(trim(entity_id)) = ? OR upper(trim(json_extract(local_state, '$.fleet_no'))) = ?) "
        "ORDER BY entity_id LIMIT 1", (wanted, wanted)).fetchone()
    if row is None:
        return None
    return str(row[0]), dict(orjson.loads(row[1])) if row[1] else {}


def fleet_number_check(store: LocalStore) -> Callable[[Mapping[str, Any]], dict[str, str]]:
    def check(payload: Mapping[str, Any]) -> dict[str, str]:
        fleet_no = str(payload.get("fleet_no") or "").strip()
        found = machine_with_fleet_number(store, fleet_no) if fleet_no else None
        if found is None:
            return {}
        _id, state = found
        what = ", ".join(str(state[k]) for k in ("equipment_class", "make", "model") if state.get(k))
        customer = f", rented to {state['customer']}" if state.get("customer") else ""
        return {"fleet_no": f"{state.get('fleet_no') or _id} is already a machine ({what or 'no details'}"
                            f"{customer}): choose another fleet number; nothing was changed"}

    return check
