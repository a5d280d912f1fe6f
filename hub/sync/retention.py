"""Event-log retention: old events are deleted and the tenant's floor moves up. A cursor below the
floor gets 410 snapshot_required (the replica is rebuilt from /v1/sync/snapshot)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def drop_events_through(conn: asyncpg.Connection, tenant_id: str, seq: int) -> int:
    """Delete a tenant's events with seq ≤ `seq`; returns how many were removed."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE sync.tenant_heads SET floor = GREATEST(floor, LEAST($2, head)) WHERE tenant_id = $1",
            tenant_id, seq,
        )
        status = await conn.execute("DELETE FROM sync.events WHERE tenant_id = $1 AND seq <= $2", tenant_id, seq)
    return int(status.split()[-1])


async def apply_retention(conn: asyncpg.Connection, older_than: datetime) -> dict[str, int]:
    """Drop, per tenant, the events older than `older_than`. Returns removed counts by tenant."""
    rows = await conn.fetch(
        "SELECT tenant_id, max(seq) AS last FROM sync.events WHERE ts < $1 GROUP BY tenant_id", older_than
    )
    return {r["tenant_id"]: await drop_events_through(conn, r["tenant_id"], r["last"]) for r in rows}
