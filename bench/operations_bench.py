"""Operations read models at seed size: load a seeded site (120 machines × scale, 5,000 items × scale, two
years) into a fresh database's sync.records, rebuild the projections, and time the queries the desktop and
HQ screens run. Target (roadmap): each query under 100 ms at 1× and 10×.

    .venv/bin/python -m bench.operations_bench --scale 1 [--database-url postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import orjson

from hub.db import connect
from hub.projections import rebuild
from pitline.harness import create_database, drop_database
from shared.domain.seed import SiteSpec, generate

TENANT = "bench-ops"
QUERIES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "stock of one item in every store": (
        "SELECT * FROM inventory.stock_on_hand WHERE tenant_id = $1 AND item_id = $2", ("item-00001",)),
    "stock needing review": (
        "SELECT * FROM inventory.stock_on_hand WHERE tenant_id = $1 AND needs_review LIMIT 200", ()),
    "movement history of one store/item": (
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'inventory.movement' "
        "AND data->>'store_id' = $2 AND data->>'item_id' = $3", ("store-main", "item-00001")),
    "open purchase orders (first page)": (
        "SELECT * FROM procurement.po_status WHERE tenant_id = $1 AND status IN ('open', 'partially_received') "
        "ORDER BY po_id DESC LIMIT 50", ()),
    "work orders of one machine": (
        "SELECT * FROM maintenance.work_order_status WHERE tenant_id = $1 AND equipment_id = $2 "
        "ORDER BY last_change_at DESC LIMIT 100", ("equip-001",)),
    "open work orders": (
        "SELECT * FROM maintenance.work_order_status WHERE tenant_id = $1 AND status <> 'closed' LIMIT 200", ()),
    "approvals waiting on a user": (
        "SELECT * FROM approvals.request_status WHERE waiting_on @> ARRAY[$2::text] AND tenant_id = $1",
        ("supervisor",)),
}


async def load(url: str, spec: SiteSpec) -> int:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for d in generate(spec):
        key = (d.entity, d.entity_id)
        latest[key] = {**latest.get(key, {}), **d.payload} if d.op == "update" else dict(d.payload)
    conn = await connect(url)
    try:
        items = list(latest.items())
        for start in range(0, len(items), 20_000):  # set-based insert: one statement per 20k records
            chunk = items[start : start + 20_000]
            await conn.execute(
                "INSERT INTO sync.records (tenant_id, entity, entity_id, site_id, version, data, updated_at) "
                "SELECT $1, u.e, u.i, $2, 1, u.d::jsonb, now() FROM unnest($3::text[], $4::text[], $5::text[]) "
                "AS u(e, i, d)",
                TENANT, spec.site_id, [k[0] for k, _ in chunk], [k[1] for k, _ in chunk],
                [orjson.dumps(v).decode() for _, v in chunk],
            )
        await conn.execute("ANALYZE sync.records")
    finally:
        await conn.close()
    return len(latest)


async def measure(url: str, runs: int) -> dict[str, tuple[float, float, int]]:
    conn = await connect(url)
    try:
        for table in ("inventory.stock_on_hand", "procurement.po_status", "maintenance.work_order_status",
                      "approvals.request_status"):
            await conn.execute(f"ANALYZE {table}")
        out = {}
        for name, (sql, args) in QUERIES.items():
            times = []
            rows = 0
            for _ in range(runs):
                started = time.perf_counter()
                rows = len(await conn.fetch(sql, TENANT, *args))
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            out[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1], rows)
        return out
    finally:
        await conn.close()


async def project_all(url: str) -> float:
    conn = await connect(url)
    try:
        started = time.perf_counter()
        await rebuild(conn, TENANT)
        return time.perf_counter() - started
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get(
        "PITLINE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    spec = SiteSpec(machines=120 * args.scale, items=5_000 * args.scale, days=args.days,
                    issues_per_day=40 * args.scale, breakdowns_per_day=2.0)
    url = create_database(args.database_url, "pitline_opsbench")
    try:
        started = time.perf_counter()
        records = asyncio.run(load(url, spec))
        print(f"scale {args.scale}: {records:,} records loaded in {time.perf_counter() - started:.1f} s")
        print(f"projections rebuilt in {asyncio.run(project_all(url)):.1f} s")
        for name, (median, p95, rows) in asyncio.run(measure(url, args.runs)).items():
            verdict = "ok" if p95 < 100 else "SLOW"
            print(f"  {name:40s} median {median:7.2f} ms  p95 {p95:7.2f} ms  rows {rows:5d}  {verdict}")
    finally:
        drop_database(args.database_url, url)


if __name__ == "__main__":
    main()
