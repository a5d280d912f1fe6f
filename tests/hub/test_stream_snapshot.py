"""A snapshot taken while writers run is consistent as of its seq: snapshot + the events after its seq ==
the final state, for a one-page snapshot (exact) and a paged one (pages read later may be newer; events
apply only when newer, so the end state is the same)."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import httpx

from pitline.harness import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_push import make_device

State = dict[tuple[str, str], tuple[int, dict[str, Any]]]


def write_and_rewrite(dev: DeviceClient, seed: int, stop_after: int) -> None:
    """Create units, then update and delete some, in small batches, each mutation on the version it saw."""
    rnd = random.Random(seed)
    versions: dict[str, int] = {}
    for round_ in range(stop_after):
        batch = []
        for _ in range(rnd.randint(1, 4)):
            uid = f"{dev.device_id}-U{rnd.randint(0, 12)}"
            if uid not in versions:
                batch.append(dev.mutation("equipment.unit", uid, "create",
                                          {"fleet_no": uid[-8:], "equipment_class": "truck"}))
                versions[uid] = -1  # pending
            elif versions[uid] > 0 and rnd.random() < 0.15:
                batch.append(dev.mutation("equipment.unit", uid, "delete", {}, versions[uid]))
                versions[uid] = -2
            elif versions[uid] > 0:
                batch.append(dev.mutation("equipment.unit", uid, "update",
                                          {"status": rnd.choice(["operating", "standby", "down"]),
                                           "serial": f"r{round_}"}, versions[uid]))
                versions[uid] = -1
        if not batch:
            continue
        for m, outcome in zip(batch, dev.push_ok(batch), strict=True):
            assert outcome["status"] == "applied", outcome
            versions[m["entity_id"]] = 0 if m["op"] == "delete" else outcome["version"]
        for uid in [u for u, v in versions.items() if v == 0]:
            del versions[uid]  # deleted: may be created again later
        time.sleep(rnd.uniform(0, 0.01))


def take_snapshot(c: httpx.Client, limit: int) -> tuple[int, State]:
    page = c.get("/v1/sync/snapshot", params={"limit": limit}).json()
    seq = page["seq"]
    state: State = {}
    while True:
        for r in page["records"]:
            state[(r["entity"], r["entity_id"])] = (r["version"], r["data"])
        if page["next_cursor"] is None:
            return seq, state
        page = c.get("/v1/sync/snapshot", params={"limit": limit, "cursor": page["next_cursor"], "seq": seq}).json()


def apply_changes(c: httpx.Client, state: State, after: int, exact: bool) -> State:
    state = dict(state)
    deleted_at: dict[tuple[str, str], int] = {}
    while True:
        page = c.get("/v1/sync/changes", params={"after": after, "limit": 500}).json()
        for e in page["events"]:
            key = (e["entity"], e["entity_id"])
            held = state.get(key, (deleted_at.get(key, 0), {}))[0]
            if e["version"] <= held:
                # A one-page snapshot is read in one transaction with its seq: it never holds a later version.
                assert not exact, f"snapshot at {after} already held {key} v{held}, event {e['seq']} is v{e['version']}"
                continue  # the snapshot page already held this version or a newer one
            if e["type"].endswith(".deleted"):
                state.pop(key, None)
                deleted_at[key] = e["version"]
            else:
                state[key] = (e["version"], e["payload"])
        after = page["next_after"]
        if not page["has_more"]:
            return state


def test_snapshot_during_writes_plus_stream_from_its_seq_is_the_final_state(live_hub: HubProcess) -> None:
    tenant = f"t-snap-{random.randrange(10**8)}"
    writers = [make_device(live_hub, tenant, "s1", f"desk-{i}") for i in range(4)]
    reader = make_device(live_hub, tenant, "s1", "reader")
    threads = [threading.Thread(target=write_and_rewrite, args=(d, i, 40)) for i, d in enumerate(writers)]
    for t in threads:
        t.start()
    snapshots: list[tuple[int, State, bool]] = []
    try:
        while any(t.is_alive() for t in threads):
            snapshots.append((*take_snapshot(reader.client, 10_000), True))  # one page: exactly as of its seq
            snapshots.append((*take_snapshot(reader.client, 7), False))  # paged while writers run
            time.sleep(0.05)
    finally:
        for t in threads:
            t.join()
    final_seq, final = take_snapshot(reader.client, 10_000)
    assert final_seq > 0 and final
    mid = [s for s in snapshots if 0 < s[0] < final_seq]
    assert len(mid) >= 2, "no snapshot was taken while writers ran"
    for seq, state, exact in mid:
        assert apply_changes(reader.client, state, seq, exact) == final
