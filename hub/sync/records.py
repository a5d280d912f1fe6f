"""Reading and writing replicated records inside one apply transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from shared.ids import new_ulids

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
    """The versions of each record that stale mutations are decided by (see load_history): each asked base
    version and the first version after it by another device. Enough for `since()` to hold a foreign writer
    whenever one exists, and for `at()` to give the base state."""

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
    # One index probe per key, locked in the array's order (sorted: a fixed lock order avoids deadlocks). Not
    # a join: on a table that grew since its last ANALYZE (a new tenant's first sync) the planner chose a hash
    # join over every record of the tenant, so each push cost O(table) (measured: 50 ms per 1000-key batch at
    # 100,000 records, 1.5 ms with the probes). FOR UPDATE keeps the subquery from being flattened.
    rows = await conn.fetch(
        """SELECT r.entity, r.entity_id, r.version, r.data, r.deleted, r.site_id
           FROM unnest($2::text[], $3::text[]) AS k(entity, entity_id)
           CROSS JOIN LATERAL (
             SELECT r.entity, r.entity_id, r.version, r.data, r.deleted, r.site_id FROM sync.records r
             WHERE r.tenant_id = $1 AND r.entity = k.entity AND r.entity_id = k.entity_id
             FOR UPDATE
           ) r""",
        tenant_id,
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    for row in rows:
        states[(row["entity"], row["entity_id"])] = RecordState(
            version=row["version"], data=row["data"], deleted=row["deleted"], site_id=row["site_id"], in_db=True
        )
    return states


async def load_history(conn: asyncpg.Connection, tenant_id: str, wanted: set[tuple[Key, int, str]]) -> History:
    """What deciding a stale mutation needs, for each (record, base version, pushing device): the base version's
    state, and the first version after it written by another device (if any; it makes the mutation stale).

    Not every version since the base: a record edited all day against an old base (a shared machine's card)
    had hundreds, and loading them made each push O(the record's history) (the soak's p95 grew with the
    tables). The first foreign writer decides `is_own_lineage` as exactly as all of them do."""
    history = History()
    if not wanted:
        return history
    asks = sorted(wanted)
    # Index probes per ask (OFFSET 0 / LIMIT keep the planner from flattening them into a join: see lock_records).
    rows = await conn.fetch(
        """SELECT DISTINCT ON (v.entity, v.entity_id, v.version)
                  v.entity, v.entity_id, v.version, v.data, v.deleted, v.device_id
           FROM unnest($2::text[], $3::text[], $4::int[], $5::text[]) AS k(entity, entity_id, base, device)
           CROSS JOIN LATERAL (
             (SELECT v.entity, v.entity_id, v.version, v.data, v.deleted, v.device_id FROM sync.record_versions v
              WHERE v.tenant_id = $1 AND v.entity = k.entity AND v.entity_id = k.entity_id AND v.version = k.base
              OFFSET 0)
             UNION ALL
             (SELECT v.entity, v.entity_id, v.version, v.data, v.deleted, v.device_id FROM sync.record_versions v
              WHERE v.tenant_id = $1 AND v.entity = k.entity AND v.entity_id = k.entity_id AND v.version > k.base
                AND v.device_id IS DISTINCT FROM k.device
              ORDER BY v.version LIMIT 1)
           ) v
           ORDER BY v.entity, v.entity_id, v.version""",
        tenant_id,
        [a[0][0] for a in asks],
        [a[0][1] for a in asks],
        [a[1] for a in asks],
        [a[2] for a in asks],
    )
    for row in rows:
        data = None if row["deleted"] else row["data"]
        history.rows[(row["entity"], row["entity_id"])].append(VersionRow(row["version"], data, row["device_id"]))
    return history


# Versions and final states in one statement, from one JSON document: encoding ~20 Python lists element by
# element (asyncpg's array codec) was a quarter of the hub's CPU on a 1000-mutation push, orjson writes the
# document at C speed and PostgreSQL parses it once. `f` marks each record's last write of the push.
_SAVE = """
WITH t AS (
  SELECT * FROM json_to_recordset($2::json)
    AS t(e text, i text, s text, v int, d jsonb, x bool, dev text, m text, f bool)
), versions AS (
  INSERT INTO sync.record_versions
    (tenant_id, entity, entity_id, version, data, deleted, device_id, mutation_id, written_at)
  SELECT $1, e, i, v, d, x, dev, m, $3 FROM t
)
INSERT INTO sync.records (tenant_id, entity, entity_id, site_id, version, data, deleted, updated_at, updated_by)
SELECT $1, e, i, s, v, d, x, $3, dev FROM t WHERE f
ON CONFLICT (tenant_id, entity, entity_id) DO UPDATE SET
  site_id = EXCLUDED.site_id, version = EXCLUDED.version, data = EXCLUDED.data,
  deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by"""


async def save_writes(conn: asyncpg.Connection, tenant_id: str, writes: list[Write], now: datetime) -> None:
    """Persist versions and the final state of each touched record (one statement)."""
    if not writes:
        return
    last = {w.key: i for i, w in enumerate(writes)}
    rows = [{"e": w.key[0], "i": w.key[1], "s": w.site_id, "v": w.version, "d": w.data, "x": w.deleted,
             "dev": w.device_id, "m": w.mutation_id, "f": last[w.key] == n} for n, w in enumerate(writes)]
    await conn.execute(_SAVE, tenant_id, rows, now)


LedgerRow = dict[str, Any]
"""One `sync.applied_mutations` row for the head statement: m (mutation id), d (device), q (device_seq), e, i
(entity, entity id), a (actor), o (the outcome without its seq) and w (the 1-based position of the mutation's
first write in the push, None when it wrote no event: its seq is `head - n + w`)."""


# Everything that must follow the tenant head, in ONE statement (one round trip): take the head, number and
# append the events, write the ledger rows with their seqs, and queue the NOTIFY (delivered at commit). The
# head's row lock is held from here to COMMIT, so each statement after it would serialise the tenant's pushes
# for one more round trip through a busy event loop (measured: 14 of ~40 backends waiting on this lock at
# 500 users when the ledger, audit and cursor statements still followed it; docs/decisions.md D15).
# The rows come as JSON documents (see _SAVE); each event row carries its position n.
_HEAD_EVENTS = """
WITH h AS (
  INSERT INTO sync.tenant_heads AS h (tenant_id, head) VALUES ($1, $2)
  ON CONFLICT (tenant_id) DO UPDATE SET head = h.head + EXCLUDED.head
  RETURNING head
), ev AS (
  INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts, payload, correlation_id)
  SELECT $1, h.head - $2 + t.n, t.id, t.s, t.ty, t.e, t.i, t.v, $4, t.p, t.c
  FROM h, json_to_recordset($3::json) AS t(n bigint, id text, s text, ty text, e text, i text, v int, p jsonb, c text)
)"""
_LEDGER = """, led AS (
  INSERT INTO sync.applied_mutations
    (tenant_id, mutation_id, device_id, device_seq, entity, entity_id, actor, outcome, applied_at)
  SELECT $1, t.m, t.d, t.q, t.e, t.i, t.a,
         CASE WHEN t.w IS NULL THEN t.o ELSE t.o || jsonb_build_object('seq', h.head - $2 + t.w) END, $4
  FROM h, json_to_recordset($5::json) AS t(m text, d text, q bigint, e text, i text, a text, o jsonb, w bigint)
)"""
_NOTIFY = "\nSELECT h.head, pg_notify('pitline_events', $1) FROM h"


async def append_events(conn: asyncpg.Connection, tenant_id: str, writes: list[Write], now: datetime,
                        ledger: list[LedgerRow] | None = None) -> int:
    """Take the tenant's head LAST (commit order = seq order, docs/decisions.md D2), number the writes,
    append their events (and the push's ledger rows, when given) and wake every hub process's listeners at
    commit, all in one statement. Returns the new head. Nothing but COMMIT may follow it."""
    if not writes:
        head: int = await conn.fetchval("SELECT head FROM sync.tenant_heads WHERE tenant_id = $1", tenant_id) or 0
        return head
    n = len(writes)
    ids = new_ulids(n)
    events = [{"n": k, "id": ids[k - 1], "s": w.site_id, "ty": w.event_type, "e": w.key[0], "i": w.key[1],
               "v": w.version, "p": {} if w.deleted else w.data, "c": w.correlation_id}
              for k, w in enumerate(writes, start=1)]
    args: list[Any] = [tenant_id, n, events, now]
    sql = _HEAD_EVENTS
    if ledger:
        sql += _LEDGER
        args.append(ledger)
    head = int(await conn.fetchval(sql + _NOTIFY, *args))
    first = head - n + 1
    for i, w in enumerate(writes):
        w.seq = first + i
    return head
