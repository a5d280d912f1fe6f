"""The audit log (`audit.log`): every applied mutation, with its before and after states, written in the
push transaction itself (a push whose audit cannot be written does not happen). Append-only: a trigger
refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden
from shared.envelopes import Mutation, Outcome

router = APIRouter()
AUDITORS = frozenset({"administrator", "auditor"})


async def record_push(conn: asyncpg.Connection, principal: Principal, run: Sequence[Mutation],
                      outcomes: dict[str, Outcome], now: datetime) -> None:
    """Audit hook of the push transaction: one row per mutation of the run, with before/after states."""
    # Before/after for changes that took effect; a conflict's two versions live in its conflict record.
    written = [(m.entity, m.entity_id, outcomes[m.id].version) for m in run
               if outcomes[m.id].version is not None and outcomes[m.id].status in ("applied", "merged")]
    states: dict[tuple[str, str, int], Any] = {}
    if written:
        rows = await conn.fetch(
            # Index probes per key, not a join: before the table's first ANALYZE the planner hashed every
            # version of the tenant on each push (O(table) per push; hub.sync.records.lock_records).
            """SELECT v.entity, v.entity_id, v.version, v.data, v.deleted
               FROM unnest($2::text[], $3::text[], $4::int[]) AS k(entity, entity_id, version)
               CROSS JOIN LATERAL (
                 SELECT v.entity, v.entity_id, v.version, v.data, v.deleted FROM sync.record_versions v
                 WHERE v.tenant_id = $1 AND v.entity = k.entity AND v.entity_id = k.entity_id
                   AND v.version BETWEEN k.version - 1 AND k.version
                 OFFSET 0
               ) v""",
            principal.tenant_id, [w[0] for w in written], [w[1] for w in written], [w[2] for w in written],
        )
        states = {(r["entity"], r["entity_id"], r["version"]): None if r["deleted"] else r["data"] for r in rows}
    await conn.execute(
        """INSERT INTO audit.log (tenant_id, at, actor, device_id, mutation_id, action, entity, entity_id, outcome,
                                  version, before, after)
           SELECT $1, $2, a, d, m, act, e, i, o, v, b, af
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                       $10::int[], $11::jsonb[], $12::jsonb[]) AS t(a, d, m, act, e, i, o, v, b, af)""",
        principal.tenant_id, now,
        [m.actor for m in run], [m.device_id for m in run], [m.id for m in run], [f"mutation.{m.op}" for m in run],
        [m.entity for m in run], [m.entity_id for m in run], [str(outcomes[m.id].status) for m in run],
        [outcomes[m.id].version for m in run],
        [states.get((m.entity, m.entity_id, (outcomes[m.id].version or 0) - 1)) for m in run],
        [states.get((m.entity, m.entity_id, outcomes[m.id].version or 0)) for m in run],
    )


async def record_action(conn: asyncpg.Connection, principal: Principal, action: str, *, entity: str | None = None,
                        entity_id: str | None = None, details: dict[str, Any] | None = None,
                        now: datetime | None = None, before: Any = None, after: Any = None) -> None:
    """An administrative action (not a device mutation), in the caller's transaction; `before`/`after` are the
    changed object's states (None where it did not exist)."""
    await conn.execute(
        """INSERT INTO audit.log (tenant_id, at, actor, device_id, action, entity, entity_id, outcome, details,
                                  before, after)
           VALUES ($1, COALESCE($2, now()), $3, $4, $5, $6, $7, 'done', $8, $9, $10)""",
        principal.tenant_id, now, principal.actor, principal.device_id, action, entity, entity_id, details,
        before, after,
    )


@router.get("/v1/audit", summary="The audit log, by entity or by user (administrators and auditors)",
            responses={200: {"description": "Successful Response", "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": True, "title": "Response Read Audit V1 Audit Get"}}}}})
async def read_audit(
    request: Request,
    entity: str | None = Query(None, max_length=64),
    entity_id: str | None = Query(None, max_length=128),
    actor: str | None = Query(None, max_length=128),
    order: Literal["newest", "oldest"] = Query("newest"),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_principal),
) -> Response:
    if not principal.roles & AUDITORS:
        raise Forbidden("reading the audit log needs the administrator or auditor role", code="forbidden_role")
    pool: asyncpg.Pool = request.app.state.pool
    rows = await pool.fetch(
        f"""SELECT id, at, actor, device_id, mutation_id, action, entity, entity_id, outcome, version, before, after
            FROM audit.log
            WHERE tenant_id = $1 AND ($2::text IS NULL OR entity = $2) AND ($3::text IS NULL OR entity_id = $3)
              AND ($4::text IS NULL OR actor = $4)
            ORDER BY id {'DESC' if order == 'newest' else 'ASC'} LIMIT $5""",
        principal.tenant_id, entity, entity_id, actor, limit,
    )
    # orjson straight to bytes: FastAPI's jsonable_encoder walked every before/after state in Python.
    return Response(orjson.dumps({"entries": [{**dict(r), "at": r["at"].isoformat()} for r in rows]}),
                    media_type="application/json")
