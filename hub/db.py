"""asyncpg pools with orjson codecs, the URL forms the different drivers want, and the server settings the hub
relies on."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson

_log = logging.getLogger(__name__)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(asyncpg_url(url))
    await _init_connection(conn)
    return conn


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond what asyncpg always does first (roll back a transaction left
    open, drop listeners). asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release: one more round trip per acquire, ~9% of a hub worker's samples under load.
    The hub's pool connections keep no session state: no SET, LISTEN (the listeners use their own
    connections), WITH HOLD cursors; the one session advisory lock (telemetry retention) is released by its
    holder in a `finally`, and a connection whose release fails is terminated by asyncpg."""


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        asyncpg_url(url),
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        # PgBouncer in transaction mode cannot keep prepared statements across transactions.
        statement_cache_size=0 if "pgbouncer=1" in url else 100,
    )
    assert pool is not None
    return pool


def asyncpg_url(url: str) -> str:
    """asyncpg wants `postgresql://`, no driver suffix, no pitline-only query flags."""
    parts = urlsplit(url)
    scheme = "postgresql"
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "pgbouncer"]
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy/Alembic use psycopg 3 (sync) for migrations."""
    parts = urlsplit(asyncpg_url(url))
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def warn_without_autovacuum(pool: asyncpg.Pool) -> None:
    """Without autovacuum the statistics never follow the tables: plans chosen for an empty table stay, and reads
    that walk an index today sort a whole tenant tomorrow (docs/operations.md, "PostgreSQL settings")."""
    if await pool.fetchval("SELECT current_setting('autovacuum')") != "on":
        _log.warning("autovacuum is off on this PostgreSQL: table statistics will go stale and queries slow down "
                     "as the tables grow; turn it on, or schedule ANALYZE (see docs/operations.md)")
