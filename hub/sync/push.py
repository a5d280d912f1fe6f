"""`POST /v1/sync/push`: read, check who is pushing, apply in one transaction (retried on deadlock)."""

from __future__ import annotations

import asyncio
import logging
import random

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response

from hub.auth.principal import Principal, require_principal
from hub.errors import BadRequest, Forbidden, PayloadTooLarge, ServiceUnavailable, Unprocessable
from hub.request_body import read_limited
from hub.sync.apply import push
from shared.envelopes import (
    MAX_BODY_DEPTH,
    MAX_PAYLOAD_DEPTH,
    MAX_PUSH_BATCH,
    PushRequest,
    contains_nul,
    nests_deeper_than,
)

log = logging.getLogger(__name__)
router = APIRouter()

# A unique violation here is two pushes creating the same new record (or ledger row) at once: both looked, saw
# nothing and inserted. The transaction rolled back whole; on the retry the loser finds the winner's row and
# takes the conflict path like any stale write.
RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError,
             asyncpg.exceptions.UniqueViolationError)
ATTEMPTS = 5
MAX_BIGINT = 2**63 - 1


def _too_deep() -> Unprocessable:
    return Unprocessable(f"the body nests deeper than {MAX_BODY_DEPTH} levels (a mutation payload at most "
                         f"{MAX_PAYLOAD_DEPTH}); flatten the payload", code="too_deep")


async def read_json_body(request: Request, limit: int) -> object:
    """The request body as JSON, refusing anything larger than `limit` bytes before reading it all."""
    raw = await read_limited(request, limit)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):  # orjson's own limit (1024 levels), far past ours
            raise _too_deep() from None
        raise BadRequest(f"the body is not valid JSON: {exc}", code="malformed_json") from None
    # Before anything walks the body: deep nesting fails the JSON encoder (255 levels) and anything recursive
    # (RecursionError past ~1000), as a 500 in the middle of a push.
    if nests_deeper_than(body, MAX_BODY_DEPTH):
        raise _too_deep()
    # PostgreSQL text and jsonb cannot hold NUL; refuse it here rather than fail mid-transaction.
    if b"\\u0000" in raw and contains_nul(body):
        raise Unprocessable("the body contains a NUL character (\\u0000), which cannot be stored", code="nul_character")
    return body


@router.post("/v1/sync/push", summary="Push a batch of mutations; one outcome per mutation")
async def push_endpoint(request: Request, principal: Principal = Depends(require_principal)) -> Response:
    body = await read_json_body(request, request.app.state.settings.max_body_bytes)
    if isinstance(body, dict) and isinstance(body.get("mutations"), list) and len(body["mutations"]) > MAX_PUSH_BATCH:
        raise PayloadTooLarge(f"at most {MAX_PUSH_BATCH} mutations per push; split the batch", code="batch_too_large")
    try:
        req = PushRequest.model_validate(body)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        errors = exc.errors(include_url=False, include_context=False)[:50]
        raise Unprocessable(f"{where}: {first['msg']}", details={"errors": errors}) from None
    if principal.device_id is None or req.device_id != principal.device_id:
        raise Forbidden("device_id does not match the authenticated device", code="wrong_device")
    for m in req.mutations:
        if m.device_seq > MAX_BIGINT or m.base_version > MAX_BIGINT:
            raise Unprocessable(f"mutation {m.id}: device_seq and base_version must be below 2^63", code="out_of_range")
        if m.device_id != req.device_id:
            raise Forbidden(f"mutation {m.id} carries device_id {m.device_id!r}", code="wrong_device")
        if m.tenant_id != principal.tenant_id:
            raise Forbidden(f"mutation {m.id} is for another tenant", code="wrong_tenant")

    pool: asyncpg.Pool = request.app.state.pool
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with pool.acquire() as conn:
                response = await push(conn, principal, req)
            break
        except asyncpg.DataError as exc:
            # Input the checks above did not foresee and PostgreSQL refused; the transaction rolled back whole.
            log.warning("push refused by the database: %s", exc)
            raise Unprocessable(f"the database refused a value in this batch: {exc}", code="unstorable_value") from None
        except RETRYABLE as exc:
            if attempt == ATTEMPTS:
                log.warning("push gave up after %d attempts: %s", attempt, exc)
                raise ServiceUnavailable("the hub is busy; retry shortly", headers={"Retry-After": "1"}) from exc
            await asyncio.sleep(random.uniform(0, 0.05 * 2**attempt))
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.count_outcomes(response.outcomes)
    return Response(response.model_dump_json(exclude_none=True), media_type="application/json")
