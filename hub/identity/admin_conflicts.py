"""Conflicts from the admin CLI: list them, and resolve one exactly as `POST /v1/conflicts/{id}/resolve` does
(`hub.sync.apply.resolve_conflict`, the event log and the audit entry in one transaction)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from hub.audit import record_action
from hub.finance.posting import post_collected
from hub.identity.admin import BadInput, NotFound, StateConflict, admin_principal
from hub.sync.apply import CONFLICT_ENTITY, ApplyContext, resolve_conflict
from hub.sync.records import append_events, save_writes
from shared.ids import new_ulid

STATUSES = ("open", "auto_resolved", "resolved", "all")


async def list_conflicts(conn: asyncpg.Connection, tenant_id: str, status: str, limit: int) -> list[dict[str, Any]]:
    if status not in STATUSES:
        raise BadInput(f"--status must be one of {', '.join(STATUSES)}")
    rows = await conn.fetch(
        """SELECT entity_id, site_id, data FROM sync.records
           WHERE tenant_id = $1 AND entity = $2 AND ($3 = 'all' OR data->>'status' = $3)
           ORDER BY entity_id DESC LIMIT $4""",
        tenant_id, CONFLICT_ENTITY, status, limit)
    return [{"id": r["entity_id"], "site_id": r["site_id"], **r["data"]} for r in rows]


async def resolve(conn: asyncpg.Connection, actor: str, tenant_id: str, conflict_id: str, choice: str,
                  data_json: str | None, note: str | None) -> dict[str, Any]:
    if choice not in ("server", "client", "custom"):
        raise BadInput("--choice must be server, client or custom")
    data: Any = None
    if data_json is not None:
        try:
            data = orjson.loads(data_json)
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"--data is not JSON: {exc}") from None
    principal = admin_principal(tenant_id, actor)
    ctx = ApplyContext(conn=conn, principal=principal, now=datetime.now(UTC))
    problem = await resolve_conflict(ctx, conflict_id, choice, data, actor=actor, correlation_id=new_ulid())
    if problem is not None:
        if problem.startswith("no conflict"):
            raise NotFound(problem)
        if problem.endswith("not open"):
            raise StateConflict(problem)
        raise BadInput(problem)
    await post_collected(ctx)  # what the resolution booked posts with it
    await save_writes(conn, tenant_id, ctx.writes, ctx.now)
    head = await append_events(conn, tenant_id, ctx.writes, ctx.now)
    await record_action(conn, principal, "conflict.resolve", entity=CONFLICT_ENTITY, entity_id=conflict_id,
                        details={"choice": choice, "note": note, "via": "admin-cli"}, now=ctx.now)
    return {"conflict_id": conflict_id, "status": "resolved", "choice": choice, "head_seq": head}
