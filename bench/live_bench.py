"""Live: push-to-client latency with many concurrent SSE streams, vs PostgreSQL's own LISTEN/NOTIFY
delivery latency measured in the same run (the floor under any design that wakes on NOTIFY)."""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import time
from urllib.parse import urlsplit

import httptools
import orjson
import psutil

from bench.env import BenchEnv, cpu_seconds
from bench.report import Row
from pitline.harness import provision_device, run_sync
from shared.ids import new_ulid


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))


class _SseBody:
    """httptools callbacks for one SSE response: every `data:` line's send time turned into a latency."""

    def __init__(self, latencies: list[float], events: int, done: asyncio.Event) -> None:
        self.latencies, self.events, self.done = latencies, events, done
        self.seen = 0
        self.buffer = b""

    def on_body(self, data: bytes) -> None:
        now = time.time()
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for line in lines:
            if line.startswith(b"data: "):
                self.latencies.append(now - float(orjson.loads(line[6:])["payload"]["title"]))
                self.seen += 1
                if self.seen >= self.events:
                    self.done.set()


async def _follow(url: str, token: str, events: int, latencies: list[float], connected: asyncio.Queue[None]) -> None:
    """One SSE stream on its own connection, read with httptools (what uvicorn parses with) instead of httpx:
    with 500 streams in one client process on the hub's two cores, httpx's per-line work was a large part of
    the measured latency (docs/benchmarks.md, live)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(f"GET /v1/sync/stream?after=0 HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                 f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
    done = asyncio.Event()
    body = _SseBody(latencies, events, done)
    parser = httptools.HttpResponseParser(body)
    announced = False
    try:
        while not done.is_set():
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("the stream ended before its events arrived")
            parser.feed_data(data)
            if not announced:
                if parser.get_status_code() != 200:
                    raise ConnectionError(f"stream answered {parser.get_status_code()}")
                announced = True
                connected.put_nowait(None)
    finally:
        writer.close()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _streams(url: str, reader_token: str, writer_token: str, streams: int, events: int) -> list[float]:
    import httpx  # the single writer only: one request every 50 ms

    latencies: list[float] = []
    connected: asyncio.Queue[None] = asyncio.Queue()
    tasks = [asyncio.create_task(_follow(url, reader_token, events, latencies, connected)) for _ in range(streams)]

    async def all_connected() -> None:
        for _ in range(streams):
            await connected.get()

    await asyncio.wait_for(all_connected(), timeout=60)
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30)) as client:
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
    hub = psutil.Process(env.hub.proc.pid) if env.hub.proc else None
    hub_procs = [hub, *hub.children(recursive=True)] if hub else []
    me = psutil.Process()
    hub_cpu, my_cpu = cpu_seconds(hub_procs), cpu_seconds([me])
    lat = asyncio.run(_streams(env.hub.url, reader, writer, streams, events))
    hub_cpu, my_cpu = cpu_seconds(hub_procs) - hub_cpu, cpu_seconds([me]) - my_cpu
    p50, p99 = _pct(lat, 50) * 1000, _pct(lat, 99) * 1000
    floor_p99 = _pct(floor, 99) * 1000
    note = (f"{streams} streams × {events} events = {len(lat):,} deliveries; latency from just before the push "
            f"request to the client parsing the event (an upper bound of commit-to-client); p50 {p50:.1f} ms; "
            f"NOTIFY floor p50 {statistics.median(floor) * 1000:.2f} ms; CPU per event (stream set-up included): "
            f"hub {hub_cpu / events * 1000:.1f} ms, this client {my_cpu / events * 1000:.1f} ms; "
            f"load average {os.getloadavg()[0]:.1f}")
    return [Row(f"live: p99 latency, {streams} SSE streams", p99, "ms", "LISTEN/NOTIFY p99 (floor)", floor_p99,
                "p99 < 50 ms", p99 < 50, note=note)]
