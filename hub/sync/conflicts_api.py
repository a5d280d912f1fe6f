"""`GET /v1/conflicts` and `POST /v1/conflicts/{id}/resolve`: the conflicts that need a person.

Resolving through the API and through a `sync.conflict_resolution` mutation from a desktop run the same
code (`hub.sync.apply.resolve_conflict`) in one transaction with the event log.

Resolving through the API needs a person: roles that allow `conflicts.resolve` and a write of the record the
conflict is about, both at the conflict's site (a resolution writes that record, so it must never let anyone
write what their roles may not). A device token acting as itself has no roles and resolves nothing here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hub.audit import record_action
from hub.auth.principal import Principal, require_principal
from hub.errors import Conflict, Forbidden
from hub.finance.posting import post_collected
from hub.identity.access import require_action, roles_at, who
from hub.sync.apply import CONFLICT_ENTITY, ApplyContext, resolve_conflict
from hub.sync.read_rules import read_rule
from hub.sync.records import append_events, save_writes
from shared.ids import new_ulid
from shared.permissions import allows

router = APIRouter()


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choice: Literal["server", "client", "custom"]
    data: dict[str, Any] | None = None
    note: str | None = Field(default=None, max_length=2000)


@router.get("/v1/conflicts", summary="List conflict records visible to the caller",
            responses={200: {"description": "Successful Response", "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": True,
                "title": "Response List Conflicts V1 Conflicts Get"}}}}})
async def list_conflicts(
    request: Request,
    status: Literal["open", "auto_resolved", "resolved", "all"] = Query("open"),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    rule = read_rule(principal)  # a conflict shows both versions of its record: as readable as that record
    rows = await pool.fetch(
        """SELECT entity_id, site_id, version, data FROM sync.records
           WHERE tenant_id = $1 AND entity = $2 AND ($3 = 'all' OR data->>'status' = $3)
             AND (site_id IS NULL OR $4::text[] IS NULL OR site_id = ANY($4::text[]))
             AND ($6::text[] IS NULL OR data->>'entity' = ANY($6::text[]))
           ORDER BY entity_id DESC LIMIT $5""",
        principal.tenant_id, CONFLICT_ENTITY, status, rule.sites, limit, rule.entity_param,
    )
    body = {"conflicts": [{"id": r["entity_id"], "site_id": r["site_id"], "version": r["version"], **r["data"]}
                          for r in rows]}
    return Response(orjson.dumps(body), media_type="application/json")  # no jsonable_encoder walk


@router.post("/v1/conflicts/{conflict_id}/resolve", summary="Resolve an open conflict")
async def resolve(
    conflict_id: str, body: ResolveRequest, request: Request,
    principal: Principal = Depends(require_action("conflicts.resolve")),
) -> dict[str, Any]:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        await _check_resolver(conn, principal, conflict_id)
        ctx = ApplyContext(conn=conn, principal=principal, now=datetime.now(UTC))
        correlation = new_ulid()
        problem = await resolve_conflict(ctx, conflict_id, body.choice, body.data, actor=principal.actor,
                                         correlation_id=correlation)
        if problem is not None:
            raise Conflict(problem, code="conflict_not_resolvable")
        await post_collected(ctx)  # what the resolution booked posts with it
        await save_writes(conn, principal.tenant_id, ctx.writes, ctx.now)
        head = await append_events(conn, principal.tenant_id, ctx.writes, ctx.now)
        await record_action(conn, principal, "conflict.resolve", entity=CONFLICT_ENTITY, entity_id=conflict_id,
                            details={"choice": body.choice, "note": body.note}, now=ctx.now)
    return {"conflict_id": conflict_id, "status": "resolved", "choice": body.choice, "head_seq": head}


async def _check_resolver(conn: asyncpg.Connection, principal: Principal, conflict_id: str) -> None:
    """403 unless the caller's roles at the conflict's site may resolve it and write what it is about.
    An unknown conflict passes: `resolve_conflict` answers it (409) as it always has."""
    row = await conn.fetchrow(
        """SELECT site_id, data->>'entity' AS about FROM sync.records
           WHERE tenant_id = $1 AND entity = $2 AND entity_id = $3""",
        principal.tenant_id, CONFLICT_ENTITY, conflict_id)
    if row is None:
        return
    site, about = row["site_id"], row["about"] or CONFLICT_ENTITY
    roles = await roles_at(conn, principal, site)
    if allows(roles, "conflicts.resolve") and allows(roles, "write", about):
        return
    held = ", ".join(sorted(roles)) or "no role"
    where = f"at site {site}" if site else "tenant-wide"
    raise Forbidden(f"{who(principal)} ({held} {where}) may not resolve this conflict: it needs roles that allow "
                    f"conflicts.resolve and writing {about} {where}", code="forbidden_role")
