"""Range queries over one machine's samples, keyset-paginated in the primary key's order (metric, ts).

The WHERE clause fixes tenant and equipment (the key's leading columns) and bounds ts with constants,
so the planner prunes to the months in range and walks each partition's primary-key index; a page
costs the same at row 1 and at row 100 million. The statement text is built per shape (with or without
metric, cursor, site scope) rather than with `$n IS NULL OR …`, which would defeat both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hub.errors import Unprocessable

MAX_LIMIT = 10_000


@dataclass(frozen=True)
class RangeQuery:
    tenant_id: str
    equipment_id: str
    start: datetime
    end: datetime
    metric: str | None = None
    after: tuple[str, datetime] | None = None  # (metric, ts) of the last row of the previous page
    site_ids: frozenset[str] | None = None  # None: every site of the tenant
    limit: int = 1000


def build(q: RangeQuery) -> tuple[str, list[Any]]:
    args: list[Any] = [q.tenant_id, q.equipment_id, q.start, q.end]
    where = ["tenant_id = $1", "equipment_id = $2", "ts >= $3", "ts < $4"]
    if q.metric is not None:
        args.append(q.metric)
        where.append(f"metric = ${len(args)}")
    if q.after is not None:
        if q.metric is not None:
            args.append(q.after[1])
            where.append(f"ts > ${len(args)}")
        else:
            args += list(q.after)
            where.append(f"(metric, ts) > (${len(args) - 1}, ${len(args)})")
    if q.site_ids is not None:
        args.append(sorted(q.site_ids))
        where.append(f"site_id = ANY(${len(args)}::text[])")
    args.append(q.limit)
    sql = (f"SELECT metric, ts, value FROM telemetry.samples WHERE {' AND '.join(where)} "
           f"ORDER BY metric, ts LIMIT ${len(args)}")
    return sql, args


def encode_cursor(metric: str, ts: datetime) -> str:
    return f"{metric}~{ts.isoformat()}"


def decode_cursor(value: str) -> tuple[str, datetime]:
    metric, sep, ts = value.rpartition("~")
    try:
        if not sep or not metric:
            raise ValueError("no metric")
        parsed = datetime.fromisoformat(ts)
        if parsed.tzinfo is None:
            raise ValueError("no time zone")
    except ValueError:
        raise Unprocessable(f"after: {value!r} is not a cursor this hub returned", code="bad_cursor") from None
    return metric, parsed


async def fetch_page(conn: asyncpg.Connection, q: RangeQuery) -> dict[str, Any]:
    sql, args = build(q)
    rows = await conn.fetch(sql, *args)
    samples = [{"equipment_id": q.equipment_id, "metric": r["metric"], "ts": r["ts"], "value": r["value"]}
               for r in rows]
    nxt = encode_cursor(rows[-1]["metric"], rows[-1]["ts"]) if len(rows) == q.limit else None
    return {"samples": samples, "next_after": nxt}


async def explain(conn: asyncpg.Connection, q: RangeQuery) -> str:
    """The plan PostgreSQL chooses for this query (EXPLAIN without ANALYZE), as text."""
    sql, args = build(q)
    rows = await conn.fetch("EXPLAIN " + sql, *args)
    return "\n".join(r[0] for r in rows)
