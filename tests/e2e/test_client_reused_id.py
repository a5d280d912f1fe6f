"""A device whose outbox holds a mutation the hub already applied, under a new device_seq (a store restored
from a copy, a bug): the hub refuses it for good, the client moves it to the store's rejections with the reason
and goes on pushing; the outbox never wedges behind it."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson

from shared.store import LocalStore
from tests.e2e.test_client_hub import make_client
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until


def unit(n: int) -> dict[str, object]:
    return {"fleet_no": f"DT{n:02}", "equipment_class": "truck"}


def requeue_under_a_new_seq(store: LocalStore, body: dict[str, object]) -> int:
    """Put an already-sent mutation back in the outbox at the next device_seq, as a broken store would."""
    seq = store.mutations_numbered + 1
    with store.transaction() as conn:
        conn.execute("INSERT INTO outbox (device_seq, id, entity, entity_id, body) VALUES (?, ?, ?, ?, ?)",
                     (seq, body["id"], body["entity"], body["entity_id"],
                      orjson.dumps({**body, "device_seq": seq}).decode()))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (str(seq + 1),))
    return seq


def at_hub(hub_dsn: str, tenant: str) -> set[str]:
    rows = db_fetch(hub_dsn, "SELECT entity_id FROM sync.records WHERE tenant_id = $1 AND entity = 'equipment.unit'",
                    tenant)
    return {r["entity_id"] for r in rows}


def test_a_replayed_mutation_is_quarantined_and_later_mutations_still_arrive(live_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tenant = "t-e2e-reused"
    store, client = make_client(live_hub, tmp_path, "desk-r", tenant, "s1")
    first = store.enqueue("equipment.unit", "DT01", "create", unit(1), actor="supervisor")
    client.sync_once()
    assert store.connection.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    seq = requeue_under_a_new_seq(store, first.model_dump(mode="json"))
    for n in (2, 3):
        store.enqueue("equipment.unit", f"DT{n:02}", "create", unit(n), actor="supervisor")

    stop = threading.Event()
    runner = threading.Thread(target=client.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert wait_until(lambda: at_hub(live_hub.dsn, tenant) == {"DT01", "DT02", "DT03"}, timeout=20), \
            (client.state, at_hub(live_hub.dsn, tenant))
        assert wait_until(lambda: store.outbox_depth() == 0, timeout=10), client.state
        [quarantined] = store.rejections()
        assert quarantined["mutation_id"] == first.id and quarantined["mutation"]["device_seq"] == seq
        assert quarantined["code"] == "mutation_id_reused" and first.id in quarantined["message"]
        assert wait_until(lambda: client.state.rejected == 1 and client.state.last_error is None, timeout=10), \
            client.state
        # And the device keeps syncing afterwards.
        store.enqueue("equipment.unit", "DT04", "create", unit(4), actor="supervisor")
        client.notify_outbox()
        assert wait_until(lambda: "DT04" in at_hub(live_hub.dsn, tenant), timeout=20), client.state
    finally:
        stop.set()
        runner.join(30)
    rec = store.get("equipment.unit", "DT01")
    assert rec is not None and rec.state == unit(1) and not rec.pending  # the hub's version, nothing pending
