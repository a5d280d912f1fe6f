"""Faults under a following reader: kill -9 of the hub while writers keep committing (a handful of trials by
default, 50 marked slow), and the database dropping every hub connection (as a restart would). Each reader
ends with exactly the committed events, in order, no gaps, no duplicates."""

from __future__ import annotations

import random
import threading
import time

import pytest

from pitline.harness import HubProcess, provision_device, run_sync
from tests.hub.sse import StreamReader
from tests.hub.test_event_order import run_writers, tenant_name


def sql(dsn: str, statement: str) -> None:
    from hub.db import connect

    async def run() -> None:
        conn = await connect(dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    run_sync(run())


def assert_exactly(reader: StreamReader, head: int) -> None:
    assert reader.wait_for(lambda r: len(r.events) >= head, timeout=60), (len(reader.events), head)
    time.sleep(0.1)
    assert [e["seq"] for e in reader.events] == list(range(1, head + 1))
    assert not [e for e in reader.errors if e.startswith("duplicate")]


@pytest.mark.parametrize("trials", [pytest.param(3, id="3-trials"),
                                    pytest.param(50, id="50-trials", marks=pytest.mark.slow)])
def test_kill_9_of_the_hub_during_a_stream(live_hub: HubProcess, trials: int) -> None:
    rnd = random.Random(trials)
    for trial in range(trials):
        tenant = tenant_name(f"kill{trial}")
        token = provision_device(live_hub.dsn, tenant, None, "reader")
        reader = StreamReader(live_hub.url, token).start()
        assert reader.wait_for(lambda r: r.connections >= 1, timeout=10)  # following before the cut
        head_box: list[int] = []
        writer = threading.Thread(target=lambda t=tenant, s=trial, box=head_box: box.append(
            run_sync(run_writers(live_hub.dsn, t, writers=4, txns=30, seed=s, max_pause=0.02))))
        writer.start()
        try:
            time.sleep(rnd.uniform(0.05, 0.5))  # somewhere in the middle of the writes
            live_hub.kill()
            time.sleep(rnd.uniform(0, 0.3))
            live_hub.start()
            writer.join(60)
            assert head_box, "writers did not finish"
            assert_exactly(reader, head_box[0])
            assert reader.connections >= 2  # it really was cut and resumed
        finally:
            writer.join(60)
            reader.stop()


def test_database_dropping_every_hub_connection_loses_no_event(live_hub: HubProcess) -> None:
    tenant = tenant_name("dbdrop")
    token = provision_device(live_hub.dsn, tenant, None, "reader")
    reader = StreamReader(live_hub.url, token).start()
    try:
        run_sync(run_writers(live_hub.dsn, tenant, writers=2, txns=10, seed=1, max_pause=0.01))
        assert reader.wait_for(lambda r: len(r.events) >= 10)
        # Every other session on this database goes: the hub's pool and its LISTEN connection.
        sql(live_hub.dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        head = run_sync(run_writers(live_hub.dsn, tenant, writers=2, txns=10, seed=2, max_pause=0.01))
        assert_exactly(reader, head)
    finally:
        reader.stop()
