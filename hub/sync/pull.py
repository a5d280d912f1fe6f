"""`GET /v1/sync/changes`, `GET /v1/sync/stream` (SSE) and `GET /v1/sync/snapshot`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from hub.auth.principal import Principal, require_principal, token_hash
from hub.errors import BadRequest, Gone, ServiceUnavailable
from hub.ops.read_cursors import ReadCursorRecorder
from hub.sync.events_read import (
    MAX_SEQ,
    CursorBehindFloor,
    encode_event,
    head_and_floor,
    read_page_above_floor,
    sse_frames,
)
from hub.sync.fanout import EventFanout, Subscription
from hub.sync.read_rules import ReadRule, entity_sql, read_rule

router = APIRouter()

BACKLOG_PAGE = 5_000
RETRY_MS = 2_000
AUTH_RECHECK_SECONDS = 15.0  # revocation on another process reaches open streams this fast (locally: close_device)


_DATABASE_DOWN = (OSError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
                  asyncpg.ConnectionDoesNotExistError, asyncpg.AdminShutdownError, asyncpg.TooManyConnectionsError)


def _unavailable(exc: BaseException) -> ServiceUnavailable:
    """The database is restarting or unreachable: the client retries (its backoff honours Retry-After)."""
    return ServiceUnavailable(f"the event log is unavailable for a moment ({type(exc).__name__}); retry",
                              headers={"Retry-After": "2"})


def _snapshot_required(after: int, floor: int) -> Gone:
    return Gone(
        f"events after {after} are no longer kept (retention removed up to {floor}): take a snapshot "
        "(GET /v1/sync/snapshot) and resume the stream from its seq",
        code="snapshot_required", details={"floor": floor},
    )


@router.get("/v1/sync/changes", summary="A page of events after a cursor (catch-up and initial sync)")
async def changes(
    request: Request,
    after: int = Query(0, ge=0, le=MAX_SEQ),
    limit: int = Query(1000, ge=1, le=5000),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    rule = read_rule(principal)
    try:
        rows, head = await read_page_above_floor(pool, principal.tenant_id, after, rule.sites, limit + 1,
                                                 rule.entity_param)
    except CursorBehindFloor as exc:
        raise _snapshot_required(exc.after, exc.floor) from None
    except _DATABASE_DOWN as exc:
        raise _unavailable(exc) from None
    _read_cursors(request).note(principal.tenant_id, principal.device_id, after)  # it has everything up to `after`
    has_more = len(rows) > limit
    rows = rows[:limit]
    # Past the last visible event the cursor may still move to the head (invisible events are skipped).
    next_after = rows[-1]["seq"] if has_more else max(head, rows[-1]["seq"] if rows else after)
    body = (
        b'{"events":[' + b",".join(encode_event(r, principal.tenant_id) for r in rows) + b"],"
        + b'"next_after":%d,"head_seq":%d,"has_more":%s}' % (next_after, head, b"true" if has_more else b"false")
    )
    return Response(body, media_type="application/json")


def _stream_cursor(after: int | None, last_event_id: str | None) -> int:
    """The resume point: the later of `?after=` and `Last-Event-ID` (a reconnecting EventSource sends both)."""
    cursor = after or 0
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        # ASCII digits only and at most 19 of them before int(): str.isdigit() also passes '²' and '١٢٣' (int()
        # refuses the first), and int() refuses more than 4,300 digits; both were 500s.
        if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_SEQ)) or int(text) > MAX_SEQ:
            raise BadRequest(f"Last-Event-ID must be a sequence number: ASCII digits, at most {MAX_SEQ}; "
                             f"got {text[:40]!r}{'…' if len(text) > 40 else ''}", code="bad_cursor")
        cursor = max(cursor, int(text))
    return cursor


@router.get("/v1/sync/stream", summary="Server-Sent Events: the backlog after a cursor, then live events")
async def stream(
    request: Request,
    after: int | None = Query(None, ge=0, le=MAX_SEQ),
    principal: Principal = Depends(require_principal),
) -> Response:
    cursor = _stream_cursor(after, request.headers.get("last-event-id"))
    pool: asyncpg.Pool = request.app.state.pool
    fanout: EventFanout | None = request.app.state.fanout
    if fanout is None:
        raise ServiceUnavailable("live streaming is not available on this hub process", code="stream_unavailable")
    try:
        _, floor = await head_and_floor(pool, principal.tenant_id)
        if cursor < floor:
            raise _snapshot_required(cursor, floor)
        sub = await fanout.subscribe(principal.tenant_id, principal.device_id, read_rule(principal),
                                     token_hash=token_hash(request.headers.get("authorization", "").partition(" ")[2]
                                                           .strip()))
    except _DATABASE_DOWN as exc:
        raise _unavailable(exc) from None
    heartbeat = float(request.app.state.settings.heartbeat_seconds)
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    cursors = _read_cursors(request)
    cursors.note(principal.tenant_id, principal.device_id, cursor)
    return StreamingResponse(
        _events(pool, fanout, sub, principal, cursor, heartbeat, token, cursors),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _backlog(pool: asyncpg.Pool, tenant_id: str, rule: ReadRule,
                   after: int) -> AsyncIterator[tuple[bytes, int]]:
    """The committed events after `after` the caller may see, page by page until a short page, as (SSE bytes, last
    seq). The next page is fetched while the current one is encoded and sent (database and encoding overlap)."""
    pending = asyncio.ensure_future(
        read_page_above_floor(pool, tenant_id, after, rule.sites, BACKLOG_PAGE, rule.entity_param))
    try:
        while True:
            rows, _ = await pending
            if len(rows) == BACKLOG_PAGE:
                pending = asyncio.ensure_future(read_page_above_floor(
                    pool, tenant_id, rows[-1]["seq"], rule.sites, BACKLOG_PAGE, rule.entity_param))
            if rows:
                yield sse_frames(rows, tenant_id), rows[-1]["seq"]
            if len(rows) < BACKLOG_PAGE:
                return
    finally:
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


def _read_cursors(request: Request) -> ReadCursorRecorder:
    return request.app.state.read_cursors  # type: ignore[no-any-return]


async def _events(pool: asyncpg.Pool, fanout: EventFanout, sub: Subscription, principal: Principal,
                  cursor: int, heartbeat: float, token: str, cursors: ReadCursorRecorder) -> AsyncIterator[bytes]:
    last = cursor
    tenant = principal.tenant_id
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        try:
            async for chunk, page_last in _backlog(pool, tenant, read_rule(principal), cursor):
                yield chunk
                last = page_last
        except CursorBehindFloor:
            # Retention overtook this reader mid-backlog: end the stream; the reconnect gets 410.
            yield b": closed: retention removed events after your cursor; take a snapshot\n\n"
            return
        next_beat = time.monotonic() + heartbeat
        # Production beats every 15 s and rechecks each beat; fast test beats recheck every 4th.
        recheck = max(heartbeat, min(AUTH_RECHECK_SECONDS, 4 * heartbeat))
        next_auth_check = time.monotonic() + recheck
        while not sub.is_closed:
            offered = fanout.position(tenant)  # every row up to here is in this stream's buffer or was sent
            rows = await sub.next_rows(max(0.0, next_beat - time.monotonic()))
            fresh = [r for r in rows if r.seq > last]  # the backlog already sent these
            if fresh:
                yield b"".join([r.frame for r in fresh])
                last = fresh[-1].seq
            if not sub.is_closed:
                cursors.note(tenant, principal.device_id, max(last, offered or 0))
            now = time.monotonic()
            if now >= next_beat and not sub.is_closed:
                if now >= next_auth_check:
                    next_auth_check = now + recheck
                    if not await _still_allowed(pool, token):
                        sub.close("the device or token was revoked")
                        break
                yield b": heartbeat\n\n"
                next_beat = now + heartbeat
        yield b": closed: %s\n\n" % sub.reason.encode()
    finally:
        fanout.unsubscribe(sub)


async def _still_allowed(pool: asyncpg.Pool, token: str) -> bool:
    """Revocation reaches open streams at the next check, on whichever process holds them."""
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


_SNAPSHOT_PAGE = """
SELECT entity, entity_id, site_id, version, data::text AS data FROM sync.records
WHERE tenant_id = $1 AND NOT deleted AND (entity, entity_id) > ($2, $3)
  AND ($4::text[] IS NULL OR site_id IS NULL OR site_id = ANY($4::text[]))
  AND """ + entity_sql("entity", "data", "$6") + """
ORDER BY entity, entity_id LIMIT $5
"""


@router.get("/v1/sync/snapshot", summary="Every visible record; resume the stream from the returned seq")
async def snapshot(
    request: Request,
    cursor: str | None = Query(None, max_length=400, description="from the previous page's next_cursor"),
    seq: int | None = Query(None, ge=0, description="the seq of the first page; pass it back on later pages"),
    limit: int = Query(2000, ge=1, le=10000),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    rule = read_rule(principal)
    after_entity, after_id = "", ""
    if cursor:
        try:
            after_entity, after_id = orjson.loads(bytes.fromhex(cursor))
        except (ValueError, TypeError):
            raise BadRequest("cursor is not one this hub issued", code="bad_cursor") from None
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # A page must walk the key index, never sort the tenant: with statistics older than the table (autovacuum
        # off, or a table that just grew) the planner chose a bitmap scan and a sort of every record of the tenant,
        # O(tenant) per page (17 ms at 15,700 records and growing; 0.4-1.3 ms walking the index).
        await conn.execute("SET LOCAL enable_sort = off")
        head, _ = await head_and_floor(conn, principal.tenant_id)
        rows = await conn.fetch(_SNAPSHOT_PAGE, principal.tenant_id, after_entity, after_id, rule.sites, limit + 1,
                                rule.entity_param)
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
