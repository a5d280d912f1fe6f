"""Kill -9 of the CLIENT at random points during push and during the stream: after restarts, every
mutation is applied exactly once and the device's replica equals the hub."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.hub.test_push import db_fetch

ROOT = Path(__file__).resolve().parents[2]
DEVICE = """
import sys, threading
from shared.store import LocalStore, PassphraseKeyProvider
from shared.sync import SyncClient
path, url, token = sys.argv[1:4]
key = PassphraseKeyProvider("test passphrase", n=2**10)
client = SyncClient(lambda: LocalStore.open(path, key), url, lambda: token, batch_size=100)
client.add_listener(on_state=lambda s: print("state", s.outbox_depth, s.cursor, flush=True))
client.run(threading.Event())
"""


def key() -> PassphraseKeyProvider:
    return PassphraseKeyProvider("test passphrase", n=2**10)


@pytest.mark.parametrize("trials", [pytest.param(4, id="4"), pytest.param(50, id="50", marks=pytest.mark.slow)])
def test_kill_9_of_the_client_during_push_and_stream(live_hub: HubProcess, tmp_path: Path, trials: int) -> None:
    rnd = random.Random(trials)
    tenant = f"t-ckill-{trials}"
    path = tmp_path / "device.db"
    with LocalStore.open(path, key()) as store:
        store.set_identity(DeviceIdentity("desk-k", tenant, "s1"))
        store.enqueue_many([MutationDraft("forms.submission", f"F{i}", "create", {"form": "f", "title": str(i)}, "u")
                            for i in range(1500)])
    # Another device writes meanwhile, so the stream has events to deliver while we kill.
    other = provision_device(live_hub.dsn, tenant, "s1", "desk-other")
    token = provision_device(live_hub.dsn, tenant, "s1", "desk-k")
    from tests.hub.device import DeviceClient

    writer = DeviceClient(live_hub.url, other, tenant, "s1", "desk-other")
    for trial in range(trials):
        writer.push_ok([writer.mutation("equipment.unit", f"X{trial}-{i}", "create",
                                        {"fleet_no": f"X{i}", "equipment_class": "truck"}) for i in range(100)])
        proc = subprocess.Popen([sys.executable, "-c", DEVICE, str(path), live_hub.url, token], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rnd.uniform(0.3, 1.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        with LocalStore.open(path, key()) as store:
            assert store.integrity_check() == "ok"
    # A last run to completion.
    proc = subprocess.Popen([sys.executable, "-c", DEVICE, str(path), live_hub.url, token], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        head = db_fetch(live_hub.dsn, "SELECT head FROM sync.tenant_heads WHERE tenant_id = $1", tenant)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with LocalStore.open(path, key()) as store:
                head = db_fetch(live_hub.dsn, "SELECT head FROM sync.tenant_heads WHERE tenant_id = $1", tenant)
                if store.outbox_depth() == 0 and store.cursor == head[0]["head"] and \
                        store.connection.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0:
                    break
            time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    ledger = db_fetch(live_hub.dsn, "SELECT mutation_id FROM sync.applied_mutations WHERE tenant_id = $1 "
                                    "AND device_id = 'desk-k'", tenant)
    assert len(ledger) == len({r["mutation_id"] for r in ledger}) == 1500
    hub_records = {(r["entity"], r["entity_id"]): (r["version"], r["data"]) for r in db_fetch(
        live_hub.dsn, "SELECT entity, entity_id, version, data FROM sync.records WHERE tenant_id = $1", tenant)}
    with LocalStore.open(path, key()) as store:
        rows = store.connection.execute("SELECT entity, entity_id, server_version, local_state FROM records")
        local = {(r[0], r[1]): (r[2], orjson.loads(r[3])) for r in rows}
        assert store.cursor == head[0]["head"]
    assert local == hub_records
