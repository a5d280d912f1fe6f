"""The device side end to end: encrypted store + sync client against a real hub and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.sync import SyncClient
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until


def make_client(hub: HubProcess, tmp_path: Path, name: str, tenant: str, site: str) -> tuple[LocalStore, SyncClient]:
    """A device's own store (for the test thread) and a sync client that opens its own connections."""
    path = tmp_path / f"{name}.db"
    key = PassphraseKeyProvider("test passphrase", n=2**10)
    store = LocalStore.open(path, key)
    if store.identity is None:
        store.set_identity(DeviceIdentity(name, tenant, site))
    token = provision_device(hub.dsn, tenant, site, name)
    return store, SyncClient(lambda: LocalStore.open(path, key), hub.url, lambda: token)


def test_offline_work_syncs_and_is_confirmed(live_hub: HubProcess, tmp_path: Path) -> None:
    store, client = make_client(live_hub, tmp_path, "desk-a", "t-e2e", "s1")
    store.enqueue_many([MutationDraft("equipment.unit", f"DT{i}", "create",
                                      {"fleet_no": f"DT{i}", "equipment_class": "truck"}, "supervisor")
                        for i in range(30)])
    assert store.get("equipment.unit", "DT0").pending  # type: ignore[union-attr]
    client.sync_once()
    rec = store.get("equipment.unit", "DT0")
    assert rec is not None and not rec.pending and rec.server_version == 1
    assert store.outbox_depth() == 0 and store.connection.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert client.state.online and client.state.lag == 0 and client.state.cursor == 30


def test_two_desktops_converge_through_the_stream(live_hub: HubProcess, tmp_path: Path) -> None:
    a, client_a = make_client(live_hub, tmp_path, "desk-a", "t-conv", "s1")
    b, client_b = make_client(live_hub, tmp_path, "desk-b", "t-conv", "s1")
    stop = threading.Event()
    runners = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in (client_a, client_b)]
    for r in runners:
        r.start()
    try:
        a.enqueue("finance.cash_float", "S1:BOLT", "create", {"custodian": "S1", "currency": "AUD", "balance": 100},
                  actor="storeman")
        client_a.notify_outbox()
        assert wait_until(lambda: b.get("finance.cash_float", "S1:BOLT") is not None)
        a.enqueue("finance.cash_float", "S1:BOLT", "adjust", {"balance": -30}, actor="storeman")
        b.enqueue("finance.cash_float", "S1:BOLT", "adjust", {"balance": -45}, actor="storeman")
        client_a.notify_outbox()
        client_b.notify_outbox()

        def settled(store: LocalStore) -> bool:
            rec = store.get("finance.cash_float", "S1:BOLT")
            return (rec is not None and rec.state is not None and not rec.pending and rec.server_version == 3
                    and rec.state["balance"] == 25)

        assert wait_until(lambda: settled(a) and settled(b)), (a.get("finance.cash_float", "S1:BOLT"),
                                                              b.get("finance.cash_float", "S1:BOLT"))
    finally:
        stop.set()
        for r in runners:
            r.join(10)
    rows = db_fetch(live_hub.dsn, "SELECT data FROM sync.records WHERE tenant_id = 't-conv' AND entity_id = 'S1:BOLT'")
    assert rows[0]["data"]["balance"] == 25


def test_a_rejection_reaches_the_person_and_leaves_no_phantom(live_hub: HubProcess, tmp_path: Path) -> None:
    store, client = make_client(live_hub, tmp_path, "desk-r", "t-e2e-rej", "s1")
    # Valid locally, refused by the hub: the record does not exist there.
    store.apply_events([])  # nothing known yet
    store.connection.execute("INSERT INTO records (entity, entity_id, server_version, server_state, local_state) "
                             "VALUES ('equipment.unit', 'GHOST', 1, '{\"fleet_no\":\"G\"}', '{\"fleet_no\":\"G\"}')")
    store.enqueue("equipment.unit", "GHOST", "update", {"status": "down"}, actor="supervisor")
    client.sync_once()
    [r] = store.rejections()
    assert r["entity_id"] == "GHOST" and r["code"] == "unknown_base_version" and r["message"]
    assert store.get("equipment.unit", "GHOST").state == {"fleet_no": "G"}  # type: ignore[union-attr]
