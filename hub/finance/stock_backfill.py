"""Valuing stock the hub booked before it posted the ledger (`pitline hub finance value-stock`): every
`inventory.stock` balance without `value_cents` (written before the stock poster existed) gets the moving-average
position of its movements, replayed in the order the hub applied them (its event log) through the same rules the
poster uses, and their entries are posted under the same keys. Afterwards the tenant's ledger is what it would have
been had the poster run from the start, and 1400 = Σ value_cents holds for those balances too.

Run it once after upgrading a hub that already holds stock; a balance a movement has touched since (it carries
`value_cents`) is left alone, so run it before the offices sync stock again or accept that those balances started
from zero value. One transaction, with the balances locked: pushes moving them wait for it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from hub.audit import record_action
from hub.auth.principal import Principal
from hub.finance.posting import admit, open_posting_date, post_collected
from hub.finance.stock_posting import MOVEMENT, cost_movement, movement_day
from hub.sync.context import ApplyContext
from hub.sync.derived import STOCK, booked_movement, stock_key
from hub.sync.records import append_events, lock_records, save_writes
from shared.domain import stock_postings as sp
from shared.domain.costing import StockPosition
from shared.domain.journal import LedgerEntry
from shared.envelopes import Op, event_type
from shared.ids import new_ulid


async def value_stock(conn: asyncpg.Connection, principal: Principal) -> dict[str, Any]:
    tenant, now = principal.tenant_id, datetime.now(UTC)
    ctx = ApplyContext(conn=conn, principal=principal, now=now)
    unvalued = [("inventory.stock", r["entity_id"]) for r in await conn.fetch(
        "SELECT entity_id FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND NOT deleted "
        "AND NOT (data ? 'value_cents')", tenant, STOCK)]
    ctx.states.update(await lock_records(conn, tenant, sorted(unvalued)))
    todo = {k for k in unvalued if ctx.states[k].exists and "value_cents" not in (ctx.states[k].data or {})}
    # The hub's order is its event log's. Events past retention are gone: those movements are the oldest, so they
    # come first, in the order they happened.
    rows = await conn.fetch(
        "SELECT r.entity_id, r.data, f.first FROM sync.records r LEFT JOIN (SELECT entity_id, min(seq) AS first "
        "FROM sync.events WHERE tenant_id = $1 AND entity = $2 GROUP BY entity_id) f ON f.entity_id = r.entity_id "
        "WHERE r.tenant_id = $1 AND r.entity = $2 AND NOT r.deleted "
        "ORDER BY f.first NULLS FIRST, r.data->>'occurred_at', r.entity_id", tenant, MOVEMENT)
    positions: dict[tuple[str, str], StockPosition] = {}
    booked: set[str] = set()
    entries: list[LedgerEntry] = []
    for r in rows:
        movement = booked_movement(r["entity_id"], dict(r["data"]))
        if movement is None or stock_key(movement) not in todo:
            continue
        key = stock_key(movement)
        day, note = await open_posting_date(ctx, movement_day(movement.occurred_at))
        costed, entry = await cost_movement(ctx, movement, dict(r["data"]), positions.get(key, StockPosition()),
                                            ctx.states[key].site_id or "", day, booked=booked)
        booked.add(movement.id)
        positions[key] = costed.position
        entry = sp.with_memo(entry, note)
        if entry is not None:
            entries.append(entry)
            ctx.posting.by_key[entry.key] = entry  # a later transfer in reads its shipment's value from here
    for e in entries:  # admitted one by one: each is checked against the chart and the calendar like a push's
        ctx.posting.by_key.pop(e.key)
        await admit(ctx, [e])
    correlation = new_ulid()
    mismatches = []
    for key in sorted(todo):
        st = ctx.states[key]
        position = positions.get(key, StockPosition())
        on_hand = Decimal(str((st.data or {}).get("on_hand") or 0))
        if position.quantity != on_hand:
            mismatches.append({"stock": key[1], "on_hand": str(on_hand), "movements": str(position.quantity)})
        data = {**(st.data or {}), "value_cents": int(position.value.scaleb(2)), "last_cost": str(position.last_cost)}
        ctx.write(key, data, deleted=False, site_id=st.site_id, device_id=None, mutation_id=None,
                  type_=event_type(STOCK, Op.UPDATE), correlation_id=correlation)
    await post_collected(ctx)
    if ctx.writes:
        await save_writes(conn, tenant, ctx.writes, now)
        await append_events(conn, tenant, ctx.writes, now)
    total = sum((p.value for k, p in positions.items() if k in todo), Decimal("0.00"))
    summary = {"balances": len(todo), "movements": len(booked), "entries": len(ctx.posting.entries),
               "value": str(total), "quantity_mismatches": mismatches}
    await record_action(conn, principal, "finance.stock.value", entity=STOCK, details=summary, now=now)
    return summary
