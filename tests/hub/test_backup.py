"""The restore drill: back up a hub that is serving, restore into a fresh database, serve that, and check it is
the same hub (events, records, ledger, audit; a retried old push answers duplicate; the log resumes at the
same seq). Real PostgreSQL, real hub processes, the real `pitline hub backup|restore` commands."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hub.db import with_database
from pitline.harness import ROOT, drop_database
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.sse import StreamReader
from tests.hub.test_push import db_fetch, make_device

TENANT = "t-backup"
TABLES = {
    "sync.events": "SELECT * FROM sync.events WHERE tenant_id = $1 ORDER BY seq",
    "sync.records": "SELECT * FROM sync.records WHERE tenant_id = $1 ORDER BY entity, entity_id",
    "sync.record_versions": "SELECT * FROM sync.record_versions WHERE tenant_id = $1 "
                            "ORDER BY entity, entity_id, version",
    "sync.applied_mutations": "SELECT * FROM sync.applied_mutations WHERE tenant_id = $1 ORDER BY mutation_id",
    "sync.held_mutations": "SELECT * FROM sync.held_mutations WHERE tenant_id = $1 ORDER BY device_seq",
    "sync.device_cursors": "SELECT * FROM sync.device_cursors WHERE tenant_id = $1 ORDER BY device_id",
    "sync.tenant_heads": "SELECT * FROM sync.tenant_heads WHERE tenant_id = $1",
    "audit.log": "SELECT * FROM audit.log WHERE tenant_id = $1 ORDER BY id",
}


def pitline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pitline", "hub", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


def snapshot_tables(dsn: str) -> dict[str, list[dict[str, Any]]]:
    return {name: [dict(r) for r in db_fetch(dsn, query, TENANT)] for name, query in TABLES.items()}


def push_history(dev: DeviceClient, other: DeviceClient) -> list[dict[str, Any]]:
    """Creates, updates, a conflict between two devices and a mutation held past a gap."""
    unit = {"equipment_class": "truck"}
    units = [dev.mutation("equipment.unit", f"DT{i:02}", "create", {"fleet_no": f"DT{i:02}", **unit})
             for i in range(30)]
    updates = [dev.mutation("equipment.unit", f"DT{i:02}", "update", {"equipment_class": "dozer"}, base_version=1)
               for i in range(5)]
    forms = [other.mutation("forms.submission", f"F{i}", "create", {"form": "pre-start", "title": f"check {i}"})
             for i in range(10)]
    for dev_, batch in ((dev, units[:10]), (dev, units[10:]), (dev, updates), (other, forms)):
        assert {o["status"] for o in dev_.push_ok(batch)} == {"applied"}
    stale = other.mutation("equipment.unit", "DT00", "update", {"equipment_class": "grader"}, base_version=1)
    outcome = other.push_ok([stale])[0]
    assert outcome["status"] in ("conflict", "merged", "applied"), outcome
    return units + updates


@pytest.fixture
def restored_dsn(pg_server_url: str) -> Any:
    url = with_database(pg_server_url, f"pitline_restored_{secrets.token_hex(4)}")
    try:
        yield url
    finally:
        drop_database(pg_server_url, url)


def test_restore_drill_gives_the_same_hub(live_hub: HubProcess, restored_dsn: str, tmp_path: Path) -> None:
    dev = make_device(live_hub, TENANT, "s1", "desk-1")
    other = make_device(live_hub, TENANT, "s1", "desk-2")
    history = push_history(dev, other)
    gap = dev.mutation("forms.submission", "held-1", "create", {"form": "f"}, device_seq=dev.seq + 2)
    assert dev.push_ok([gap])[0]["status"] == "held"  # device_seq 37 waits for 36: held state is backed up too
    before = snapshot_tables(live_hub.dsn)
    source_events = dev.all_events()
    head = source_events[-1]["seq"]

    out = tmp_path / "hub.dump"
    made = pitline("backup", "--out", str(out), "--database-url", live_hub.dsn, "--json")  # the hub keeps serving
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["revision"] and out.stat().st_size > 0
    done = pitline("restore", str(out), "--database-url", restored_dsn, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["heads"][TENANT] == head

    assert snapshot_tables(restored_dsn) == before  # every row of the tenant, byte for byte

    restored = HubProcess(restored_dsn)
    restored.start()
    try:
        again = DeviceClient(restored.url, dev.token, TENANT, "s1", "desk-1", seq=dev.seq)  # same token: restored
        assert again.all_events() == source_events
        retry = again.push_ok(history)
        assert [o["status"] for o in retry] == ["duplicate"] * len(history)
        assert {o["original"]["status"] for o in retry} == {"applied"}

        reader = StreamReader(restored.url, again.token, after=head).start()
        try:
            assert reader.wait_for(lambda r: r.connections >= 1)
            filler = again.mutation("forms.submission", "fills-gap", "create", {"form": "f"}, device_seq=dev.seq)
            assert [o["status"] for o in again.push_ok([filler])] == ["applied"]  # and the held one with it
            assert reader.wait_for(lambda r: len(r.events) >= 2)
        finally:
            reader.stop()
        assert [e["seq"] for e in reader.events] == [head + 1, head + 2]  # the log resumes where it stood
        assert [e["entity_id"] for e in reader.events] == ["fills-gap", "held-1"]
        assert reader.errors == []

        busy = pitline("restore", str(out), "--database-url", restored_dsn)
        assert busy.returncode == 4 and "stop the hub" in busy.stderr  # never under a serving hub
    finally:
        restored.stop()

    refused = pitline("restore", str(out), "--database-url", restored_dsn)
    assert refused.returncode == 4 and "not empty" in refused.stderr and "--force" in refused.stderr
    forced = pitline("restore", str(out), "--database-url", restored_dsn, "--force")
    assert forced.returncode == 0, forced.stderr
    assert snapshot_tables(restored_dsn) == before


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path, restored_dsn: str) -> None:
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a dump at all")
    bad = pitline("restore", str(junk), "--database-url", restored_dsn)
    assert bad.returncode == 6 and "not a pg_dump custom-format archive" in bad.stderr
    missing = pitline("restore", str(tmp_path / "nope.dump"), "--database-url", restored_dsn)
    assert missing.returncode == 6 and "no such file" in missing.stderr


def test_backup_refuses_a_database_without_the_pitline_schema(pg_server_url: str, restored_dsn: str,
                                                              tmp_path: Path) -> None:
    absent = pitline("backup", "--out", str(tmp_path / "x.dump"), "--database-url", restored_dsn)
    assert absent.returncode == 7 and "cannot connect" in absent.stderr and "Traceback" not in absent.stderr
    from hub.db import connect
    from pitline.harness import run_sync

    async def create() -> None:
        conn = await connect(pg_server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{urlsplit(restored_dsn).path.lstrip("/")}"')
        finally:
            await conn.close()

    run_sync(create())
    made = pitline("backup", "--out", str(tmp_path / "x.dump"), "--database-url", restored_dsn)
    assert made.returncode == 6 and "no Pitline schema" in made.stderr
    assert not (tmp_path / "x.dump").exists()
