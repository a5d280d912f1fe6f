"""Reading the event log: keyset pages, encoded straight to JSON bytes (payload spliced as stored text,
never decoded and re-encoded)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from hub.auth.principal import Principal
from hub.sync.read_rules import entity_sql
from shared.errors import PitlineError

MAX_SEQ = 2**63 - 1
"""The largest cursor a bigint seq can hold; anything larger is a bad request, not a database error."""


class CursorBehindFloor(PitlineError):
    """Retention removed events after this cursor: the caller must take a snapshot."""

    def __init__(self, after: int, floor: int) -> None:
        super().__init__(f"events after {after} are no longer kept (retention removed up to {floor})")
        self.after = after
        self.floor = floor

_PAGE = """
SELECT seq, id, site_id, type, entity, entity_id, version, ts, payload::text AS payload, correlation_id
FROM sync.events
WHERE tenant_id = $1 AND seq > $2 AND ($3::text[] IS NULL OR site_id IS NULL OR site_id = ANY($3::text[]))
ORDER BY seq
LIMIT $4
"""


def site_filter(principal: Principal) -> list[str] | None:
    return None if principal.site_ids is None else sorted(principal.site_ids)


async def read_page(conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str, after: int,
                    sites: list[str] | None, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(_PAGE, tenant_id, after, sites, limit)
    return rows


async def head_and_floor(conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str) -> tuple[int, int]:
    row = await conn.fetchrow("SELECT head, floor FROM sync.tenant_heads WHERE tenant_id = $1", tenant_id)
    if row is None:
        return 0, 0
    return int(row["head"]), int(row["floor"])


# The head, the floor and the page in ONE statement: a statement sees one snapshot even in READ COMMITTED, so
# this is the same guarantee as the REPEATABLE READ transaction it replaces (BEGIN, two queries, COMMIT: four
# round trips per `changes` request, the most frequent request of a fleet) in one round trip. The page is only
# read when the cursor is at or above the floor; the aggregate makes one row even for a tenant with no head.
_PAGE_ABOVE_FLOOR = """
SELECT h.head, h.floor, e.seq, e.id, e.site_id, e.type, e.entity, e.entity_id, e.version, e.ts, e.payload,
       e.correlation_id
FROM (SELECT coalesce(max(head), 0) AS head, coalesce(max(floor), 0) AS floor
      FROM sync.tenant_heads WHERE tenant_id = $1) h
LEFT JOIN LATERAL (
  SELECT seq, id, site_id, type, entity, entity_id, version, ts, payload::text AS payload, correlation_id
  FROM sync.events
  WHERE tenant_id = $1 AND seq > $2 AND $2 >= h.floor
    AND ($3::text[] IS NULL OR site_id IS NULL OR site_id = ANY($3::text[]))
    AND """ + entity_sql("entity", "payload", "$5") + """
  ORDER BY seq
  LIMIT $4
) e ON true
ORDER BY e.seq
"""


async def read_page_above_floor(pool: asyncpg.Pool, tenant_id: str, after: int, sites: list[str] | None,
                                limit: int, entities: list[str] | None = None) -> tuple[list[asyncpg.Record], int]:
    """A page read in the same snapshot as the tenant's floor, so retention running meanwhile can never make
    a reader skip events silently: either the page is complete after `after`, or CursorBehindFloor.
    `sites` and `entities` (None: all) are the caller's read rule (`hub.sync.read_rules`); the page holds only
    visible events. Returns the rows and the head of that snapshot."""
    rows: list[asyncpg.Record] = await pool.fetch(_PAGE_ABOVE_FLOOR, tenant_id, after, sites, limit, entities)
    head, floor = int(rows[0]["head"]), int(rows[0]["floor"])
    if after < floor:
        raise CursorBehindFloor(after, floor)
    if rows[0]["seq"] is None:  # no event after the cursor: the one row is the head's
        return [], head
    return rows, head


def encode_event(row: asyncpg.Record | dict[str, Any], tenant_id: str) -> bytes:
    """One event as JSON bytes, in the `shared.envelopes.Event` shape."""
    envelope = orjson.dumps({
        "seq": row["seq"], "id": row["id"], "tenant_id": tenant_id, "site_id": row["site_id"], "type": row["type"],
        "entity": row["entity"], "entity_id": row["entity_id"], "version": row["version"],
        "timestamp": row["ts"], "correlation_id": row["correlation_id"],
    })
    payload: str = row["payload"]  # stored JSON text, spliced as is
    return envelope[:-1] + b',"payload":' + payload.encode() + b"}"


def sse_frame(row: asyncpg.Record | dict[str, Any], tenant_id: str) -> bytes:
    frame: bytes = b"id: %d\nevent: change\ndata: %s\n\n" % (row["seq"], encode_event(row, tenant_id))
    return frame


def sse_frames(rows: list[asyncpg.Record], tenant_id: str) -> bytes:
    """Many events as one chunk: one write per page, not per event."""
    return b"".join([sse_frame(r, tenant_id) for r in rows])
