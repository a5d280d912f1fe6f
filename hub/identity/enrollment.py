"""`POST /v1/devices/enroll`: a device presents a one-time token (issued by an administrator for a site and
a device kind) and its Ed25519 public key; the hub registers the device and consumes the token."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import asyncpg
from fastapi import APIRouter, Depends, Request

from hub.audit import record_action
from hub.auth.principal import Principal
from hub.errors import Unauthorized, Unprocessable
from hub.identity.keys import parse_public_key
from hub.identity.models import EnrollRequest, EnrollResponse
from hub.identity.ratelimit import rate_limited
from shared.ids import new_ulid

router = APIRouter()


def enrollment_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@router.post("/v1/devices/enroll", response_model=EnrollResponse, summary="Enroll a device with a one-time token",
             dependencies=[Depends(rate_limited("enroll"))])
async def enroll(body: EnrollRequest, request: Request) -> EnrollResponse:
    parse_public_key(body.public_key)  # 422 before the token is spent
    pool: asyncpg.Pool = request.app.state.pool
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT tenant_id, site_id, kind, expires_at, used_at, created_by FROM auth.enrollment_tokens
               WHERE token_hash = $1 FOR UPDATE""",
            enrollment_token_hash(body.token),
        )
        if row is None:
            raise Unauthorized("unknown enrollment token: ask an administrator for a new one",
                               code="invalid_enrollment_token")
        if row["used_at"] is not None:
            raise Unauthorized("this enrollment token was already used: ask an administrator for a new one",
                               code="invalid_enrollment_token")
        if row["expires_at"] <= now:
            raise Unauthorized("this enrollment token has expired: ask an administrator for a new one",
                               code="invalid_enrollment_token")
        if row["kind"] != body.kind:
            raise Unprocessable(f"this token enrolls a {row['kind']} device, not a {body.kind}", code="wrong_kind")
        tenant, site = row["tenant_id"], row["site_id"]
        device_id = new_ulid()
        site_ids = None if site is None else [site]
        await conn.execute(
            "UPDATE auth.enrollment_tokens SET used_at = $3, device_id = $4 WHERE tenant_id = $1 AND token_hash = $2",
            tenant, enrollment_token_hash(body.token), now, device_id,
        )
        await conn.execute(
            """INSERT INTO auth.devices (tenant_id, id, kind, name, site_ids, public_key, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            tenant, device_id, body.kind, body.name, site_ids, body.public_key, now,
        )
        await conn.execute("INSERT INTO sync.tenant_heads (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", tenant)
        device = Principal(tenant_id=tenant, device_id=device_id, user_id=None, site_ids=None, roles=frozenset())
        await record_action(conn, device, "device.enroll", entity="auth.device", entity_id=device_id, now=now,
                            after={"kind": body.kind, "name": body.name, "site_ids": site_ids},
                            details={"token_issued_by": row["created_by"]})
    return EnrollResponse(device_id=device_id, tenant_id=tenant, site_ids=site_ids, hub_time=now.isoformat())
