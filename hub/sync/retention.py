"""Event-log retention: old events are deleted and the tenant's floor moves up. A cursor below the
floor gets 410 snapshot_required (the replica is rebuilt from /v1/sync/snapshot).

The floor is raised and committed FIRST, the rows are deleted afterwards in small batches: a reader that
checks the floor in the same snapshot as its page (events_read.read_page_above_floor) therefore either
sees every event after its cursor or is told to take a snapshot, and writers wait on the tenant's head row
only for the instant of the floor update, never for a long DELETE."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg

log = logging.getLogger(__name__)

DELETE_BATCH = 20_000


async def drop_events_through(conn: asyncpg.Connection, tenant_id: str, seq: int) -> int:
    """Delete a tenant's events with seq ≤ `seq` (never past its head); returns how many were removed."""
    floor = await conn.fetchval(
        """UPDATE sync.tenant_heads SET floor = GREATEST(floor, LEAST($2::bigint, head)) WHERE tenant_id = $1
           RETURNING floor""",
        tenant_id, seq,
    )
    if floor is None:
        return 0
    removed = 0
    while True:
        status = await conn.execute(
            """DELETE FROM sync.events WHERE tenant_id = $1 AND seq IN (
                 SELECT seq FROM sync.events WHERE tenant_id = $1 AND seq <= $2 ORDER BY seq LIMIT $3)""",
            tenant_id, floor, DELETE_BATCH,
        )
        count = int(status.split()[-1])
        removed += count
        if count < DELETE_BATCH:
            return removed


async def apply_retention(conn: asyncpg.Connection, older_than: datetime) -> dict[str, int]:
    """Drop, per tenant, the events older than `older_than`. Returns removed counts by tenant.

    Per tenant the cut is the highest seq whose event is older than the window; an event committed a
    moment later with an earlier timestamp goes with it (seq order, not clock order, defines the log)."""
    rows = await conn.fetch(
        "SELECT tenant_id, max(seq) AS last FROM sync.events WHERE ts < $1 GROUP BY tenant_id", older_than
    )
    return {r["tenant_id"]: await drop_events_through(conn, r["tenant_id"], r["last"]) for r in rows}


async def run_retention_forever(pool: asyncpg.Pool, retention_days: int, interval_seconds: float = 3600.0) -> None:
    """Apply the retention window every `interval_seconds` (a task the app may start in its lifespan)."""
    while True:
        try:
            async with pool.acquire() as conn:
                removed = await apply_retention(conn, datetime.now(UTC) - timedelta(days=retention_days))
            if removed:
                log.info("retention removed events: %s", removed)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("retention run failed, will retry: %s", exc)
        await asyncio.sleep(interval_seconds)
