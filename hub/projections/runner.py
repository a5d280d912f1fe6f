"""Keep the operations read models in step with the event log.

`project()` reads the events after the projection's cursor, collects the keys they touch (a store/item,
a PO, a work order, an approval request), recomputes each touched key from `sync.records` (the source of
truth, so a late offline movement with an older time re-values the item correctly) and moves the cursor,
all in one transaction per chunk: a crash leaves the read models and the cursor consistent. When the
cursor is older than the log's retention floor, it rebuilds from the records instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from hub.projections.models import (
    Row,
    chains_from,
    delegations_from,
    po_row,
    request_row,
    stock_row,
    stock_row_appended,
    work_order_row,
)

PROJECTION = "operations"
ENTITIES = (
    "inventory.movement", "procurement.purchase_order", "procurement.goods_receipt", "maintenance.work_order",
    "maintenance.work_order_transition", "approvals.request", "approvals.decision", "approvals.chain",
    "approvals.delegation",
)


@dataclass
class Touched:
    stock: set[tuple[str, str]] = field(default_factory=set)
    pos: set[str] = field(default_factory=set)
    work_orders: set[str] = field(default_factory=set)
    requests: set[str] = field(default_factory=set)
    all_requests: bool = False
    # Movements first created in the events read, per stock key; None once a key also saw a replaced row (then it
    # is re-valued from its whole ledger). Empty for a rebuild: every key is re-valued.
    appended: dict[tuple[str, str], list[Row] | None] = field(default_factory=dict)

    def add(self, entity: str, entity_id: str, data: dict[str, Any], version: int = 0) -> None:
        if entity == "inventory.movement":
            if "store_id" in data and "item_id" in data:
                key = (str(data["store_id"]), str(data["item_id"]))
                self.stock.add(key)
                rows = self.appended.setdefault(key, [])
                if version != 1 or rows is None:
                    self.appended[key] = None
                else:
                    rows.append(Row(entity_id, None, data))
        elif entity == "procurement.purchase_order":
            self.pos.add(entity_id)
        elif entity == "procurement.goods_receipt" and "po_id" in data:
            self.pos.add(str(data["po_id"]))
        elif entity == "maintenance.work_order":
            self.work_orders.add(entity_id)
        elif entity == "maintenance.work_order_transition" and "work_order_id" in data:
            self.work_orders.add(str(data["work_order_id"]))
        elif entity == "approvals.request":
            self.requests.add(entity_id)
        elif entity == "approvals.decision" and "request_id" in data:
            self.requests.add(str(data["request_id"]))
        elif entity in ("approvals.chain", "approvals.delegation"):
            self.all_requests = True  # a new threshold or delegation can change every open request


@dataclass(frozen=True)
class ProjectionReport:
    cursor: int
    events: int
    rebuilt: bool


async def project(conn: asyncpg.Connection, tenant_id: str, *, chunk: int = 20_000) -> ProjectionReport:
    """Bring one tenant's read models up to the head of its event log."""
    events = 0
    rebuilt = False
    while True:
        async with conn.transaction():
            cursor = await _lock_cursor(conn, tenant_id)
            heads = await conn.fetchrow("SELECT head, floor FROM sync.tenant_heads WHERE tenant_id = $1", tenant_id)
            head, floor = (int(heads["head"]), int(heads["floor"])) if heads else (0, 0)
            if cursor >= head:
                return ProjectionReport(cursor, events, rebuilt)
            if cursor < floor:
                touched = await _all_keys(conn, tenant_id)
                upto, rebuilt = head, True
            else:
                upto = min(head, cursor + chunk)
                rows = await conn.fetch(
                    "SELECT entity, entity_id, version, payload FROM sync.events WHERE tenant_id = $1 AND seq > $2 "
                    "AND seq <= $3 AND entity = ANY($4::text[])",
                    tenant_id, cursor, upto, list(ENTITIES),
                )
                events += len(rows)
                touched = Touched()
                for r in rows:
                    touched.add(r["entity"], r["entity_id"], r["payload"] or {}, r["version"])
            await refresh(conn, tenant_id, touched)
            await conn.execute(
                "UPDATE sync.projection_cursors SET seq = $3, updated_at = now() WHERE tenant_id = $1 "
                "AND projection = $2", tenant_id, PROJECTION, upto,
            )


async def rebuild(conn: asyncpg.Connection, tenant_id: str) -> None:
    """Recompute every read-model row of a tenant from its records (e.g. after a rule changed).

    It takes the projection's cursor lock first, as `project()` does: the read models are rewritten by
    delete-then-insert, and two writers of one tenant's rows at once (a `pitline seed` beside a serving hub's
    worker) both found nothing to delete and then collided on the primary key."""
    async with conn.transaction():
        await _lock_cursor(conn, tenant_id)
        await refresh(conn, tenant_id, await _all_keys(conn, tenant_id))


async def _lock_cursor(conn: asyncpg.Connection, tenant_id: str) -> int:
    """Take the tenant's projection cursor row (created at 0 the first time) for this transaction."""
    await conn.execute(
        "INSERT INTO sync.projection_cursors (tenant_id, projection) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        tenant_id, PROJECTION,
    )
    return int(await conn.fetchval(
        "SELECT seq FROM sync.projection_cursors WHERE tenant_id = $1 AND projection = $2 FOR UPDATE",
        tenant_id, PROJECTION,
    ))


async def _all_keys(conn: asyncpg.Connection, tenant_id: str) -> Touched:
    touched = Touched(all_requests=True)
    for r in await conn.fetch(
        "SELECT DISTINCT data->>'store_id' AS s, data->>'item_id' AS i FROM sync.records "
        "WHERE tenant_id = $1 AND entity = 'inventory.movement'", tenant_id,
    ):
        touched.stock.add((r["s"], r["i"]))
    masters = (("procurement.purchase_order", touched.pos), ("maintenance.work_order", touched.work_orders))
    for entity, target in masters:
        target.update(r["entity_id"] for r in await conn.fetch(
            "SELECT entity_id FROM sync.records WHERE tenant_id = $1 AND entity = $2", tenant_id, entity))
    for table, column, target in (("procurement.po_status", "po_id", touched.pos),
                                  ("maintenance.work_order_status", "work_order_id", touched.work_orders)):
        target.update(r[0] for r in await conn.fetch(f"SELECT {column} FROM {table} WHERE tenant_id = $1", tenant_id))
    return touched


async def _records(conn: asyncpg.Connection, tenant_id: str, entity: str, ids: Sequence[str]) -> dict[str, Row]:
    rows = await conn.fetch(
        "SELECT entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 "
        "AND entity_id = ANY($3::text[]) AND NOT deleted", tenant_id, entity, list(ids),
    )
    return {r["entity_id"]: Row(r["entity_id"], r["site_id"], r["data"]) for r in rows}


async def _children(conn: asyncpg.Connection, tenant_id: str, entity: str, key: str,
                    ids: Sequence[str]) -> dict[str, list[Row]]:
    rows = await conn.fetch(
        f"SELECT entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 "
        f"AND data->>'{key}' = ANY($3::text[]) AND NOT deleted", tenant_id, entity, list(ids),
    )
    grouped: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        grouped[r["data"][key]].append(Row(r["entity_id"], r["site_id"], r["data"]))
    return grouped


async def refresh(conn: asyncpg.Connection, tenant_id: str, touched: Touched) -> None:
    """Recompute the read-model rows of the touched keys (inside the caller's transaction)."""
    if touched.stock:
        await _refresh_stock(conn, tenant_id, sorted(touched.stock), touched.appended)
    if touched.pos:
        ids = sorted(touched.pos)
        pos = await _records(conn, tenant_id, "procurement.purchase_order", ids)
        receipts = await _children(conn, tenant_id, "procurement.goods_receipt", "po_id", ids)
        rows = [po_row(po, receipts.get(po_id, [])) for po_id, po in pos.items()]
        await _replace(conn, tenant_id, "procurement.po_status", ("po_id",), [(i,) for i in ids], rows)
    if touched.work_orders:
        ids = sorted(touched.work_orders)
        wos = await _records(conn, tenant_id, "maintenance.work_order", ids)
        steps = await _children(conn, tenant_id, "maintenance.work_order_transition", "work_order_id", ids)
        rows = [work_order_row(wo, steps.get(wo_id, [])) for wo_id, wo in wos.items()]
        await _replace(conn, tenant_id, "maintenance.work_order_status", ("work_order_id",), [(i,) for i in ids], rows)
    if touched.requests or touched.all_requests:
        await _refresh_requests(conn, tenant_id, touched)


async def _refresh_stock(conn: asyncpg.Connection, tenant_id: str, keys: list[tuple[str, str]],
                         appended: dict[tuple[str, str], list[Row] | None]) -> None:
    """Advance the rows whose new movements all came after what they hold; re-value the others from their ledger
    (a hot bin's two years of movements are read only when a late row arrives, not on every push)."""
    out: list[dict[str, Any]] = []
    candidates = [k for k in keys if appended.get(k)]
    if candidates:
        current = {(r["store_id"], r["item_id"]): r for r in await conn.fetch(
            "SELECT s.* FROM inventory.stock_on_hand s JOIN unnest($2::text[], $3::text[]) AS k(store_id, item_id) "
            "ON s.store_id = k.store_id AND s.item_id = k.item_id WHERE s.tenant_id = $1",
            tenant_id, [k[0] for k in candidates], [k[1] for k in candidates])}
        for k in candidates:
            advanced = stock_row_appended(current[k], appended[k] or []) if k in current else None
            if advanced is not None:
                out.append(advanced)
        done = {(r["store_id"], r["item_id"]) for r in out}
        keys = [k for k in keys if k not in done]
        await _replace(conn, tenant_id, "inventory.stock_on_hand", ("store_id", "item_id"), sorted(done), out)
    if keys:
        await _revalue_stock(conn, tenant_id, keys)


async def _revalue_stock(conn: asyncpg.Connection, tenant_id: str, keys: list[tuple[str, str]]) -> None:
    rows = await conn.fetch(
        "SELECT r.entity_id, r.site_id, r.data FROM sync.records r "
        "JOIN unnest($2::text[], $3::text[]) AS k(store_id, item_id) "
        "ON r.data->>'store_id' = k.store_id AND r.data->>'item_id' = k.item_id "
        "WHERE r.tenant_id = $1 AND r.entity = 'inventory.movement'",
        tenant_id, [k[0] for k in keys], [k[1] for k in keys],
    )
    grouped: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        grouped[(r["data"]["store_id"], r["data"]["item_id"])].append(Row(r["entity_id"], r["site_id"], r["data"]))
    out = [stock_row(store, item, grouped[(store, item)]) for store, item in keys if grouped.get((store, item))]
    await _replace(conn, tenant_id, "inventory.stock_on_hand", ("store_id", "item_id"), keys, out)


async def _refresh_requests(conn: asyncpg.Connection, tenant_id: str, touched: Touched) -> None:
    if touched.all_requests:
        ids = [r[0] for r in await conn.fetch(
            "SELECT entity_id FROM sync.records WHERE tenant_id = $1 AND entity = 'approvals.request' "
            "UNION SELECT request_id FROM approvals.request_status WHERE tenant_id = $1", tenant_id)]
        ids = sorted(set(ids) | touched.requests)
    else:
        ids = sorted(touched.requests)
    requests = await _records(conn, tenant_id, "approvals.request", ids)
    decisions = await _children(conn, tenant_id, "approvals.decision", "request_id", ids)
    masters = await conn.fetch(
        "SELECT entity, entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 "
        "AND entity IN ('approvals.chain', 'approvals.delegation') AND NOT deleted", tenant_id,
    )
    chains = chains_from(
        Row(r["entity_id"], r["site_id"], r["data"]) for r in masters if r["entity"] == "approvals.chain"
    )
    delegations = delegations_from(
        Row(r["entity_id"], r["site_id"], r["data"]) for r in masters if r["entity"] == "approvals.delegation"
    )
    rows = [request_row(req, decisions.get(rid, []), chains, delegations) for rid, req in requests.items()]
    await _replace(conn, tenant_id, "approvals.request_status", ("request_id",), [(i,) for i in ids], rows)


async def _replace(conn: asyncpg.Connection, tenant_id: str, table: str, key_cols: tuple[str, ...],
                   keys: Iterable[tuple[str, ...]], rows: list[dict[str, Any]]) -> None:
    """Delete the rows of the touched keys, insert their new state (a key whose record is gone stays deleted)."""
    key_list = list(keys)
    unnest = ", ".join(f"${n + 2}::text[]" for n in range(len(key_cols)))
    match = " AND ".join(f"t.{c} = k.{c}" for c in key_cols)
    await conn.execute(
        f"DELETE FROM {table} t USING unnest({unnest}) AS k({', '.join(key_cols)}) "
        f"WHERE t.tenant_id = $1 AND {match}",
        tenant_id, *[[k[n] for k in key_list] for n in range(len(key_cols))],
    )
    if not rows:
        return
    columns = ["tenant_id", *rows[0].keys()]
    placeholders = ", ".join(f"${n + 1}" for n in range(len(columns)))
    await conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
        [(tenant_id, *row.values()) for row in rows],
    )
