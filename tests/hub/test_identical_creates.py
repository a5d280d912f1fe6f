"""D61 against a real hub: two devices creating one record with the same id and the same data (roster rows, any
deterministic id) converge without a second version, an event or a conflict record; with other data the second
create still meets the first as a conflict, as before."""

from __future__ import annotations

from typing import Any

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_push import db_fetch, make_device

ROSTER = "hr.roster_assignment"


def _tenant() -> str:
    return f"t-same-{new_ulid()[-6:].lower()}"


def _rows(n: int) -> dict[str, dict[str, Any]]:
    """A crew's two weeks, as both offices generate them (`roster_generation`: same ids, same payloads)."""
    out = {}
    for person in ("emp-anna", "emp-ben"):
        for day in range(1, n + 1):
            shift_date = f"2026-09-{day:02d}"
            out[f"{person}:{shift_date}"] = {"employee_id": person, "crew_id": "A", "shift_date": shift_date,
                                              "kind": "day" if day <= 7 else "night", "source": "generated"}
    return out


def _creates(dev: DeviceClient, rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [dev.mutation(ROSTER, i, "create", dict(p)) for i, p in sorted(rows.items())]


def _hub(hub: HubProcess, tenant: str) -> dict[str, Any]:
    """What the hub holds for the tenant: versions per roster row, events, conflict records."""
    def count(sql: str) -> int:
        return int(db_fetch(hub.dsn, sql, tenant)[0]["n"])

    versions = db_fetch(hub.dsn, "SELECT entity_id, version FROM sync.records WHERE tenant_id = $1 AND entity = $2",
                        tenant, ROSTER)
    return {"versions": {r["entity_id"]: r["version"] for r in versions},
            "stored_versions": count(f"SELECT count(*) AS n FROM sync.record_versions WHERE tenant_id = $1 "
                                     f"AND entity = '{ROSTER}'"),
            "events": count(f"SELECT count(*) AS n FROM sync.events WHERE tenant_id = $1 AND entity = '{ROSTER}'"),
            "conflicts": count("SELECT count(*) AS n FROM sync.records WHERE tenant_id = $1 "
                               "AND entity = 'sync.conflict'")}


def test_two_devices_creating_the_same_roster_identically_leave_one_version_and_no_conflict(
        live_hub: HubProcess) -> None:
    tenant = _tenant()
    a, b = make_device(live_hub, tenant, "s1", "desk-a"), make_device(live_hub, tenant, "s1", "desk-b")
    rows = _rows(14)
    first = a.push_ok(_creates(a, rows))
    second_push = _creates(b, rows)  # offline at the other office: it never saw desk-a's rows
    second = b.push_ok(second_push)
    assert [o["status"] for o in first] == [o["status"] for o in second] == ["applied"] * 28
    assert all(o["version"] == 1 and o.get("conflict_id") is None for o in second)
    assert all("already so" in o["resolution"] for o in second) and all(o.get("seq") is None for o in second)
    held = _hub(live_hub, tenant)
    assert held == {"versions": {i: 1 for i in rows}, "stored_versions": 28, "events": 28, "conflicts": 0}
    # Pushed again (a lost response), desk-b's creates answer what they answered, and still change nothing.
    again = b.push_ok(second_push)
    assert [(o["status"], o["original"]["status"]) for o in again] == [("duplicate", "applied")] * 28
    # A device re-creating its own row as it stands writes nothing either.
    [own] = a.push_ok([a.mutation(ROSTER, "emp-anna:2026-09-01", "create", rows["emp-anna:2026-09-01"])])
    assert own["status"] == "applied" and own["version"] == 1
    assert _hub(live_hub, tenant) == held
    # desk-b reads desk-a's rows through the stream like any other change: one event per row.
    events = [e for e in b.all_events() if e["entity"] == ROSTER]
    assert len(events) == 28 and {e["entity_id"] for e in events} == set(rows)
    assert all(e["payload"] == rows[e["entity_id"]] for e in events)


def test_a_create_with_other_data_still_meets_the_first_as_a_conflict(live_hub: HubProcess) -> None:
    tenant = _tenant()
    a, b = make_device(live_hub, tenant, "s1", "desk-a"), make_device(live_hub, tenant, "s1", "desk-b")
    rows = _rows(2)
    a.push_ok(_creates(a, rows))
    other = {**rows["emp-anna:2026-09-01"], "kind": "leave", "source": "edited"}
    [same, differs] = b.push_ok([b.mutation(ROSTER, "emp-ben:2026-09-01", "create", rows["emp-ben:2026-09-01"]),
                                 b.mutation(ROSTER, "emp-anna:2026-09-01", "create", other)])
    assert same["status"] == "applied" and same.get("conflict_id") is None
    assert differs["status"] == "conflict" and differs["conflict_id"]
    assert differs["resolution"] == "field_merge: cannot merge a delete or create; hub kept"
    [conflict] = db_fetch(live_hub.dsn, "SELECT data FROM sync.records WHERE tenant_id = $1 AND entity = "
                          "'sync.conflict'", tenant)
    assert conflict["data"]["status"] == "auto_resolved" and conflict["data"]["client_payload"] == other
    assert _hub(live_hub, tenant)["versions"] == {i: 1 for i in rows}  # the hub kept desk-a's rows
    # Once a row has moved on (desk-a edits it), creating it as first generated is no longer "already so".
    a.push_ok([a.mutation(ROSTER, "emp-ben:2026-09-02", "update", {"kind": "off", "source": "edited"}, 1)])
    c = make_device(live_hub, tenant, "s1", "desk-c")
    [late] = c.push_ok([c.mutation(ROSTER, "emp-ben:2026-09-02", "create", rows["emp-ben:2026-09-02"])])
    assert late["status"] == "conflict"
    assert _hub(live_hub, tenant)["conflicts"] == 2


def test_identical_creates_converge_under_every_strategy(live_hub: HubProcess) -> None:
    """server_wins, manual and client_override entities too: nothing to decide when nothing differs."""
    tenant = _tenant()
    a, b = make_device(live_hub, tenant, "s1", "desk-a"), make_device(live_hub, tenant, "s1", "desk-b")
    records = [("equipment.usage_log", "DT01:2026-11-24:day",  # server_wins
                {"equipment_id": "DT01", "shift_date": "2026-11-24", "shift": "day", "operating_hours": 9}),
               ("forms.submission", "INSP-1", {"form": "inspection", "title": "brakes ok"}),  # manual
               ("equipment.rental_contract", "RC1",  # client_override
                {"equipment_id": "DT01", "customer": "Acme", "rate_per_hour": 150})]
    a.push_ok([a.mutation(e, i, "create", p) for e, i, p in records])
    outcomes = b.push_ok([b.mutation(e, i, "create", dict(p)) for e, i, p in records])
    assert [(o["status"], o["version"], o.get("conflict_id")) for o in outcomes] == [("applied", 1, None)] * 3
    assert db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM sync.records WHERE tenant_id = $1 "
                    "AND entity = 'sync.conflict'", tenant)[0]["n"] == 0
