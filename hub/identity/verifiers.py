"""`GET /v1/users/verifiers`: the people who may sign in on the calling device (a role at one of its sites, or
tenant-wide), with their argon2 verifier, roles and site scopes, so the desktop signs them in offline.
Disabled users are left out: the desktop replaces its cache with this list, so they stop working there too."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Depends, Request

from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden
from hub.identity.models import Grant, VerifierEntry, VerifiersResponse
from hub.identity.users import Grants

router = APIRouter()


@router.get("/v1/users/verifiers", response_model=VerifiersResponse,
            summary="Offline sign-in verifiers of the users of the device's sites (devices only)")
async def verifiers(request: Request, principal: Principal = Depends(require_principal)) -> VerifiersResponse:
    if principal.device_id is None:
        raise Forbidden("only an enrolled device fetches verifiers", code="device_only")
    sites = None if principal.site_ids is None else sorted(principal.site_ids)
    pool: asyncpg.Pool = request.app.state.pool
    rows = await pool.fetch(
        """SELECT u.username, u.display_name, u.password_hash, g.role, g.site_id
           FROM auth.users u JOIN auth.role_grants g ON g.tenant_id = u.tenant_id AND g.username = u.username
           WHERE u.tenant_id = $1 AND NOT u.disabled
             AND u.username IN (SELECT username FROM auth.role_grants
                                WHERE tenant_id = $1 AND ($2::text[] IS NULL OR site_id IS NULL OR site_id = ANY($2)))
           ORDER BY u.username, g.role, g.site_id NULLS FIRST""",
        principal.tenant_id, sites,
    )
    users: dict[str, tuple[asyncpg.Record, set[tuple[str, str | None]]]] = {}
    for r in rows:
        users.setdefault(r["username"], (r, set()))[1].add((r["role"], r["site_id"]))
    out = []
    for name, (r, pairs) in users.items():
        grants = Grants(frozenset(pairs))
        out.append(VerifierEntry(
            username=name, display_name=r["display_name"], verifier=r["password_hash"], roles=grants.roles,
            site_ids=grants.site_ids,
            grants=[Grant(role=role, site_id=site) for role, site in sorted(pairs, key=lambda p: (p[0], p[1] or ""))],
        ))
    return VerifiersResponse(users=out)
