"""Telemetry retention: whole monthly partitions past the window are detached and dropped (no row-by-row
DELETE, no bloat), batch rows of the same age go with them, and the months ahead are created.

Detaching CONCURRENTLY (PostgreSQL 14+) never blocks running loads and queries; it cannot run inside a
transaction, so each partition is its own step, and a detach left half done by a crash is finished the
next time."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime

import asyncpg

from hub.db import connect
from hub.telemetry import partitions
from hub.telemetry.config import TelemetrySettings

log = logging.getLogger(__name__)


def cutoff(retention_months: int, now: datetime | None = None) -> date:
    """The first month kept: the current month and `retention_months` whole months before it."""
    return partitions.add_months(partitions.month_of(now or datetime.now(UTC)), -retention_months)


async def apply_retention(conn: asyncpg.Connection, retention_months: int, now: datetime | None = None) -> list[str]:
    """Drop every partition wholly before the cutoff; returns the dropped partitions' names."""
    if retention_months <= 0:
        return []
    first_kept = cutoff(retention_months, now)
    dropped: list[str] = []
    for month, name in sorted((await partitions.list_partitions(conn)).items()):
        if month >= first_kept:
            continue
        try:
            await conn.execute(f"ALTER TABLE telemetry.samples DETACH PARTITION telemetry.{name} CONCURRENTLY")
        except asyncpg.ObjectNotInPrerequisiteStateError:  # an earlier detach was interrupted: finish it
            await conn.execute(f"ALTER TABLE telemetry.samples DETACH PARTITION telemetry.{name} FINALIZE")
        await conn.execute(f"DROP TABLE IF EXISTS telemetry.{name}")
        dropped.append(name)
    await _drop_detached_leftovers(conn)
    floor = datetime(first_kept.year, first_kept.month, 1, tzinfo=UTC)
    await conn.execute("DELETE FROM telemetry.batches WHERE received_at < $1", floor)
    if dropped:
        partitions.forget()
    return dropped


async def _drop_detached_leftovers(conn: asyncpg.Connection) -> None:
    """A crash between DETACH and DROP leaves a plain table named like a partition: drop it."""
    rows = await conn.fetch(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'telemetry' AND c.relkind = 'r' AND c.relname ~ '^samples_[0-9]{4}_[0-9]{2}$'
             AND NOT c.relispartition""")
    for r in rows:
        await conn.execute(f"DROP TABLE IF EXISTS telemetry.{r['relname']}")


LOCK_KEY = 0x7E1E_0004  # one retention run at a time across hub processes (a session advisory lock)


async def maintain(pool: asyncpg.Pool, settings: TelemetrySettings, session_url: str | None = None) -> list[str]:
    """One round: partitions ahead, then retention (skipped while another process runs it).

    The lock is a session advisory lock (DETACH CONCURRENTLY cannot run in a transaction, so a transaction-scoped
    lock cannot cover it): with `session_url` it is taken on a connection of its own to that URL, since a pooled
    connection behind PgBouncer in transaction mode may change server session between statements."""
    async with pool.acquire() as conn:
        await partitions.ensure_ahead(conn, settings.months_ahead)
        if session_url is None:
            return await _retention_locked(conn, settings)
    session = await connect(session_url)
    try:
        return await _retention_locked(session, settings)
    finally:
        await session.close()


async def _retention_locked(conn: asyncpg.Connection, settings: TelemetrySettings) -> list[str]:
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
        return []
    try:
        return await apply_retention(conn, settings.retention_months)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def run_retention_forever(pool: asyncpg.Pool, settings: TelemetrySettings,
                                session_url: str | None = None) -> None:
    """Run `maintain` every `retention_interval_seconds` (started from the app's lifespan)."""
    while True:
        try:
            dropped = await maintain(pool, settings, session_url)
            if dropped:
                log.info("telemetry retention dropped partitions: %s", dropped)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("telemetry maintenance failed, will retry: %s", exc)
        await asyncio.sleep(settings.retention_interval_seconds)
