"""`POST /v1/telemetry` (an edge's compressed sample batch) and `GET /v1/telemetry/samples` (a range)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime
from starlette.responses import Response

from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden, Unprocessable
from hub.telemetry.body import decompress, parse_batch, read_raw
from hub.telemetry.config import TelemetrySettings
from hub.telemetry.ingest import ingest
from hub.telemetry.query import MAX_LIMIT, RangeQuery, decode_cursor, fetch_page
from shared.telemetry import TelemetryAck, TelemetryBatch

router = APIRouter(tags=["telemetry"])


def telemetry_settings(request: Request) -> TelemetrySettings:
    settings: TelemetrySettings | None = getattr(request.app.state, "telemetry_settings", None)
    if settings is None:
        settings = request.app.state.telemetry_settings = TelemetrySettings.load()
    return settings


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its $defs inlined (OpenAPI resolves $ref from the document root)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


_BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _inline(TelemetryBatch.model_json_schema())}},
    "description": "A TelemetryBatch as JSON, compressed as Content-Encoding says: zstd (edges), gzip or identity."}}


@router.post("/v1/telemetry", summary="Upload a batch of samples; idempotent by batch id and by sample key",
             response_model=TelemetryAck, openapi_extra=_BODY_DOC)
async def post_telemetry(request: Request, principal: Principal = Depends(require_principal)) -> Response:
    settings = telemetry_settings(request)
    raw = await read_raw(request, request.app.state.settings.max_body_bytes)
    batch = parse_batch(decompress(raw, request.headers.get("content-encoding", "identity"),
                                   settings.max_decompressed_bytes))
    if principal.device_id is None or batch.device_id != principal.device_id:
        raise Forbidden("device_id does not match the authenticated device", code="wrong_device")
    pool = request.app.state.pool
    known = await pool.fetchval("SELECT 1 FROM auth.sites WHERE tenant_id = $1 AND id = $2",
                                principal.tenant_id, batch.site_id)
    if not principal.sees_site(batch.site_id) or known is None:
        raise Forbidden(f"this device may not send telemetry for site {batch.site_id!r}", code="wrong_site")
    ack, replayed = await ingest(pool, principal.tenant_id, batch, settings)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.count_telemetry(ack.accepted, ack.duplicates, replayed)
    return Response(ack.model_dump_json(), media_type="application/json")


@router.get("/v1/telemetry/samples", summary="One machine's samples over a time range, keyset-paginated")
async def get_samples(
    request: Request,
    equipment_id: Annotated[str, Query(min_length=1, max_length=64)],
    start: Annotated[AwareDatetime, Query(description="inclusive, with a time zone")],
    end: Annotated[AwareDatetime, Query(description="exclusive, with a time zone")],
    metric: Annotated[str | None, Query(min_length=1, max_length=96)] = None,
    after: Annotated[str | None, Query(max_length=200, description="next_after of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
    principal: Principal = Depends(require_principal),
) -> dict[str, Any]:
    if end <= start:
        raise Unprocessable("end must be after start", code="empty_range")
    if "\x00" in equipment_id or (metric and "\x00" in metric):
        raise Unprocessable("equipment_id and metric cannot contain NUL", code="nul_character")
    q = RangeQuery(tenant_id=principal.tenant_id, equipment_id=equipment_id, start=start, end=end, metric=metric,
                   after=None if after is None else decode_cursor(after), site_ids=principal.site_ids, limit=limit)
    async with request.app.state.pool.acquire() as conn:
        return await fetch_page(conn, q)
