"""Reading and writing replicated records inside one apply transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from shared.ids import new_ulid

Key = tuple[str, str]  # (entity, entity_id)


@dataclass
class RecordState:
    version: int = 0
    data: dict[str, Any] | None = None
    deleted: bool = False
    site_id: str | None = None
    in_db: bool = False

    @property
    def exists(self) -> bool:
        return self.data is not None and not self.deleted


@dataclass
class VersionRow:
    version: int
    data: dict[str, Any] | None
    writer: str | None


@dataclass
class Write:
    """One new version of one record: becomes a record_versions row, an event, and the record's state."""

    key: Key
    version: int
    data: dict[str, Any]
    deleted: bool
    site_id: str | None
    device_id: str | None
    mutation_id: str | None
    event_type: str
    correlation_id: str | None
    seq: int = 0


@dataclass
class History:
    """Versions of each record, from the database and from writes earlier in this transaction."""

    rows: dict[Key, list[VersionRow]] = field(default_factory=lambda: defaultdict(list))

    def since(self, key: Key, base_version: int) -> list[VersionRow]:
        return [r for r in self.rows.get(key, []) if r.version > base_version]

    def at(self, key: Key, version: int) -> dict[str, Any] | None:
        for r in self.rows.get(key, []):
            if r.version == version:
                return r.data
        return None


async def lock_records(conn: asyncpg.Connection, tenant_id: str, keys: list[Key]) -> dict[Key, RecordState]:
    """Fetch and row-lock the records of a batch, in key order (a fixed lock order avoids deadlocks)."""
    states: dict[Key, RecordState] = {k: RecordState() for k in keys}
    if not keys:
        return states
    ordered = sorted(keys)
    rows = await conn.fetch(
        """SELECT r.entity, r.entity_id, r.version, r.data, r.deleted, r.site_id
           FROM sync.records r
           JOIN unnest($2::text[], $3::text[]) AS k(entity, entity_id)
             ON r.entity = k.entity AND r.entity_id = k.entity_id
           WHERE r.tenant_id = $1
           ORDER BY r.entity, r.entity_id
           FOR UPDATE OF r""",
        tenant_id,
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    for row in rows:
        states[(row["entity"], row["entity_id"])] = RecordState(
            version=row["version"], data=row["data"], deleted=row["deleted"], site_id=row["site_id"], in_db=True
        )
    return states


async def load_history(conn: asyncpg.Connection, tenant_id: str, wanted: dict[Key, int]) -> History:
    """Versions >= the given base version for each key (only keys whose record moved past a base)."""
    history = History()
    if not wanted:
        return history
    keys = sorted(wanted)
    rows = await conn.fetch(
        """SELECT v.entity, v.entity_id, v.version, v.data, v.deleted, v.device_id
           FROM sync.record_versions v
           JOIN unnest($2::text[], $3::text[], $4::int[]) AS k(entity, entity_id, min_version)
             ON v.entity = k.entity AND v.entity_id = k.entity_id AND v.version >= k.min_version
           WHERE v.tenant_id = $1
           ORDER BY v.entity, v.entity_id, v.version""",
        tenant_id,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [wanted[k] for k in keys],
    )
    for row in rows:
        data = None if row["deleted"] else row["data"]
        history.rows[(row["entity"], row["entity_id"])].append(VersionRow(row["version"], data, row["device_id"]))
    return history


async def save_writes(conn: asyncpg.Connection, tenant_id: str, writes: list[Write], now: datetime) -> None:
    """Persist versions and the final state of each touched record."""
    if not writes:
        return
    # Set-based: one statement per table per push, arrays unnested by PostgreSQL (not one row per message).
    await conn.execute(
        """INSERT INTO sync.record_versions
             (tenant_id, entity, entity_id, version, data, deleted, device_id, mutation_id, written_at)
           SELECT $1, e, i, v, d, x, dev, m, $9
           FROM unnest($2::text[], $3::text[], $4::int[], $5::jsonb[], $6::bool[], $7::text[], $8::text[])
             AS t(e, i, v, d, x, dev, m)""",
        tenant_id, [w.key[0] for w in writes], [w.key[1] for w in writes], [w.version for w in writes],
        [w.data for w in writes], [w.deleted for w in writes], [w.device_id for w in writes],
        [w.mutation_id for w in writes], now,
    )
    final: dict[Key, Write] = {}
    for w in writes:
        final[w.key] = w
    rows = list(final.values())
    await conn.execute(
        """INSERT INTO sync.records
             (tenant_id, entity, entity_id, site_id, version, data, deleted, updated_at, updated_by)
           SELECT $1, e, i, s, v, d, x, $8, dev
           FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::bool[], $9::text[])
             AS t(e, i, s, v, d, x, dev)
           ON CONFLICT (tenant_id, entity, entity_id) DO UPDATE SET
             site_id = EXCLUDED.site_id, version = EXCLUDED.version, data = EXCLUDED.data,
             deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by""",
        tenant_id, [w.key[0] for w in rows], [w.key[1] for w in rows], [w.site_id for w in rows],
        [w.version for w in rows], [w.data for w in rows], [w.deleted for w in rows], now,
        [w.device_id for w in rows],
    )


@dataclass
class LedgerRows:
    """`sync.applied_mutations` rows written by `append_events` in the same statement that takes the head.

    `outcomes` are the outcomes without their event seq; `write_index[i]` is the 1-based position in the
    push's writes of mutation i's first write (None: it wrote no event), so its seq is `head - n + index`."""

    mutation_ids: list[str]
    device_ids: list[str]
    device_seqs: list[int]
    entities: list[str]
    entity_ids: list[str]
    actors: list[str]
    outcomes: list[dict[str, Any]]
    write_index: list[int | None]


# Everything that must follow the tenant head, in ONE statement (one round trip): take the head, number and
# append the events, write the ledger rows with their seqs, and queue the NOTIFY (delivered at commit). The
# head's row lock is held from here to COMMIT, so each statement after it would serialise the tenant's pushes
# for one more round trip through a busy event loop (measured: 14 of ~40 backends waiting on this lock at
# 500 users when the ledger, audit and cursor statements still followed it; docs/decisions.md D15).
_HEAD_EVENTS = """
WITH h AS (
  INSERT INTO sync.tenant_heads AS h (tenant_id, head) VALUES ($1, $2)
  ON CONFLICT (tenant_id) DO UPDATE SET head = h.head + EXCLUDED.head
  RETURNING head
), ev AS (
  INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts, payload, correlation_id)
  SELECT $1, h.head - $2 + t.n, t.id, t.s, t.ty, t.e, t.i, t.v, $9, t.p, t.c
  FROM h, unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $10::jsonb[], $11::text[])
    WITH ORDINALITY AS t(id, s, ty, e, i, v, p, c, n)
)"""
_LEDGER = """, led AS (
  INSERT INTO sync.applied_mutations
    (tenant_id, mutation_id, device_id, device_seq, entity, entity_id, actor, outcome, applied_at)
  SELECT $1, t.m, t.d, t.q, t.e, t.i, t.a,
         CASE WHEN t.w IS NULL THEN t.o ELSE t.o || jsonb_build_object('seq', h.head - $2 + t.w) END, $9
  FROM h, unnest($12::text[], $13::text[], $14::bigint[], $15::text[], $16::text[], $17::text[], $18::jsonb[],
                 $19::bigint[]) AS t(m, d, q, e, i, a, o, w)
)"""
_NOTIFY = "\nSELECT h.head, pg_notify('pitline_events', $1) FROM h"


async def append_events(conn: asyncpg.Connection, tenant_id: str, writes: list[Write], now: datetime,
                        ledger: LedgerRows | None = None) -> int:
    """Take the tenant's head LAST (commit order = seq order, docs/decisions.md D2), number the writes,
    append their events (and the push's ledger rows, when given) and wake every hub process's listeners at
    commit, all in one statement. Returns the new head. Nothing but COMMIT may follow it."""
    if not writes:
        head: int = await conn.fetchval("SELECT head FROM sync.tenant_heads WHERE tenant_id = $1", tenant_id) or 0
        return head
    n = len(writes)
    args: list[Any] = [
        tenant_id, n, [new_ulid() for _ in writes], [w.site_id for w in writes],
        [w.event_type for w in writes], [w.key[0] for w in writes], [w.key[1] for w in writes],
        [w.version for w in writes], now, [{} if w.deleted else w.data for w in writes],
        [w.correlation_id for w in writes],
    ]
    sql = _HEAD_EVENTS
    if ledger is not None and ledger.mutation_ids:
        sql += _LEDGER
        args += [ledger.mutation_ids, ledger.device_ids, ledger.device_seqs, ledger.entities, ledger.entity_ids,
                 ledger.actors, ledger.outcomes, ledger.write_index]
    head = int(await conn.fetchval(sql + _NOTIFY, *args))
    first = head - n + 1
    for i, w in enumerate(writes):
        w.seq = first + i
    return head
