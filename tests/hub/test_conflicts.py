"""Each conflict strategy with two devices editing the same entity offline, against a real hub."""

from __future__ import annotations

from typing import Any

from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient, person_client
from tests.hub.test_push import db_fetch, make_device


def two_devices(hub: HubProcess, tenant: str) -> tuple[DeviceClient, DeviceClient]:
    return make_device(hub, tenant, "s1", "desk-a"), make_device(hub, tenant, "s1", "desk-b")


def record(hub: HubProcess, tenant: str, entity_id: str) -> dict[str, Any]:
    rows = db_fetch(hub.dsn, "SELECT version, data FROM sync.records WHERE tenant_id = $1 AND entity_id = $2",
                    tenant, entity_id)
    return {"version": rows[0]["version"], **rows[0]["data"]}


def open_conflicts(dev: DeviceClient) -> list[dict[str, Any]]:
    r = dev.client.get("/v1/conflicts", params={"status": "open"})
    assert r.status_code == 200, r.text
    conflicts: list[dict[str, Any]] = r.json()["conflicts"]
    return conflicts


def test_field_merge_merges_disjoint_fields_and_records_overlaps(live_hub: HubProcess) -> None:
    a, b = two_devices(live_hub, "t-fm")
    a.push_ok([a.mutation("equipment.unit", "EX1", "create", {"fleet_no": "EX1", "equipment_class": "excavator"})])
    # both saw version 1, then went offline
    b.push_ok([b.mutation("equipment.unit", "EX1", "update", {"make": "Komatsu", "status": "standby"}, 1)])
    [merged] = a.push_ok([a.mutation("equipment.unit", "EX1", "update", {"model": "PC2000"}, 1)])
    assert merged["status"] == "merged"
    [conflict] = a.push_ok([a.mutation("equipment.unit", "EX1", "update", {"status": "down", "serial": "X9"}, 1)])
    assert conflict["status"] == "conflict" and "status" in conflict["resolution"]
    state = record(live_hub, "t-fm", "EX1")
    assert state["make"] == "Komatsu" and state["model"] == "PC2000" and state["serial"] == "X9"
    assert state["status"] == "standby"  # both changed it: the hub's value stands, recorded in the conflict


def test_server_wins_discards_the_stale_change(live_hub: HubProcess) -> None:
    a, b = two_devices(live_hub, "t-sw")
    log = {"equipment_id": "DT01", "shift_date": "2026-11-24", "shift": "day", "operating_hours": 9}
    a.push_ok([a.mutation("equipment.usage_log", "DT01:2026-11-24:day", "create", log)])
    b.push_ok([b.mutation("equipment.usage_log", "DT01:2026-11-24:day", "update", {"operating_hours": 10}, 1)])
    [o] = a.push_ok([a.mutation("equipment.usage_log", "DT01:2026-11-24:day", "update", {"operating_hours": 8}, 1)])
    assert o["status"] == "conflict" and o["conflict_id"]
    assert record(live_hub, "t-sw", "DT01:2026-11-24:day")["operating_hours"] == 10
    assert not [c for c in open_conflicts(a) if c["entity_id"] == "DT01:2026-11-24:day"]  # informational only


def test_adjustment_keeps_both_offline_deltas(live_hub: HubProcess) -> None:
    a, b = two_devices(live_hub, "t-adj")
    a.push_ok([a.mutation("finance.cash_float", "S1:BOLT", "create", {"custodian": "S1", "currency": "AUD",
                                                                   "balance": 100})])
    [ob] = b.push_ok([b.mutation("finance.cash_float", "S1:BOLT", "adjust", {"balance": -30}, 1)])
    [oa] = a.push_ok([a.mutation("finance.cash_float", "S1:BOLT", "adjust", {"balance": -45}, 1)])
    assert ob["status"] == oa["status"] == "applied"
    assert record(live_hub, "t-adj", "S1:BOLT")["balance"] == 25


def test_manual_waits_for_a_person_and_resolves_through_the_api(live_hub: HubProcess) -> None:
    a, b = two_devices(live_hub, "t-man")
    a.push_ok([a.mutation("forms.submission", "INSP-1", "create", {"form": "inspection", "title": "brakes ok"})])
    b.push_ok([b.mutation("forms.submission", "INSP-1", "update", {"title": "brakes worn"}, 1)])
    [o] = a.push_ok([a.mutation("forms.submission", "INSP-1", "update", {"title": "brakes replaced"}, 1)])
    assert o["status"] == "conflict"
    [c] = [c for c in open_conflicts(a) if c["entity_id"] == "INSP-1"]
    assert c["server_data"]["title"] == "brakes worn" and c["client_payload"]["title"] == "brakes replaced"
    assert record(live_hub, "t-man", "INSP-1")["title"] == "brakes worn"  # nothing applied yet
    refused = a.client.post(f"/v1/conflicts/{c['id']}/resolve", json={"choice": "client"})
    assert refused.status_code == 403  # a device acting as itself resolves through a person's mutation only
    person = person_client(live_hub.url, live_hub.dsn, "t-man")
    r = person.post(f"/v1/conflicts/{c['id']}/resolve", json={"choice": "client"})
    assert r.status_code == 200, r.text
    assert record(live_hub, "t-man", "INSP-1")["title"] == "brakes replaced"
    again = person.post(f"/v1/conflicts/{c['id']}/resolve", json={"choice": "server"})
    assert again.status_code == 409 and again.json()["code"] == "conflict_not_resolvable"


def test_client_override_takes_effect_once_approved_by_a_resolution_mutation(live_hub: HubProcess) -> None:
    a, b = two_devices(live_hub, "t-co")
    terms = {"equipment_id": "DT01", "customer": "Acme", "rate_per_hour": 120}
    a.push_ok([a.mutation("equipment.rental_contract", "RC1", "create", terms)])
    b.push_ok([b.mutation("equipment.rental_contract", "RC1", "update", {"rate_per_hour": 130}, 1)])
    [o] = a.push_ok([a.mutation("equipment.rental_contract", "RC1", "update", {"rate_per_hour": 150}, 1)])
    assert o["status"] == "conflict"
    assert record(live_hub, "t-co", "RC1")["rate_per_hour"] == 130
    # approved offline at a desktop: the decision travels as a mutation
    [r] = b.push_ok([b.mutation("sync.conflict_resolution", "RES-1", "create",
                                {"conflict_id": o["conflict_id"], "choice": "client"})])
    assert r["status"] == "applied"
    assert record(live_hub, "t-co", "RC1")["rate_per_hour"] == 150
    [bad] = b.push_ok([b.mutation("sync.conflict_resolution", "RES-2", "create",
                                  {"conflict_id": "01NOSUCHCONFLICT0000000000", "choice": "client"})])
    assert bad["status"] == "rejected" and bad["code"] == "conflict_not_resolvable"


def test_staleness_looks_past_a_long_own_history_to_the_first_foreign_writer(live_hub: HubProcess) -> None:
    """A record with a long history: a mutation is stale exactly when another device wrote after its base,
    whatever the number of versions in between (the hub reads the base and the first foreign writer only)."""
    a, b = two_devices(live_hub, "t-lineage")
    a.push_ok([a.mutation("equipment.unit", "LH1", "create", {"fleet_no": "LH1", "equipment_class": "loader"})])
    b.push_ok([b.mutation("equipment.unit", "LH1", "update", {"make": "Cat"}, 1)])  # v2, the foreign writer
    for n in range(3, 41):  # v3..v40: a's own edits, each against the version before
        [o] = a.push_ok([a.mutation("equipment.unit", "LH1", "update", {"model": f"rev {n}"}, n - 1)])
        assert o["status"] == "applied" and o["version"] == n
    stale = a.mutation("equipment.unit", "LH1", "update", {"make": "Komatsu"}, 1)  # saw only v1: b's edit since
    own = a.mutation("equipment.unit", "LH1", "update", {"model": "rev 99"}, 3)  # only a wrote after v3
    outcomes = a.push_ok([stale, own])
    assert outcomes[0]["status"] == "conflict" and "make" in outcomes[0]["resolution"], outcomes[0]
    assert outcomes[1]["status"] == "applied", outcomes[1]
    state = record(live_hub, "t-lineage", "LH1")
    assert state["make"] == "Cat" and state["model"] == "rev 99"
    late = b.mutation("equipment.unit", "LH1", "update", {"serial": "S-1"}, 2)  # b's base: a wrote since
    [o] = b.push_ok([late])
    assert o["status"] == "merged", o
