"""Kill -9 of the hub at random points during push and during stream: nothing acknowledged is lost,
nothing is applied twice, and every stream reader ends with exactly the committed events, in order."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.sse import StreamReader
from tests.hub.test_push import db_fetch, make_device


def push_everything(dev: DeviceClient, muts: list[dict[str, object]], acked: set[str], stop: threading.Event) -> None:
    """Push in batches like a device's outbox: retry a batch until every outcome is final."""
    pending = list(muts)
    while pending and not stop.is_set():
        batch = pending[:50]
        try:
            r = dev.push(batch)
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        if r.status_code != 200:
            time.sleep(0.05)
            continue
        for o in r.json()["outcomes"]:
            if o["status"] != "held":
                acked.add(o["mutation_id"])
        pending = [m for m in pending if m["id"] not in acked]


@pytest.mark.parametrize("trials", [pytest.param(3, id="3-trials"),
                                    pytest.param(50, id="50-trials", marks=pytest.mark.slow)])
def test_kill_9_of_the_hub_during_push_and_stream(live_hub: HubProcess, trials: int) -> None:
    rnd = random.Random(trials)
    for trial in range(trials):
        tenant = f"t-kill-{trials}-{trial}"
        dev = make_device(live_hub, tenant, "s1", "desk-1")
        muts = [dev.mutation("forms.submission", f"F{i}", "create", {"form": "f"}) for i in range(400)]
        reader = StreamReader(live_hub.url, dev.token).start()
        acked: set[str] = set()
        stop = threading.Event()
        pusher = threading.Thread(target=push_everything, args=(dev, muts, acked, stop))
        pusher.start()
        try:
            time.sleep(rnd.uniform(0.05, 0.6))  # somewhere in the middle of pushing
            acked_before_kill = set(acked)
            live_hub.kill()
            time.sleep(rnd.uniform(0, 0.3))
            live_hub.start()
            pusher.join(120)
            assert not pusher.is_alive()
            ledger = db_fetch(live_hub.dsn, "SELECT mutation_id FROM sync.applied_mutations WHERE tenant_id = $1",
                              tenant)
            ids = [r["mutation_id"] for r in ledger]
            assert len(ids) == len(set(ids)) == len(muts)  # each exactly once
            assert acked_before_kill <= set(ids)  # nothing acknowledged before the kill was lost
            events = db_fetch(live_hub.dsn, "SELECT seq FROM sync.events WHERE tenant_id = $1 ORDER BY seq", tenant)
            assert [e["seq"] for e in events] == list(range(1, len(muts) + 1))
            expected = len(muts)
            assert reader.wait_for(lambda r, n=expected: len(r.events) >= n, timeout=60)
            assert [e["seq"] for e in reader.events] == list(range(1, len(muts) + 1))
            assert not [e for e in reader.errors if e.startswith("duplicate")]
        finally:
            stop.set()
            reader.stop()
