"""The tenant's dimension lists from the admin CLI (`pitline hub finance dimensions` and `dimension-import`):
listing them and importing cost centres and projects from a CSV, checked whole by the shared rules the desktop's
Dimension values screen applies (shared/domain/dimension_lists.py, D78), all or nothing, in the caller's
transaction with its audit entry. Written as synced records, so desktops pull them like any change."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import asyncpg

from hub.audit import record_action
from hub.auth.principal import Principal
from hub.finance.admin import FinanceAdminError, _bool
from hub.finance.chart import load_chart
from hub.sync.records import Write, append_events, lock_records, save_writes
from shared.domain import dimension_lists as dl
from shared.domain.finance_entities import DIMENSION_VALUE_ENTITY, dimension_value_id
from shared.entities import validate_mutation
from shared.envelopes import Op, event_type
from shared.errors import ValidationError

COLUMNS = ("dimension", "value", "name", "active")


async def _stored(conn: asyncpg.Connection | asyncpg.Pool, tenant: str) -> dict[str, dict[str, Any]]:
    return {r["entity_id"]: dict(r["data"]) for r in await conn.fetch(
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND NOT deleted",
        tenant, DIMENSION_VALUE_ENTITY)}


async def dimension_rows(conn: asyncpg.Connection | asyncpg.Pool, tenant: str) -> dict[str, Any]:
    """Every listed value (active or not) and which dimensions are open (any value accepted)."""
    values = dl.listed((await _stored(conn, tenant)).values())
    open_dims = sorted(d.value for d in (await load_chart(conn, tenant)).open_dimensions)
    rows = [{"dimension": v.dimension, "value": v.value, "name": v.name, "active": v.active}
            for v in sorted(values.values(), key=lambda v: (v.dimension, v.value))]
    return {"values": rows, "open_dimensions": open_dims}


def parse_dimension_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    """CSV with a header row: dimension (cost_centre|project), value, and optionally name, active (yes/no).
    Returns (line, record) pairs; a malformed line is refused naming it."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("dimension", "value") if c not in (reader.fieldnames or [])]
    if missing:
        raise FinanceAdminError(f"the CSV needs the columns dimension, value (missing: {', '.join(missing)})")
    unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS]
    if unknown:
        raise FinanceAdminError(f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}")
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, row in enumerate(reader, start=2):
        if None in row:  # csv's restkey: more fields than the header names (an unquoted comma in a name?)
            header = ", ".join(reader.fieldnames or [])
            raise FinanceAdminError(f"line {n} has more fields than the header names ({header}); quote a name that "
                                    "contains a comma")
        rec: dict[str, Any] = {k: (row.get(k) or "").strip() for k in ("dimension", "value", "name")}
        if not rec["name"]:
            del rec["name"]
        rec["active"] = _bool(row.get("active") or "yes", f"line {n} active")
        problem = dl.dimension_problem(rec["dimension"])
        if problem:
            raise FinanceAdminError(f"line {n}: {problem}")
        try:
            validate_mutation(DIMENSION_VALUE_ENTITY, Op.CREATE, rec)
        except ValidationError as exc:
            raise FinanceAdminError(f"line {n} ({rec['dimension']} {rec['value']!r}): {exc}") from None
        rows.append((n, rec))
    if not rows:
        raise FinanceAdminError("the CSV has no values")
    return rows


async def import_dimensions(conn: asyncpg.Connection, principal: Principal, rows: list[tuple[int, dict[str, Any]]]
                            ) -> dict[str, Any]:
    """Upsert the values (record id `<dimension>:<value>`) after checking the whole file against the tenant's
    lists; nothing is written when any line is refused."""
    tenant, now = principal.tenant_id, datetime.now(UTC)
    ids = {dimension_value_id(rec["dimension"], rec["value"]): rec for _, rec in rows}
    states = await lock_records(conn, tenant, sorted((DIMENSION_VALUE_ENTITY, i) for i in ids))
    stored = await _stored(conn, tenant)
    problems = dl.check_import(dl.listed(stored.values()), rows)
    if problems:
        raise FinanceAdminError("; ".join(problems))
    writes: list[Write] = []
    for record_id, rec in sorted(ids.items()):
        st = states[(DIMENSION_VALUE_ENTITY, record_id)]
        data = {**(st.data or {}), **rec} if st.exists else rec
        if st.exists and st.data == data:
            continue
        op = Op.UPDATE if st.exists else Op.CREATE
        writes.append(Write((DIMENSION_VALUE_ENTITY, record_id), st.version + 1, data, False, None, None, None,
                            event_type(DIMENSION_VALUE_ENTITY, op), None))
    if writes:
        await save_writes(conn, tenant, writes, now)
        await append_events(conn, tenant, writes, now)
    await record_action(conn, principal, "finance.dimensions.import", entity=DIMENSION_VALUE_ENTITY,
                        details={"values": len(rows), "changed": len(writes)}, now=now)
    return {"values": len(rows), "changed": len(writes), "unchanged": len(rows) - len(writes)}
