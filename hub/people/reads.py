"""Reading `hr` records inside a push transaction: what is committed, overlaid by this transaction's own writes
(not saved yet), so a batch that creates an employee and their leave is judged like two batches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

Rows = dict[str, dict[str, Any]]  # entity id -> data


def _overlay(ctx: ApplyContext, entity: str, rows: Rows, keep: Any) -> Rows:
    for w in ctx.writes:
        if w.key[0] != entity:
            continue
        if w.deleted or not keep(w.data):
            rows.pop(w.key[1], None)
        else:
            rows[w.key[1]] = w.data
    return rows


# The fields records are looked up by. Entity and field are literals in the SQL (from this fixed list), so the
# planner can prove the partial indexes of migration 0014 serve the lookup even for a prepared statement's generic
# plan, which a parameter for the entity would not let it do.
LOOKUPS = {("hr.leave_request", "employee_id"), ("hr.leave_type", "code"), ("approvals.decision", "request_id")}
# Small tenant-wide master data read whole (a tenant has a handful of chains and delegations).
WHOLE = frozenset({"approvals.chain", "approvals.delegation"})


def lookup_sql(entity: str, field: str) -> str:
    if (entity, field) not in LOOKUPS:
        raise ValueError(f"{entity}.{field} is not a lookup the hub indexes")
    return (f"SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = '{entity}' "
            f"AND data->>'{field}' = $2 AND NOT deleted")


async def where_field(ctx: ApplyContext, entity: str, field: str, value: str) -> Rows:
    """Live records of `entity` whose `field` equals `value` (text), committed or written by this transaction."""
    found = await ctx.conn.fetch(lookup_sql(entity, field), ctx.principal.tenant_id, value)
    rows: Rows = {r["entity_id"]: dict(r["data"]) for r in found}
    return _overlay(ctx, entity, rows, lambda d: str(d.get(field)) == value)


async def all_of(ctx: ApplyContext, entity: str) -> Rows:
    """Every live record of a small master-data entity (`WHOLE`), committed or written by this transaction."""
    if entity not in WHOLE:
        raise ValueError(f"{entity} is not read whole")
    found = await ctx.conn.fetch(f"SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = "
                                 f"'{entity}' AND NOT deleted", ctx.principal.tenant_id)
    return _overlay(ctx, entity, {r["entity_id"]: dict(r["data"]) for r in found}, lambda _d: True)


# By shift date through migration 0014's partial index (the entity a literal, as above), then the person.
ATTENDANCE_NEAR_SQL = ("SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'hr.attendance' "
                       "AND data->>'shift_date' = ANY($2::text[]) AND data->>'employee_id' = $3 AND NOT deleted")


async def attendance_near(ctx: ApplyContext, employee_id: str, dates: list[str]) -> Rows:
    """A person's attendance rows of these shift dates, committed or written by this transaction."""
    found = await ctx.conn.fetch(ATTENDANCE_NEAR_SQL, ctx.principal.tenant_id, dates, employee_id)
    rows: Rows = {r["entity_id"]: dict(r["data"]) for r in found}
    return _overlay(ctx, "hr.attendance", rows,
                    lambda d: d.get("employee_id") == employee_id and str(d.get("shift_date")) in dates)


async def one(ctx: ApplyContext, entity: str, entity_id: str) -> dict[str, Any] | None:
    """One live record, as this transaction sees it (read, not locked: the caller holds the person's lock)."""
    latest = None
    for w in ctx.writes:
        if w.key == (entity, entity_id):
            latest = w
    if latest is not None:
        return None if latest.deleted else latest.data
    data = await ctx.conn.fetchval(
        "SELECT data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND entity_id = $3 AND NOT deleted",
        ctx.principal.tenant_id, entity, entity_id)
    return None if data is None else dict(data)


async def employees_of(ctx: ApplyContext, entity: str, ids: list[str]) -> dict[str, str]:
    """entity id -> the `employee_id` its committed record names (for locking before the records are read)."""
    if not ids:
        return {}
    found = await ctx.conn.fetch(
        "SELECT entity_id, data->>'employee_id' AS employee_id FROM sync.records WHERE tenant_id = $1 "
        "AND entity = $2 AND entity_id = ANY($3::text[])", ctx.principal.tenant_id, entity, ids)
    return {r["entity_id"]: r["employee_id"] for r in found if r["employee_id"]}
