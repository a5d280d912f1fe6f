"""`POST /v1/auth/signin`: a person signs in against the hub with username and password and gets a user
access token (their roles and site scope). Failures count per user; `signin_max_failures` in a row lock the
account for `signin_lockout_seconds` (even the right password is refused meanwhile)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import APIRouter, Depends, Request

from hub.audit import record_action
from hub.auth.principal import Principal
from hub.auth.tokens import issue_access_token
from hub.errors import Forbidden, TooManyRequests, Unauthorized
from hub.identity.config import identity_settings
from hub.identity.models import SignInRequest, SignInResponse
from hub.identity.passwords import verify_password_async
from hub.identity.ratelimit import rate_limited
from hub.identity.users import Grants, grants_of

router = APIRouter()
_BAD = "wrong username or password"


def _locked(until: datetime, now: datetime) -> TooManyRequests:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return TooManyRequests(f"too many failed sign-ins: this account is locked for {seconds} s", code="locked_out",
                           headers={"Retry-After": str(seconds)}, details={"retry_after": seconds})


@router.post("/v1/auth/signin", response_model=SignInResponse, summary="Sign a person in; a user access token",
             dependencies=[Depends(rate_limited("signin"))])
async def signin(body: SignInRequest, request: Request) -> SignInResponse:
    settings = identity_settings()
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT tenant_id, username, display_name, password_hash, disabled, locked_until FROM auth.users
               WHERE username = $1 AND ($2::text IS NULL OR tenant_id = $2)""",
            body.username, body.tenant_id,
        )
        if len(rows) > 1:
            raise Unauthorized("this username exists in several tenants: send tenant_id", code="tenant_required")
        user = rows[0] if rows else None
        now = datetime.now(UTC)
        if user is not None and user["locked_until"] is not None and user["locked_until"] > now:
            raise _locked(user["locked_until"], now)
        ok = await verify_password_async(user["password_hash"] if user else None, body.password)
        if user is None:
            raise Unauthorized(_BAD, code="bad_credentials")
        tenant, username = user["tenant_id"], user["username"]
        if not ok:
            async with conn.transaction():
                until = await conn.fetchval(
                    """UPDATE auth.users SET
                         locked_until = CASE WHEN failed_attempts + 1 >= $3 THEN $4 ELSE locked_until END,
                         failed_attempts = CASE WHEN failed_attempts + 1 >= $3 THEN 0 ELSE failed_attempts + 1 END
                       WHERE tenant_id = $1 AND username = $2 RETURNING locked_until""",
                    tenant, username, settings.signin_max_failures,
                    now + timedelta(seconds=settings.signin_lockout_seconds),
                )
                if until is not None and until > now:
                    system = Principal(tenant, None, f"signin:{username}", None, frozenset())
                    await record_action(conn, system, "user.locked_out", entity="auth.user", entity_id=username,
                                        now=now, details={"until": until.isoformat(),
                                                          "after_failures": settings.signin_max_failures})
            if until is not None and until > now:
                raise _locked(until, now)
            raise Unauthorized(_BAD, code="bad_credentials")
        if user["disabled"]:
            raise Forbidden("this account is disabled: ask an administrator", code="user_disabled")
        async with conn.transaction():
            await conn.execute(
                """UPDATE auth.users SET failed_attempts = 0, locked_until = NULL
                   WHERE tenant_id = $1 AND username = $2 AND (failed_attempts <> 0 OR locked_until IS NOT NULL)""",
                tenant, username,
            )
            grants = (await grants_of(conn, tenant, [username])).get(username, Grants(frozenset()))
            site_ids = grants.site_ids
            access = await issue_access_token(conn, tenant_id=tenant, user_id=username, roles=grants.roles,
                                              site_ids=site_ids, ttl=settings.user_token_ttl)
    return SignInResponse(access_token=access, expires_in=int(settings.user_token_seconds), tenant_id=tenant,
                          username=username, display_name=user["display_name"], roles=grants.roles,
                          site_ids=site_ids)
