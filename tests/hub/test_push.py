"""Push against a real hub and a real PostgreSQL: exactly-once under any retry, split and order."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.fixtures.hubserver import HubProcess, provision_device
from tests.fixtures.postgres import run_sync
from tests.hub.device import DeviceClient


def make_device(hub: HubProcess, tenant: str, site: str | None, device: str) -> DeviceClient:
    return DeviceClient(hub.url, provision_device(hub.dsn, tenant, site, device), tenant, site, device)


def db_fetch(dsn: str, sql: str, *args: Any) -> list[Any]:
    from hub.db import connect

    async def run() -> list[Any]:
        conn = await connect(dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return run_sync(run())


def replay_in_random_splits(dev: DeviceClient, muts: list[dict[str, Any]], rounds: int, rnd: random.Random) -> None:
    for _ in range(rounds):
        order = list(muts)
        rnd.shuffle(order)
        i = 0
        while i < len(order):
            n = rnd.randint(1, 60)
            outcomes = dev.push_ok(order[i : i + n])
            assert all(o["status"] in ("applied", "duplicate", "held") for o in outcomes), outcomes
            i += n


def assert_applied_once(dsn: str, tenant: str, device: str, muts: list[dict[str, Any]]) -> None:
    ids = [m["id"] for m in muts]
    ledger = db_fetch(dsn, "SELECT mutation_id, outcome FROM sync.applied_mutations "
                           "WHERE tenant_id = $1 AND device_id = $2", tenant, device)
    assert sorted(r["mutation_id"] for r in ledger) == sorted(ids)
    assert all(r["outcome"]["status"] == "applied" for r in ledger)
    events = db_fetch(dsn, "SELECT correlation_id FROM sync.events WHERE tenant_id = $1 AND correlation_id = ANY($2)",
                      tenant, ids)
    assert sorted(e["correlation_id"] for e in events) == sorted(ids)  # one event each, no more
    versions = db_fetch(dsn, "SELECT version FROM sync.records WHERE tenant_id = $1 AND entity_id = ANY($2)",
                        tenant, [m["entity_id"] for m in muts])
    assert len(versions) == len(muts) and all(v["version"] == 1 for v in versions)
    held = db_fetch(dsn, "SELECT count(*) AS n FROM sync.held_mutations WHERE tenant_id = $1", tenant)
    assert held[0]["n"] == 0


def test_hundred_queued_forms_replayed_ten_times_in_random_splits_and_orders(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-forms", "s1", "desk-1")
    forms = [dev.mutation("forms.submission", f"F{i:03}", "create", {"form": "pre-start", "title": f"check {i}"})
             for i in range(100)]
    replay_in_random_splits(dev, forms, rounds=10, rnd=random.Random(1))
    final = dev.push_ok(forms)  # one more, in order: every answer is the original, replayed
    assert {o["status"] for o in final} == {"duplicate"}
    assert {o["original"]["status"] for o in final} == {"applied"}
    assert_applied_once(live_hub.dsn, "t-forms", "desk-1", forms)


@pytest.mark.parametrize("devices,per_device", [pytest.param(20, 100, id="2000"),
                                                pytest.param(20, 2500, id="50000", marks=pytest.mark.slow)])
def test_many_devices_replayed_in_random_splits(live_hub: HubProcess, devices: int, per_device: int) -> None:
    rnd = random.Random(devices * per_device)
    tenant = f"t-many-{per_device}"
    for d in range(devices):
        dev = make_device(live_hub, tenant, "s1", f"dev-{d}")
        muts = [dev.mutation("forms.submission", f"{dev.device_id}-F{i}", "create", {"form": "f"})
                for i in range(per_device)]
        for start in range(0, len(muts), 1000):  # first delivery in order, as the outbox drains
            dev.push_ok(muts[start : start + 1000])
        replay_in_random_splits(dev, rnd.sample(muts, k=min(len(muts), 200)), rounds=2, rnd=rnd)
        assert_applied_once(live_hub.dsn, tenant, dev.device_id, muts)
    head = db_fetch(live_hub.dsn, "SELECT head FROM sync.tenant_heads WHERE tenant_id = $1", tenant)[0]["head"]
    assert head == devices * per_device


def test_a_gap_is_held_and_applied_in_order_when_it_fills(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-gap", "s1", "desk-1")
    first = dev.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"})
    second = dev.mutation("equipment.unit", "DT01", "update", {"status": "down"}, base_version=0)
    [held] = dev.push_ok([second])
    assert held["status"] == "held" and held["code"] == "sequence_gap"
    [applied] = dev.push_ok([first])
    assert applied["status"] == "applied" and applied["version"] == 1
    [again] = dev.push_ok([second])  # the held one was applied when the gap filled, after the create
    assert again["status"] == "duplicate" and again["original"]["status"] == "applied"
    assert again["original"]["version"] == 2  # own lineage: base 0 is not stale against its own create
    rec = db_fetch(live_hub.dsn, "SELECT data FROM sync.records WHERE tenant_id = 't-gap' AND entity_id = 'DT01'")
    assert rec[0]["data"]["status"] == "down"


def test_rejected_mutation_consumes_its_seq_and_does_not_block_the_rest(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-rej", "s1", "desk-1")
    bad = dev.mutation("equipment.usage_log", "U1", "create", {"equipment_id": "DT01", "shift_date": "2026-11-24",
                                                               "shift": "day", "operating_hours": 14})
    good = dev.mutation("equipment.unit", "DT02", "create", {"fleet_no": "DT02", "equipment_class": "dozer"})
    outcomes = dev.push_ok([bad, good])
    assert outcomes[0]["status"] == "rejected" and outcomes[0]["code"] == "validation_failed"
    assert "operating_hours" in outcomes[0]["message"]
    assert outcomes[1]["status"] == "applied"
    assert dev.push_ok([bad])[0]["original"]["status"] == "rejected"  # the rejection is replayed too
