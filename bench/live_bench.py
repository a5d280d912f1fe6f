"""Live: push-to-client latency with many concurrent SSE streams, vs PostgreSQL's own LISTEN/NOTIFY
delivery latency measured in the same run (the floor under any design that wakes on NOTIFY)."""

from __future__ import annotations

import asyncio
import resource
import statistics
import time

import httpx
import orjson

from bench.env import BenchEnv
from bench.report import Row
from pitline.harness import provision_device, run_sync
from shared.ids import new_ulid


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _streams(url: str, reader_token: str, writer_token: str, streams: int, events: int) -> list[float]:
    latencies: list[float] = []
    connected = 0
    all_connected = asyncio.Event()
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=120), limits=limits) as client:

        async def follow() -> None:
            nonlocal connected
            seen = 0
            async with client.stream("GET", f"{url}/v1/sync/stream", params={"after": 0},
                                     headers={"Authorization": f"Bearer {reader_token}"}) as response:
                connected += 1
                if connected == streams:
                    all_connected.set()
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        sent = float(orjson.loads(line[6:])["payload"]["title"])
                        latencies.append(time.time() - sent)
                        seen += 1
                        if seen >= events:
                            return

        tasks = [asyncio.create_task(follow()) for _ in range(streams)]
        await asyncio.wait_for(all_connected.wait(), timeout=60)
        await asyncio.sleep(0.5)
        for seq in range(1, events + 1):
            mutation = {"id": new_ulid(), "device_id": "bench-writer", "device_seq": seq, "tenant_id": "bench-live",
                        "site_id": "s1", "actor": "u1", "entity": "forms.submission", "entity_id": f"L{seq}",
                        "op": "create", "base_version": 0, "created_at": "2026-11-24T00:00:00+00:00",
                        "payload": {"form": "live", "title": repr(time.time())}}
            r = await client.post(f"{url}/v1/sync/push", json={"device_id": "bench-writer", "mutations": [mutation]},
                                  headers={"Authorization": f"Bearer {writer_token}"})
            r.raise_for_status()
            await asyncio.sleep(0.05)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    return latencies


async def _notify_floor(dsn: str, count: int) -> list[float]:
    from hub.db import connect

    listener, sender = await connect(dsn), await connect(dsn)
    got: list[float] = []
    done = asyncio.Event()

    def on_notify(_c: object, _pid: int, _ch: str, payload: str) -> None:
        got.append(time.time() - float(payload))
        if len(got) >= count:
            done.set()

    await listener.add_listener("bench_floor", on_notify)
    for _ in range(count):
        async with sender.transaction():
            await sender.execute("SELECT pg_notify('bench_floor', $1)", repr(time.time()))
        await asyncio.sleep(0.01)
    await asyncio.wait_for(done.wait(), 30)
    await listener.close()
    await sender.close()
    return got


def run(env: BenchEnv, streams: int, events: int) -> list[Row]:
    _raise_fd_limit()
    reader = provision_device(env.dsn, "bench-live", "s1", "bench-reader")
    writer = provision_device(env.dsn, "bench-live", "s1", "bench-writer")
    floor = run_sync(_notify_floor(env.dsn, 200))
    lat = asyncio.run(_streams(env.hub.url, reader, writer, streams, events))
    p50, p99 = _pct(lat, 50) * 1000, _pct(lat, 99) * 1000
    floor_p99 = _pct(floor, 99) * 1000
    note = (f"{streams} streams × {events} events = {len(lat):,} deliveries; latency from just before the push "
            f"request to the client parsing the event (an upper bound of commit-to-client); p50 {p50:.1f} ms; "
            f"NOTIFY floor p50 {statistics.median(floor) * 1000:.2f} ms")
    return [Row(f"live: p99 latency, {streams} SSE streams", p99, "ms", "LISTEN/NOTIFY p99 (floor)", floor_p99,
                "p99 < 50 ms", p99 < 50, note=note)]
