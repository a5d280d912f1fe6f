"""`/healthz` (the process is alive), `/readyz` (it can serve: database reachable, schema at head),
and `/metrics` in hub/ops/metrics.py."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.errors import error_response

router = APIRouter()


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The hub can serve: database reachable and schema at this code's head")
async def readyz(request: Request) -> Response:
    from hub.migrate import head_revision

    try:
        revision = await request.app.state.pool.fetchval("SELECT version_num FROM public.alembic_version")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return error_response(503, "database_unavailable", f"the database cannot be reached: {exc}",
                              headers={"Retry-After": "5"})
    if revision != head_revision():
        return error_response(503, "schema_mismatch", f"schema {revision!r}, this hub needs {head_revision()!r}")
    return Response(b'{"status":"ready"}', media_type="application/json")
