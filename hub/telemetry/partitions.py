"""Monthly partitions of telemetry.samples: created ahead, created on demand, listed for retention.

Partition creation runs in its own short transaction (never inside a batch's load), through the SQL
function `telemetry.ensure_month` (migration 0004), which serialises creators and ATTACHes an empty
table so running loads and queries are not blocked. Each process remembers the months it knows exist;
a load that still meets a missing month (dropped by retention in another process) forgets the cache and
ensures again."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

import asyncpg

_known: set[date] = set()
_NAME = re.compile(r"^samples_(\d{4})_(\d{2})$")


def month_of(ts: datetime) -> date:
    ts = ts.astimezone(UTC)
    return date(ts.year, ts.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def forget() -> None:
    """Forget which months exist (after retention dropped some, or a load met a missing one)."""
    _known.clear()


async def ensure_months(conn: asyncpg.Connection, months: Iterable[date]) -> list[date]:
    """Make sure every month has a partition; returns the months this call had to check."""
    missing = sorted(set(months) - _known)
    for month in missing:
        await conn.execute("SELECT telemetry.ensure_month($1::date)", month)
        _known.add(month)
    return missing


async def ensure_ahead(conn: asyncpg.Connection, ahead: int, now: datetime | None = None) -> list[date]:
    """The current month and `ahead` months after it."""
    current = month_of(now or datetime.now(UTC))
    return await ensure_months(conn, [add_months(current, i) for i in range(ahead + 1)])


async def list_partitions(conn: asyncpg.Connection) -> dict[date, str]:
    """Month → partition name, for every attached partition of telemetry.samples."""
    rows = await conn.fetch(
        """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'telemetry.samples'::regclass"""
    )
    out: dict[date, str] = {}
    for r in rows:
        m = _NAME.match(r["relname"])
        if m:
            out[date(int(m[1]), int(m[2]), 1)] = r["relname"]
    return out
