"""Telemetry: points/s through POST /v1/telemetry into PostgreSQL vs a raw COPY of the same rows into the
same table, and the latency of a one-machine range query on a large table."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import zstandard

from bench.env import BenchEnv
from bench.report import Row
from pitline.harness import provision_device, run_sync
from shared.ids import new_ulid

COLUMNS = ("tenant_id", "equipment_id", "metric", "ts", "value", "site_id")
METRICS = ("engine_on", "working", "hour_meter", "idle_hours", "fuel_used_l", "fuel_remaining_pct")


def make_batches(points: int, per_batch: int, start: datetime) -> list[list[tuple[str, str, datetime, float]]]:
    """200 machines × 6 metrics, one reading every 10 s, in time order (as edges send them)."""
    rows = []
    for i in range(points):
        tick, rest = divmod(i, 200 * len(METRICS))
        machine, metric = divmod(rest, len(METRICS))
        rows.append((f"EQ{machine:03}", METRICS[metric], start + timedelta(seconds=10 * tick), 1000.0 + i / 7))
    return [rows[i:i + per_batch] for i in range(0, points, per_batch)]


def _body(device: str, batch: list[tuple[str, str, datetime, float]]) -> bytes:
    samples = [{"equipment_id": e, "metric": m, "ts": t.isoformat(), "value": v} for e, m, t, v in batch]
    raw = orjson.dumps({"batch_id": new_ulid(), "device_id": device, "site_id": "s1", "samples": samples})
    return zstandard.ZstdCompressor(level=3).compress(raw)


def _post_all(url: str, token: str, bodies: list[bytes], concurrency: int) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "zstd"}
    clients = [httpx.Client(timeout=120, headers=headers) for _ in range(concurrency)]

    def send(i: int) -> int:
        r = clients[i % concurrency].post(f"{url}/v1/telemetry", content=bodies[i])
        if r.status_code != 200:
            raise RuntimeError(f"POST /v1/telemetry answered {r.status_code}: {r.text[:300]}")
        return int(r.json()["accepted"])

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        accepted = sum(pool.map(send, range(len(bodies))))
    elapsed = time.perf_counter() - started
    for c in clients:
        c.close()
    return elapsed, accepted


async def _copy_all(dsn: str, tenant: str, batches: list[list[tuple[str, str, datetime, float]]],
                    concurrency: int) -> float:
    """COPY each batch in its own transaction, `concurrency` connections at once (as the hub's posts run)."""
    from hub.db import connect

    records = [[(tenant, e, m, t, v, "s1") for e, m, t, v in b] for b in batches]
    conns = [await connect(dsn) for _ in range(concurrency)]

    async def worker(conn: Any, chunks: list[list[tuple[Any, ...]]]) -> None:
        for chunk in chunks:
            async with conn.transaction():
                await conn.copy_records_to_table("samples", schema_name="telemetry", columns=COLUMNS, records=chunk)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, records[i::concurrency]) for i, c in enumerate(conns)))
        return time.perf_counter() - started
    finally:
        for c in conns:
            await c.close()


async def _count(dsn: str, tenant: str) -> int:
    from hub.db import connect

    conn = await connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM telemetry.samples WHERE tenant_id = $1", tenant))
    finally:
        await conn.close()


def ingest(env: BenchEnv, points: int, per_batch: int = 25_000, concurrency: int = 2, rounds: int = 2) -> Row:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    batches = make_batches(points, per_batch, start)
    ours: list[float] = []
    peer: list[float] = []
    for r in range(rounds):  # alternate, so both see the same machine; the best of each is reported
        tenant = f"bench-tel-{r}"
        token = provision_device(env.dsn, tenant, "s1", "bench-gw", kind="edge")
        bodies = [_body("bench-gw", b) for b in batches]
        seconds, accepted = _post_all(env.hub.url, token, bodies, concurrency)
        stored = run_sync(_count(env.dsn, tenant))
        if stored != points or accepted != points:
            raise RuntimeError(f"the hub accepted {accepted} and stored {stored} of {points} points")
        ours.append(points / seconds)
        peer.append(points / run_sync(_copy_all(env.dsn, f"bench-copy-{r}", batches, concurrency)))
    mine, theirs = max(ours), max(peer)
    return Row("telemetry: ingest POST /v1/telemetry", mine, "points/s", "raw COPY, same rows, table, concurrency",
               theirs,
               "≥ 100,000/s and ≥ 0.5× COPY", mine >= 100_000 and mine >= 0.5 * theirs,
               note=f"{points:,} points in {len(batches)} zstd batches of {per_batch:,}, {concurrency} concurrent "
                    f"posts, one hub process; best of {rounds} alternating rounds (ours {_fmt(ours)}, "
                    f"COPY {_fmt(peer)})")


async def _variants(dsn: str, batches: list[list[tuple[str, str, datetime, float]]], rounds: int) -> dict[str, float]:
    """The three load methods of hub.telemetry.ingest, in process (no HTTP), on the same batches."""
    from hub.db import create_pool
    from hub.telemetry.config import TelemetrySettings
    from hub.telemetry.ingest import ingest as load
    from shared.telemetry import TelemetryBatch

    models = [TelemetryBatch.model_validate({"batch_id": new_ulid(), "device_id": "bench-gw", "site_id": "s1",
                                             "samples": [{"equipment_id": e, "metric": m, "ts": t, "value": v}
                                                         for e, m, t, v in b]}) for b in batches]
    points = sum(len(b) for b in batches)
    best: dict[str, float] = {}
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        for r in range(rounds):
            for method in ("copy", "staging", "unnest"):
                started = time.perf_counter()
                for m in models:
                    await load(pool, f"bench-var-{method}-{r}", m, TelemetrySettings(), method=method)  # type: ignore[arg-type]
                best[method] = max(best.get(method, 0.0), points / (time.perf_counter() - started))
    finally:
        await pool.close()
    return best


def variants(env: BenchEnv, points: int, rounds: int = 2) -> Row:
    batches = make_batches(points, 25_000, datetime.now(UTC).replace(microsecond=0) - timedelta(hours=7))
    best = run_sync(_variants(env.dsn, batches, rounds))
    other = max(best["staging"], best["unnest"])
    return Row("telemetry: load method (in process)", best["copy"], "points/s", "staging + ON CONFLICT",
               best["staging"], "the fastest is the default", best["copy"] >= other,
               note=f"{points:,} new points, best of {rounds}: COPY into samples (savepoint, fallback) "
                    f"{best['copy']:,.0f}/s; COPY to a temp table + INSERT … ON CONFLICT {best['staging']:,.0f}/s; "
                    f"INSERT … unnest(arrays) ON CONFLICT {best['unnest']:,.0f}/s")


def _fmt(values: list[float]) -> str:
    return " / ".join(f"{v:,.0f}" for v in values)


async def _fill(dsn: str, rows: int, machines: int, days: int) -> tuple[datetime, float]:
    from hub.db import connect
    from hub.telemetry import partitions

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    per_machine = rows // machines
    step = days * 86400 / per_machine
    conn = await connect(dsn)
    try:
        month = partitions.month_of(start)
        months = []
        while month <= partitions.month_of(end):
            months.append(month)
            month = partitions.add_months(month, 1)
        await partitions.ensure_months(conn, months)
        started = time.perf_counter()
        chunk = 1_000_000
        for first in range(0, per_machine * machines, chunk):
            last = min(per_machine * machines, first + chunk) - 1
            await conn.execute(
                """INSERT INTO telemetry.samples (tenant_id, equipment_id, metric, ts, value, site_id)
                   SELECT 'bench-tel-q', 'EQ' || lpad((g % $3)::text, 4, '0'), 'hour_meter',
                          $4::timestamptz + (g / $3) * make_interval(secs => $5), g * 0.001, 's1'
                   FROM generate_series($1::bigint, $2::bigint) AS g""",
                first, last, machines, start, step)
        # Past months are all-visible in a running store (autovacuum's insert threshold): the range query reads
        # the key alone there; only the newest pages of the current month still visit the table.
        await conn.execute("VACUUM ANALYZE telemetry.samples")
        return start, time.perf_counter() - started
    finally:
        await conn.close()


def range_query(env: BenchEnv, rows: int, machines: int = 500, days: int = 90, queries: int = 300) -> Row:
    start, fill_seconds = run_sync(_fill(env.dsn, rows, machines, days))
    token = provision_device(env.dsn, "bench-tel-q", "s1", "bench-reader", kind="edge")
    rnd = random.Random(7)
    latencies: list[float] = []
    returned = 0
    with httpx.Client(base_url=env.hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for i in range(queries + 20):
            day = start + timedelta(days=rnd.randrange(days - 1), hours=rnd.randrange(24))
            params: dict[str, Any] = {"equipment_id": f"EQ{rnd.randrange(machines):04}", "metric": "hour_meter",
                                      "start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(),
                                      "limit": 1000}
            t = time.perf_counter()
            r = client.get("/v1/telemetry/samples", params=params)
            elapsed = time.perf_counter() - t
            if r.status_code != 200:
                raise RuntimeError(f"range query answered {r.status_code}: {r.text[:300]}")
            if i >= 20:  # the first 20 warm the connection and the plan cache
                latencies.append(elapsed * 1000)
                returned += len(r.json()["samples"])
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    return Row(f"telemetry: range query, {rows:,}-row table", p95, "ms p95", "", None,
               "p95 ≤ 50 ms (at 100M rows)", p95 <= 50,
               note=f"{queries} GETs of one machine, one metric, one day (~{returned // queries} rows each) over HTTP; "
                    f"p50 {statistics.median(latencies):.1f} ms, max {latencies[-1]:.1f} ms; {machines} machines "
                    f"over {days} days; table filled server-side in {fill_seconds:.0f} s")


def run(env: BenchEnv, points: int, query_rows: int) -> list[Row]:
    return [ingest(env, points), variants(env, min(points, 500_000)), range_query(env, query_rows)]


if __name__ == "__main__":  # `python -m bench.telemetry_bench [points] [query_rows]`
    import sys

    from bench.cli import RESULTS
    from bench.env import bench_env
    from bench.report import show

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    q = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    with bench_env() as env:
        result = run(env, n, q)
    show(result, RESULTS.with_name("telemetry.json"))
