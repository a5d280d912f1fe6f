"""The sync client's pipelined push against a real hub: each mutation applied once, whatever overtakes what."""

from __future__ import annotations

import threading
from pathlib import Path

from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.sync import SyncClient
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.hub.test_push import db_fetch


def test_two_pipelined_clients_of_one_store_apply_each_mutation_once(live_hub: HubProcess, tmp_path: Path) -> None:
    path, key = tmp_path / "desk.db", PassphraseKeyProvider("test passphrase", n=2**10)
    store = LocalStore.open(path, key)
    store.set_identity(DeviceIdentity("desk-pipe", "t-pipe", "s1"))
    n = 1500
    store.enqueue_many([MutationDraft("forms.submission", f"F{i}", "create", {"form": "pre-start", "title": f"c{i}"},
                                      "u1") for i in range(n)])
    token = provision_device(live_hub.dsn, "t-pipe", "s1", "desk-pipe")
    # Two clients of one store push the same rows at once, each with three batches in flight: batches overtake
    # each other at the hub (held, then resent) and both send the same mutations (duplicates).
    clients = [SyncClient(lambda: LocalStore.open(path, key), live_hub.url, lambda: token, batch_size=100,
                          max_in_flight=3) for _ in range(2)]
    errors: list[BaseException] = []

    def push(client: SyncClient) -> None:
        try:
            client.push_until_empty()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            client.close_thread_store()

    threads = [threading.Thread(target=push, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    clients[0].push_until_empty()  # a round that stopped on held answers leaves its rows for the next one
    clients[0].close_thread_store()
    assert store.outbox_depth() == 0
    ledger = db_fetch(live_hub.dsn, "SELECT device_seq, outcome FROM sync.applied_mutations "
                                    "WHERE tenant_id = $1 AND device_id = $2", "t-pipe", "desk-pipe")
    assert sorted(r["device_seq"] for r in ledger) == list(range(1, n + 1))
    assert all(r["outcome"]["status"] == "applied" for r in ledger)
    events = db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM sync.events WHERE tenant_id = $1", "t-pipe")
    assert events[0]["n"] == n
    held = db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM sync.held_mutations WHERE tenant_id = $1", "t-pipe")
    assert held[0]["n"] == 0
    store.close()
