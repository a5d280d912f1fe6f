"""Device sign-in by key: `POST /v1/auth/challenge` hands out a single-use nonce, `POST /v1/auth/token` takes
the nonce signed with the device's Ed25519 key and answers a short-lived access token.

A nonce is consumed by the first attempt that names it, whether its signature is right or not, and it
expires after `challenge_seconds`: a captured exchange cannot be replayed."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import APIRouter, Depends, Request

from hub.auth.tokens import issue_access_token
from hub.errors import Unauthorized
from hub.identity.config import identity_settings
from hub.identity.keys import b64decode, check_signature
from hub.identity.models import ChallengeRequest, ChallengeResponse, TokenRequest, TokenResponse
from hub.identity.ratelimit import rate_limited

router = APIRouter()
NONCE_BYTES = 32
_NO_DEVICE = "no enrolled, unrevoked device has this id: enroll again"


async def _device(conn: asyncpg.Connection, device_id: str, tenant_id: str | None) -> asyncpg.Record:
    rows = await conn.fetch(
        """SELECT tenant_id, public_key FROM auth.devices
           WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2) AND public_key IS NOT NULL AND revoked_at IS NULL""",
        device_id, tenant_id,
    )
    if not rows:
        raise Unauthorized(_NO_DEVICE, code="unknown_device")
    if len(rows) > 1:
        raise Unauthorized("this device id exists in several tenants: send tenant_id", code="tenant_required")
    return rows[0]


@router.post("/v1/auth/challenge", response_model=ChallengeResponse, summary="A nonce for the device to sign",
             dependencies=[Depends(rate_limited("device_auth"))])
async def challenge(body: ChallengeRequest, request: Request) -> ChallengeResponse:
    settings = identity_settings()
    nonce = secrets.token_bytes(NONCE_BYTES)
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        device = await _device(conn, body.device_id, body.tenant_id)
        now = datetime.now(UTC)
        await conn.execute(
            """DELETE FROM auth.device_challenges
               WHERE tenant_id = $1 AND device_id = $2 AND expires_at < $3::timestamptz - interval '10 minutes'""",
            device["tenant_id"], body.device_id, now,
        )
        await conn.execute(
            """INSERT INTO auth.device_challenges (tenant_id, device_id, nonce_hash, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5)""",
            device["tenant_id"], body.device_id, hashlib.sha256(nonce).digest(), now,
            now + timedelta(seconds=settings.challenge_seconds),
        )
    return ChallengeResponse(nonce=base64.b64encode(nonce).decode(), expires_in=int(settings.challenge_seconds))


@router.post("/v1/auth/token", response_model=TokenResponse, summary="Trade a signed nonce for an access token",
             dependencies=[Depends(rate_limited("device_auth"))])
async def token(body: TokenRequest, request: Request) -> TokenResponse:
    settings = identity_settings()
    nonce = b64decode(body.nonce, "nonce")
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        device = await _device(conn, body.device_id, body.tenant_id)
        tenant = device["tenant_id"]
        # Consumed in its own statement (committed at once), before the signature is checked.
        consumed = await conn.fetchval(
            """UPDATE auth.device_challenges SET used_at = now()
               WHERE tenant_id = $1 AND device_id = $2 AND nonce_hash = $3 AND used_at IS NULL AND expires_at > now()
               RETURNING 1""",
            tenant, body.device_id, hashlib.sha256(nonce).digest(),
        )
        if consumed is None:
            raise Unauthorized("the nonce is unknown, already used or expired: ask for a new challenge",
                               code="invalid_nonce")
        check_signature(device["public_key"], body.signature, nonce)
        access = await issue_access_token(conn, tenant_id=tenant, device_id=body.device_id,
                                          ttl=settings.device_token_ttl)
    return TokenResponse(access_token=access, expires_in=int(settings.device_token_seconds))
