"""`GET /v1/sync/changes`, `GET /v1/sync/stream` (SSE) and `GET /v1/sync/snapshot`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from hub.auth.principal import Principal, require_principal, token_hash
from hub.errors import BadRequest, Gone
from hub.sync.events_read import encode_event, head_and_floor, read_page, site_filter, sse_frame
from hub.sync.fanout import EventFanout

router = APIRouter()

BACKLOG_PAGE = 5_000
RETRY_MS = 2_000


def _snapshot_required(after: int, floor: int) -> Gone:
    return Gone(
        f"events after {after} are no longer kept (retention removed up to {floor}): take a snapshot "
        "(GET /v1/sync/snapshot) and resume the stream from its seq",
        code="snapshot_required", details={"floor": floor},
    )


@router.get("/v1/sync/changes", summary="A page of events after a cursor (catch-up and initial sync)")
async def changes(
    request: Request,
    after: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=5000),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head, floor = await head_and_floor(conn, principal.tenant_id)
        if after < floor:
            raise _snapshot_required(after, floor)
        rows = await read_page(conn, principal.tenant_id, after, site_filter(principal), limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    # Past the last visible event the cursor may still move to the head (invisible events are skipped).
    next_after = rows[-1]["seq"] if has_more else max(head, rows[-1]["seq"] if rows else after)
    body = (
        b'{"events":[' + b",".join(encode_event(r, principal.tenant_id) for r in rows) + b"],"
        + b'"next_after":%d,"head_seq":%d,"has_more":%s}' % (next_after, head, b"true" if has_more else b"false")
    )
    return Response(body, media_type="application/json")


@router.get("/v1/sync/stream", summary="Server-Sent Events: the backlog after a cursor, then live events")
async def stream(
    request: Request,
    after: int | None = Query(None, ge=0),
    principal: Principal = Depends(require_principal),
) -> Response:
    cursor = after
    last_event_id = request.headers.get("last-event-id")
    if last_event_id is not None and last_event_id.strip():
        if not last_event_id.strip().isdigit():
            raise BadRequest("Last-Event-ID must be a sequence number", code="bad_cursor")
        cursor = max(cursor or 0, int(last_event_id))
    cursor = cursor or 0
    pool: asyncpg.Pool = request.app.state.pool
    _, floor = await head_and_floor(pool, principal.tenant_id)
    if cursor < floor:
        raise _snapshot_required(cursor, floor)
    fanout: EventFanout | None = request.app.state.fanout
    if fanout is None:
        raise BadRequest("live streaming is not available on this hub process", code="stream_unavailable")
    heartbeat = float(request.app.state.settings.heartbeat_seconds)
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    sub = await fanout.subscribe(principal.tenant_id, principal.device_id, principal.site_ids)
    return StreamingResponse(
        _events(request, pool, fanout, sub, principal, cursor, heartbeat, token),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, pool: asyncpg.Pool, fanout: EventFanout, sub: Any, principal: Principal,
                  cursor: int, heartbeat: float, token: str) -> AsyncIterator[bytes]:
    last = cursor
    sites = site_filter(principal)
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        while True:  # the backlog, page by page, until a short page says we are at the head
            rows = await read_page(pool, principal.tenant_id, last, sites, BACKLOG_PAGE)
            if rows:
                yield b"".join(sse_frame(r, principal.tenant_id) for r in rows)
                last = rows[-1]["seq"]
            if len(rows) < BACKLOG_PAGE:
                break
        while not sub.closed.is_set():
            try:
                row = await asyncio.wait_for(sub.queue.get(), timeout=heartbeat)
            except TimeoutError:
                if await request.is_disconnected() or not await _still_allowed(pool, token):
                    return
                yield b": heartbeat\n\n"
                continue
            frames = []
            while True:
                if row["seq"] > last:
                    frames.append(sse_frame(row, principal.tenant_id))
                    last = row["seq"]
                try:
                    row = sub.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if frames:
                yield b"".join(frames)
        yield b": closed: %s\n\n" % sub.reason.encode()
    finally:
        fanout.unsubscribe(sub)


async def _still_allowed(pool: asyncpg.Pool, token: str) -> bool:
    """Revocation reaches open streams at the next heartbeat, on whichever process holds them."""
    with contextlib.suppress(asyncpg.PostgresError, OSError):
        row = await pool.fetchval(
            """SELECT 1 FROM auth.access_tokens t LEFT JOIN auth.devices d
                 ON d.tenant_id = t.tenant_id AND d.id = t.device_id
               WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
                 AND (t.device_id IS NULL OR d.revoked_at IS NULL)""",
            token_hash(token),
        )
        return row is not None
    return True  # a database hiccup is not a revocation


@router.get("/v1/sync/snapshot", summary="Every visible record; resume the stream from the returned seq")
async def snapshot(
    request: Request,
    cursor: str | None = Query(None, max_length=400, description="from the previous page's next_cursor"),
    seq: int | None = Query(None, ge=0, description="the seq of the first page; pass it back on later pages"),
    limit: int = Query(2000, ge=1, le=10000),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    after_entity, after_id = "", ""
    if cursor:
        try:
            after_entity, after_id = orjson.loads(bytes.fromhex(cursor))
        except (ValueError, TypeError):
            raise BadRequest("cursor is not one this hub issued", code="bad_cursor") from None
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head, _ = await head_and_floor(conn, principal.tenant_id)
        rows = await conn.fetch(
            """SELECT entity, entity_id, site_id, version, data::text AS data FROM sync.records
               WHERE tenant_id = $1 AND NOT deleted AND (entity, entity_id) > ($2, $3)
                 AND ($4::text[] IS NULL OR site_id IS NULL OR site_id = ANY($4::text[]))
               ORDER BY entity, entity_id LIMIT $5""",
            principal.tenant_id, after_entity, after_id, site_filter(principal), limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = orjson.dumps([rows[-1]["entity"], rows[-1]["entity_id"]]).hex() if more and rows else None
    # Pages read later may hold newer versions than `seq`: harmless, since replicas apply an event only
    # when its version is newer than the one they hold.
    records = b",".join(
        orjson.dumps({"entity": r["entity"], "entity_id": r["entity_id"], "site_id": r["site_id"],
                      "version": r["version"]})[:-1] + b',"data":' + r["data"].encode() + b"}"
        for r in rows
    )
    body = b'{"seq":%d,"records":[%s],"next_cursor":%s}' % (
        seq if seq is not None else head, records, orjson.dumps(next_cursor))
    return Response(body, media_type="application/json")
