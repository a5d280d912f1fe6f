"""Event order under concurrent writers, and the fan-out's guarantees (one tail read per wake-up for all
streams, bounded buffers, LISTEN reconnect without loss, prompt close), against a real PostgreSQL.

`write_events` writes straight into the log the way the hub's writers do: work first, the tenant's head
LAST, then pg_notify, then commit, with random pauses so concurrent transactions commit out of start order."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from hub.sync.fanout import EventFanout, Subscription
from hub.sync.read_rules import ReadRule
from pitline.harness import HubProcess, provision_device, run_sync
from shared.ids import new_ulid
from tests.hub.sse import StreamReader

EVERYTHING = ReadRule(None, None)  # a subscriber of every site and entity


async def write_events(conn: asyncpg.Connection, tenant: str, n: int, *, site: str | None = None,
                       rnd: random.Random | None = None, max_pause: float = 0.0) -> list[int]:
    """One transaction appending `n` events; returns their seqs."""
    rnd = rnd or random.Random()
    async with conn.transaction():
        if max_pause:
            await asyncio.sleep(rnd.uniform(0, max_pause))  # the concurrent part (validation, record writes)
        head = await conn.fetchval(
            """INSERT INTO sync.tenant_heads AS h (tenant_id, head) VALUES ($1, $2)
               ON CONFLICT (tenant_id) DO UPDATE SET head = h.head + EXCLUDED.head RETURNING head""",
            tenant, n,
        )
        seqs = list(range(head - n + 1, head + 1))
        await conn.executemany(
            """INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts, payload,
                                        correlation_id)
               VALUES ($1, $2, $3, $4, 'forms.submission.created', 'forms.submission', $5, 1, $6, $7, NULL)""",
            [(tenant, s, new_ulid(), site, f"F{s}", datetime.now(UTC), {"n": s}) for s in seqs],
        )
        await conn.execute("SELECT pg_notify('pitline_events', $1)", tenant)
        if max_pause:
            await asyncio.sleep(rnd.uniform(0, max_pause / 4))  # holding the head row: later writers queue
    return seqs


async def run_writers(dsn: str, tenant: str, writers: int, txns: int, *, seed: int = 0, max_pause: float = 0.02,
                      sites: tuple[str | None, ...] = (None,)) -> int:
    """`writers` connections, each committing `txns` transactions of 1..3 events; returns the final head."""
    from hub.db import connect

    async def one(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        conn = await connect(dsn)
        try:
            for _ in range(txns):
                await write_events(conn, tenant, rnd.randint(1, 3), site=rnd.choice(sites), rnd=rnd,
                                   max_pause=max_pause)
        finally:
            await conn.close()

    await asyncio.gather(*(one(k) for k in range(writers)))
    conn = await connect(dsn)
    try:
        head: int = await conn.fetchval("SELECT head FROM sync.tenant_heads WHERE tenant_id = $1", tenant)
        return head
    finally:
        await conn.close()


# --- the tests -------------------------------------------------------------------------------------------
def tenant_name(prefix: str) -> str:
    return f"{prefix}-{new_ulid()[-8:].lower()}"


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    from hub.db import create_pool

    p = await create_pool(pg_dsn, min_size=1, max_size=6)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
async def fanout(pool: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[EventFanout]:
    f = EventFanout(pool)
    await f.start(pg_dsn)
    try:
        yield f
    finally:
        await f.stop()


async def wait_until(predicate: Callable[[], bool], within: float) -> bool:
    for _ in range(int(within / 0.05) + 1):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def drain(sub: Subscription, until_seq: int, within: float = 20.0) -> list[int]:
    seqs: list[int] = []
    deadline = asyncio.get_running_loop().time() + within
    while (not seqs or seqs[-1] < until_seq) and asyncio.get_running_loop().time() < deadline:
        seqs += [r.seq for r in await sub.next_rows(0.2)]
    return seqs


async def test_out_of_order_committers_reach_every_subscriber_once_in_order(
        fanout: EventFanout, pg_dsn: str) -> None:
    tenant = tenant_name("order")
    subs = [await fanout.subscribe(tenant, f"d{i}", EVERYTHING) for i in range(60)]
    collected: list[list[int]] = [[] for _ in subs]

    async def follow(i: int) -> None:
        while True:
            collected[i] += [r.seq for r in await subs[i].next_rows(0.2)]
            await asyncio.sleep(0)

    followers = [asyncio.create_task(follow(i)) for i in range(len(subs))]
    try:
        head = await run_writers(pg_dsn, tenant, writers=8, txns=25, seed=1)
        await wait_until(lambda: all(len(c) >= head for c in collected), 20)
    finally:
        for f in followers:
            f.cancel()
    for seqs in collected:
        assert seqs == list(range(1, head + 1))  # none skipped, none doubled, in order
    tail = fanout._tails[tenant]
    assert fanout.gaps_seen == 0
    # One read per wake-up for all 60 streams, not one per stream per event.
    assert tail.reads <= 8 * 25 + 10, tail.reads


async def test_a_subscriber_that_falls_behind_is_closed_and_others_are_not(pool: asyncpg.Pool, pg_dsn: str) -> None:
    tenant = tenant_name("slow")
    small = EventFanout(pool, queue_limit=20)
    await small.start(pg_dsn)
    try:
        slow = await small.subscribe(tenant, "slow", EVERYTHING)
        quick = await small.subscribe(tenant, "quick", EVERYTHING)
        from hub.db import connect

        conn = await connect(pg_dsn)
        try:
            got: list[int] = []
            for _ in range(10):
                await write_events(conn, tenant, 5)
                got += await drain(quick, got[-1] + 5 if got else 5, within=5)
        finally:
            await conn.close()
        assert got == list(range(1, 51))
        assert slow.is_closed and "fell behind" in slow.reason
        assert await slow.next_rows(0.01) == [] and len(slow._rows) == 0  # nothing kept for a closed stream
        assert not quick.is_closed
    finally:
        await small.stop()


async def test_listen_connection_lost_then_restored_loses_no_event(fanout: EventFanout, pg_dsn: str) -> None:
    from hub.db import connect

    tenant = tenant_name("relisten")
    sub = await fanout.subscribe(tenant, "d1", EVERYTHING)
    conn = await connect(pg_dsn)
    try:
        await write_events(conn, tenant, 3)
        assert await drain(sub, 3) == [1, 2, 3]
        assert fanout._listener is not None
        listener_pid = fanout._listener.get_server_pid()
        # The database drops the LISTEN session (as a restart would); events committed meanwhile send
        # notifications nobody hears.
        await conn.execute("SELECT pg_terminate_backend($1)", listener_pid)
        await write_events(conn, tenant, 4)
        assert await drain(sub, 7, within=10) == [4, 5, 6, 7]
        await wait_until(lambda: fanout._listener is not None and fanout._listener.get_server_pid() != listener_pid,
                         10)
        assert fanout._listener is not None and fanout._listener.get_server_pid() != listener_pid
        started = asyncio.get_running_loop().time()
        await write_events(conn, tenant, 1)
        assert await drain(sub, 8) == [8]
        assert asyncio.get_running_loop().time() - started < 1.0  # woken by NOTIFY again, not by the slow tick
    finally:
        await conn.close()


async def test_close_device_and_stop_end_waiting_streams_at_once(pool: asyncpg.Pool, pg_dsn: str) -> None:
    f = EventFanout(pool)
    await f.start(pg_dsn)
    tenant = tenant_name("close")
    a1 = await f.subscribe(tenant, "dev-a", EVERYTHING)
    a2 = await f.subscribe(tenant, "dev-a", ReadRule(["s1"], None))
    b = await f.subscribe(tenant, "dev-b", EVERYTHING)
    waiting = asyncio.create_task(a1.next_rows(30))
    await asyncio.sleep(0.05)
    assert f.close_device("dev-a") == 2
    assert await asyncio.wait_for(waiting, 1) == []
    assert a1.is_closed and a2.is_closed and "revoked" in a1.reason and not b.is_closed
    waiting_b = asyncio.create_task(b.next_rows(30))
    await asyncio.sleep(0.05)
    await f.stop()
    assert await asyncio.wait_for(waiting_b, 1) == [] and b.is_closed and "shutting down" in b.reason


async def test_visibility_filter_in_the_fanout(fanout: EventFanout, pg_dsn: str) -> None:
    from hub.db import connect

    tenant = tenant_name("vis")
    north = await fanout.subscribe(tenant, "n", ReadRule(["north"], None))
    everyone = await fanout.subscribe(tenant, "hq", EVERYTHING)
    conn = await connect(pg_dsn)
    try:
        await write_events(conn, tenant, 1, site="north")
        await write_events(conn, tenant, 1, site="south")
        await write_events(conn, tenant, 1, site=None)
    finally:
        await conn.close()
    assert await drain(everyone, 3) == [1, 2, 3]
    assert await drain(north, 3, within=2) == [1, 3]


def test_stream_readers_joining_mid_write_see_every_event_once(live_hub: HubProcess) -> None:
    """Subscribe-then-backfill over HTTP: readers that connect while writers commit out of order, and one
    that follows /v1/sync/changes, all end with exactly 1..head."""
    tenant = tenant_name("join")
    token = provision_device(live_hub.dsn, tenant, None, "reader")
    head_box: list[int] = []
    writer = threading.Thread(target=lambda: head_box.append(
        run_sync(run_writers(live_hub.dsn, tenant, writers=6, txns=40, seed=7, max_pause=0.03))))
    readers = [StreamReader(live_hub.url, token).start()]
    writer.start()
    try:
        for _ in range(3):
            time.sleep(0.3)
            readers.append(StreamReader(live_hub.url, token).start())
        polled: list[int] = []
        after = 0
        with httpx.Client(base_url=live_hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
            while writer.is_alive() or not head_box or after < head_box[0]:
                page = c.get("/v1/sync/changes", params={"after": after, "limit": 7}).json()
                polled += [e["seq"] for e in page["events"]]
                after = page["next_after"]
                if not page["has_more"]:
                    time.sleep(0.02)
        writer.join()
        head = head_box[0]
        assert polled == list(range(1, head + 1))
        for reader in readers:
            assert reader.wait_for(lambda r: len(r.events) >= head, timeout=20)
            assert [e["seq"] for e in reader.events] == list(range(1, head + 1))
            assert reader.errors == []
    finally:
        for reader in readers:
            reader.stop()
