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
from shared.permissions import allows

router = APIRouter()


# One statement per push: the before/after states are read from the record versions inside PostgreSQL (correlated
# index probes), never decoded into Python and sent back as parameters; the run travels as one JSON document
# rather than ten arrays (asyncpg checks every array element against the collection ABCs).
_RECORD_PUSH = """
INSERT INTO audit.log (tenant_id, at, actor, device_id, mutation_id, action, entity, entity_id, outcome, version,
                       before, after)
SELECT $1, $2, m.actor, m.device_id, m.mutation_id, m.action, m.entity, m.entity_id, m.outcome, m.version,
       CASE WHEN m.want_before THEN (
         SELECT CASE WHEN NOT v.deleted THEN v.data END FROM sync.record_versions v
         WHERE v.tenant_id = $1 AND v.entity = m.entity AND v.entity_id = m.entity_id AND v.version = m.version - 1)
       END,
       CASE WHEN m.want_after THEN (
         SELECT CASE WHEN NOT v.deleted THEN v.data END FROM sync.record_versions v
         WHERE v.tenant_id = $1 AND v.entity = m.entity AND v.entity_id = m.entity_id AND v.version = m.version)
       END
FROM ROWS FROM (jsonb_to_recordset($3::jsonb) AS (actor text, device_id text, mutation_id text, action text,
                                                  entity text, entity_id text, outcome text, version int,
                                                  want_before boolean, want_after boolean))
     WITH ORDINALITY AS m(actor, device_id, mutation_id, action, entity, entity_id, outcome, version, want_before,
                          want_after, n)
ORDER BY m.n
"""


async def record_push(conn: asyncpg.Connection, principal: Principal, run: Sequence[Mutation],
                      outcomes: dict[str, Outcome], now: datetime) -> None:
    """Audit hook of the push transaction: one row per mutation of the run, with before/after states."""
    # Before/after for changes that took effect (the version written and the one before it); a conflict's two
    # versions live in its conflict record.
    probes: set[tuple[str, str, int]] = set()
    for m in run:
        o = outcomes[m.id]
        if o.version is not None and o.status in ("applied", "merged"):
            probes |= {(m.entity, m.entity_id, o.version), (m.entity, m.entity_id, o.version - 1)}
    rows = []
    for m in run:
        o = outcomes[m.id]
        version = o.version or 0
        rows.append({"actor": m.actor, "device_id": m.device_id, "mutation_id": m.id, "action": f"mutation.{m.op}",
                     "entity": m.entity, "entity_id": m.entity_id, "outcome": str(o.status), "version": o.version,
                     "want_before": (m.entity, m.entity_id, version - 1) in probes,
                     "want_after": (m.entity, m.entity_id, version) in probes})
    await conn.execute(_RECORD_PUSH, principal.tenant_id, now, rows)  # the pool's jsonb codec encodes it (orjson)


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


@router.get("/v1/audit", summary="The audit log, by entity or by user (roles that allow audit.read: administrators)",
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
    if not allows(principal.roles, "audit.read"):  # inline, not a dependency: the fast path serves this route
        raise Forbidden("reading the audit log needs a role that allows audit.read (administrator)",
                        code="forbidden_role")
    pool: asyncpg.Pool = request.app.state.pool
    # Only the filters given, as their own statement: a cached generic plan of `($2 IS NULL OR entity = $2)` can
    # use neither the entity nor the actor index, and walks the tenant's whole log for a rare entity or person.
    filters = [(column, value) for column, value in (("entity", entity), ("entity_id", entity_id), ("actor", actor))
               if value is not None]
    where = "".join(f" AND {column} = ${i}" for i, (column, _) in enumerate(filters, start=3))
    rows = await pool.fetch(
        f"""SELECT id, at, actor, device_id, mutation_id, action, entity, entity_id, outcome, version, before, after
            FROM audit.log WHERE tenant_id = $1{where}
            ORDER BY id {'DESC' if order == 'newest' else 'ASC'} LIMIT $2""",
        principal.tenant_id, limit, *(value for _, value in filters),
    )
    # orjson straight to bytes: FastAPI's jsonable_encoder walked every before/after state in Python.
    return Response(orjson.dumps({"entries": [{**dict(r), "at": r["at"].isoformat()} for r in rows]}),
                    media_type="application/json")
