"""A mutation id the hub already applied, sent again under a new device_seq: a permanent per-mutation rejection
(`mutation_id_reused`) that consumes the seq, never a 503 the device would retry forever."""

from __future__ import annotations

from typing import Any

from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_push import db_fetch, make_device


def unit(dev: DeviceClient, n: int, **over: Any) -> dict[str, Any]:
    return dev.mutation("equipment.unit", f"DT{n:02}", "create", {"fleet_no": f"DT{n:02}", "equipment_class": "truck"},
                        **over)


def ledger(hub: HubProcess, tenant: str) -> list[dict[str, Any]]:
    rows = db_fetch(hub.dsn, "SELECT device_id, device_seq, outcome FROM sync.applied_mutations WHERE tenant_id = $1 "
                             "ORDER BY device_id, device_seq", tenant)
    return [dict(r) for r in rows]


def assert_reuse_rejected(o: dict[str, Any], original: dict[str, Any]) -> None:
    assert o["status"] == "rejected" and o["code"] == "mutation_id_reused", o
    assert original["id"] in o["message"] and str(original["device_seq"]) in o["message"], o


def test_an_applied_id_at_a_new_device_seq_is_rejected_and_the_rest_is_applied(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-reid", "s1", "desk-1")
    first = unit(dev, 1)
    dev.push_ok([first])
    replay = dev.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "loader"},
                          id=first["id"])  # seq 2, the same id with another payload
    later = unit(dev, 3)
    r = dev.push([replay, later])
    assert r.status_code == 200, r.text
    reused, applied = r.json()["outcomes"]
    assert_reuse_rejected(reused, first)
    assert applied["status"] == "applied"
    # The first write stands; the seq is consumed, its rejection recorded once, like any other outcome.
    [rec] = db_fetch(live_hub.dsn, "SELECT version, data FROM sync.records WHERE tenant_id = $1 AND entity_id = "
                                   "'DT01'", "t-reid")
    assert rec["version"] == 1 and rec["data"]["equipment_class"] == "truck"
    rows = ledger(live_hub, "t-reid")
    assert [(x["device_seq"], x["outcome"]["status"]) for x in rows] == [(1, "applied"), (2, "rejected"),
                                                                         (3, "applied")]
    assert all(x["outcome"]["mutation_id"] == m["id"] for x, m in zip(rows, [first, replay, later], strict=True))
    # A retry of the same push answers the same outcomes and changes nothing.
    again = dev.push_ok([replay, later])
    assert [o["status"] for o in again] == ["duplicate", "duplicate"]
    assert again[0]["original"]["code"] == "mutation_id_reused"
    assert len(ledger(live_hub, "t-reid")) == 3


def test_a_reused_id_held_past_a_gap_is_rejected_when_the_gap_fills(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-reid-gap", "s1", "desk-1")
    first = unit(dev, 1)
    dev.push_ok([first])
    gap = unit(dev, 2)
    replay = unit(dev, 1, id=first["id"])  # seq 3
    [held] = dev.push_ok([replay])
    assert held["status"] == "held"
    filled = dev.push_ok([gap])
    assert filled[0]["status"] == "applied"
    [answer] = dev.push_ok([replay])
    assert answer["status"] == "duplicate" and answer["original"]["code"] == "mutation_id_reused", answer
    assert [x["device_seq"] for x in ledger(live_hub, "t-reid-gap")] == [1, 2, 3]


def test_another_devices_mutation_id_is_rejected_too(live_hub: HubProcess) -> None:
    a = make_device(live_hub, "t-reid-two", "s1", "desk-a")
    b = make_device(live_hub, "t-reid-two", "s1", "desk-b")
    first = unit(a, 1)
    a.push_ok([first])
    stolen = b.mutation("equipment.unit", "DT02", "create", {"fleet_no": "DT02", "equipment_class": "truck"},
                        id=first["id"])
    r = b.push([stolen, unit(b, 3)])
    assert r.status_code == 200, r.text
    rejected, applied = r.json()["outcomes"]
    assert_reuse_rejected(rejected, first)
    assert applied["status"] == "applied"


def test_one_id_at_two_device_seqs_of_one_run_is_a_409_not_a_503(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-reid-run", "s1", "desk-1")
    m = unit(dev, 1)  # seq 1, not sent yet
    twin = {**m, "device_seq": 2}
    [held] = dev.push_ok([twin])  # past the gap: held
    assert held["status"] == "held"
    r = dev.push([m])  # fills the gap: the run would apply one id twice
    assert r.status_code == 409 and r.json()["code"] == "mutation_id_reused" and r.json()["message"], r.text
    assert ledger(live_hub, "t-reid-run") == []
