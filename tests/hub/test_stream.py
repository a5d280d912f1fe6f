"""The pull side against a real hub: changes, the SSE stream, resume, visibility, retention."""

from __future__ import annotations

import random
import threading
from typing import Any

import httpx

from hub.sync.retention import drop_events_through
from tests.fixtures.hubserver import HubProcess
from tests.fixtures.postgres import run_sync
from tests.hub.device import DeviceClient
from tests.hub.sse import StreamReader
from tests.hub.test_push import db_fetch, make_device


def unit(dev: DeviceClient, n: int) -> dict[str, Any]:
    return dev.mutation("equipment.unit", f"U{n}", "create", {"fleet_no": f"U{n}", "equipment_class": "truck"})


def test_changes_pages_through_the_log(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-chg", "s1", "desk-1")
    dev.push_ok([unit(dev, i) for i in range(25)])
    r = dev.changes(0, limit=10)
    page = r.json()
    assert [e["seq"] for e in page["events"]] == list(range(1, 11)) and page["has_more"]
    assert page["events"][0]["type"] == "equipment.unit.created" and page["events"][0]["payload"]["fleet_no"] == "U0"
    events = dev.all_events()
    assert [e["seq"] for e in events] == list(range(1, 26))
    assert dev.changes(0, limit=0).status_code == 422
    assert dev.client.get("/v1/sync/changes", params={"after": "x"}).status_code == 422


def test_stream_backlog_then_live_and_heartbeats(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-live", "s1", "desk-1")
    dev.push_ok([unit(dev, i) for i in range(5)])
    reader = StreamReader(live_hub.url, dev.token).start()
    try:
        assert reader.wait_for(lambda r: len(r.events) == 5)
        dev.push_ok([unit(dev, i) for i in range(5, 8)])
        assert reader.wait_for(lambda r: len(r.events) == 8)
        assert [e["seq"] for e in reader.events] == list(range(1, 9))
        assert reader.errors == []
    finally:
        reader.stop()


def test_resume_with_last_event_id_has_no_gap_and_no_duplicate(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-resume", "s1", "desk-1")
    dev.push_ok([unit(dev, i) for i in range(10)])
    with httpx.Client(timeout=5) as client:
        headers = {"Authorization": f"Bearer {dev.token}", "Last-Event-ID": "4"}
        with client.stream("GET", f"{live_hub.url}/v1/sync/stream", headers=headers) as r:
            ids: list[int] = []
            for line in r.iter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                if len(ids) == 6:
                    break
    assert ids == [5, 6, 7, 8, 9, 10]
    bad = httpx.get(f"{live_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {dev.token}",
                                                               "Last-Event-ID": "abc"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_cursor"


def test_a_site_never_receives_another_sites_events(live_hub: HubProcess) -> None:
    north = make_device(live_hub, "t-vis", "north", "desk-n")
    south = make_device(live_hub, "t-vis", "south", "desk-s")
    north.push_ok([unit(north, 1)])
    south.push_ok([south.mutation("equipment.unit", "S1", "create", {"fleet_no": "S1", "equipment_class": "dozer"})])
    assert [e["entity_id"] for e in north.all_events()] == ["U1"]
    assert [e["entity_id"] for e in south.all_events()] == ["S1"]


def test_concurrent_writers_committing_out_of_order_never_make_a_reader_skip(live_hub: HubProcess) -> None:
    devices = [make_device(live_hub, "t-race", "s1", f"desk-{i}") for i in range(6)]
    reader = StreamReader(live_hub.url, devices[0].token).start()
    per_writer = 60

    def write(dev: DeviceClient, seed: int) -> None:
        rnd = random.Random(seed)
        for i in range(per_writer // 3):
            dev.push_ok([dev.mutation("forms.submission", f"{dev.device_id}-{i}-{k}", "create", {"form": "f"})
                         for k in range(rnd.randint(1, 5))][:3])

    threads = [threading.Thread(target=write, args=(d, n)) for n, d in enumerate(devices)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        head = db_fetch(live_hub.dsn, "SELECT head FROM sync.tenant_heads WHERE tenant_id = 't-race'")[0]["head"]
        assert reader.wait_for(lambda r: len(r.events) >= head, timeout=30)
        assert [e["seq"] for e in reader.events] == list(range(1, head + 1))
        assert reader.errors == []
    finally:
        reader.stop()


def test_a_cursor_older_than_retention_gets_the_snapshot_answer(live_hub: HubProcess) -> None:
    from hub.db import connect

    dev = make_device(live_hub, "t-ret", "s1", "desk-1")
    dev.push_ok([unit(dev, i) for i in range(10)])
    dev.push_ok([dev.mutation("equipment.unit", "U3", "update", {"status": "down"}, 1)])

    async def retire() -> None:
        conn = await connect(live_hub.dsn)
        try:
            await drop_events_through(conn, "t-ret", 6)
        finally:
            await conn.close()

    run_sync(retire())
    for response in (dev.changes(2), httpx.get(f"{live_hub.url}/v1/sync/stream?after=2",
                                               headers={"Authorization": f"Bearer {dev.token}"})):
        assert response.status_code == 410 and response.json()["code"] == "snapshot_required"
    assert dev.changes(6).status_code == 200
    snap = dev.client.get("/v1/sync/snapshot", params={"limit": 4}).json()
    records = list(snap["records"])
    while (cursor := snap["next_cursor"]) is not None:
        snap = dev.client.get("/v1/sync/snapshot", params={"limit": 4, "cursor": cursor, "seq": snap["seq"]}).json()
        records += snap["records"]
    assert snap["seq"] == 11 and len(records) == 10
    assert next(r for r in records if r["entity_id"] == "U3")["data"]["status"] == "down"
    assert dev.client.get("/v1/sync/snapshot", params={"cursor": "zz"}).status_code == 400
