"""`/healthz` (the process is alive), `/readyz` (it can serve: database reachable, schema at head),
`/metrics` (Prometheus text)."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from hub.errors import error_response
from hub.ops.device_status import device_gauges

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


@router.get("/metrics", summary="Prometheus metrics of this hub process", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    fanout = request.app.state.fanout
    text = request.app.state.metrics.render(streams=fanout.stream_count if fanout is not None else 0)
    cache = getattr(request.app.state, "token_cache", None)
    if cache is not None:
        text += ("# HELP pitline_token_cache_lookups_total Access token lookups answered by this process's cache.\n"
                 "# TYPE pitline_token_cache_lookups_total counter\n"
                 f'pitline_token_cache_lookups_total{{result="hit"}} {cache.hits}\n'
                 f'pitline_token_cache_lookups_total{{result="miss"}} {cache.misses}\n'
                 "# HELP pitline_token_cache_active Whether the token cache may answer (its LISTEN is up).\n"
                 "# TYPE pitline_token_cache_active gauge\n"
                 f"pitline_token_cache_active {int(cache.active)}\n")
    text += await device_gauges(request.app.state.pool)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")
