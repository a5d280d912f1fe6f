"""Backfill: events/s to one SSE client from a large event log, vs a raw COPY of the same rows."""

from __future__ import annotations

import io
import time

import httpx

from bench.env import BenchEnv
from bench.report import Row
from pitline.harness import provision_device, run_sync


async def _fill(dsn: str, n: int) -> None:
    from hub.db import connect

    conn = await connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts, payload,
                                        correlation_id)
               SELECT 'bench-log', g, lpad(g::text, 26, '0'), 's1', 'forms.submission.created', 'forms.submission',
                      'F' || g, 1, now(), jsonb_build_object('form', 'pre-start', 'title', 'check ' || g), NULL
               FROM generate_series(1, $1::bigint) AS g""", n)
        await conn.execute("INSERT INTO sync.tenant_heads (tenant_id, head) VALUES ('bench-log', $1) "
                           "ON CONFLICT (tenant_id) DO UPDATE SET head = EXCLUDED.head", n)
        await conn.execute("ANALYZE sync.events")
    finally:
        await conn.close()


async def _copy(dsn: str) -> float:
    from hub.db import connect

    conn = await connect(dsn)
    try:
        sink = io.BytesIO()
        started = time.perf_counter()
        await conn.copy_from_query(
            "SELECT seq, id, site_id, type, entity, entity_id, version, ts, payload, correlation_id FROM sync.events "
            "WHERE tenant_id = 'bench-log' ORDER BY seq", output=sink)
        return time.perf_counter() - started
    finally:
        await conn.close()


def _stream(url: str, token: str, n: int) -> float:
    marker = b"event: change\n"
    received = 0
    tail = b""
    started = time.perf_counter()
    with httpx.Client(timeout=httpx.Timeout(30, read=60)) as client, client.stream(
        "GET", f"{url}/v1/sync/stream", params={"after": 0}, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        for chunk in response.iter_raw():  # not iter_bytes(size): it holds a partial chunk until the stream ends
            window = tail + chunk
            received += window.count(marker)
            tail = window[-(len(marker) - 1):]  # a marker split across chunks is counted once, in the next window
            if received >= n:
                break
    return time.perf_counter() - started


def run(env: BenchEnv, n: int) -> Row:
    run_sync(_fill(env.dsn, n))
    token = provision_device(env.dsn, "bench-log", None, "bench-reader")
    copy_seconds = run_sync(_copy(env.dsn))
    stream_seconds = _stream(env.hub.url, token, n)
    mine, peer = n / stream_seconds, n / copy_seconds
    return Row("backfill: SSE to one client", mine, "events/s", "raw COPY TO STDOUT", peer, "≥ 50,000/s",
               mine >= 50_000, note=f"{n:,}-event log, one client, from seq 0")
