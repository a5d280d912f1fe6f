"""Resolve the caller from `Authorization: Bearer <token>`: a device, a user, or a user on a device."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from hub.errors import Unauthorized

if TYPE_CHECKING:
    from hub.auth.token_cache import TokenCache


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    device_id: str | None
    user_id: str | None
    site_ids: frozenset[str] | None  # None: every site of the tenant
    roles: frozenset[str]

    def sees_site(self, site_id: str | None) -> bool:
        return site_id is None or self.site_ids is None or site_id in self.site_ids

    @property
    def actor(self) -> str:
        return self.user_id or f"device:{self.device_id}"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


_LOOKUP = """
SELECT t.tenant_id, t.device_id, t.user_id, t.roles,
       COALESCE(t.site_ids, d.site_ids) AS site_ids, t.expires_at
FROM auth.access_tokens t
LEFT JOIN auth.devices d ON d.tenant_id = t.tenant_id AND d.id = t.device_id
WHERE t.token_hash = $1
  AND t.revoked_at IS NULL
  AND t.expires_at > now()
  AND (t.device_id IS NULL OR (d.id IS NOT NULL AND d.revoked_at IS NULL))
  -- The admin commands revoke a disabled person's tokens; this holds however the flag was set.
  AND (t.user_id IS NULL OR NOT EXISTS (SELECT 1 FROM auth.users u
                                        WHERE u.tenant_id = t.tenant_id AND u.username = t.user_id AND u.disabled))
"""


async def require_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller, or 401."""
    return await principal_for(request.app.state, request.headers.get("authorization", ""))


async def principal_for(state: Any, authorization: str) -> Principal:
    """The caller of an `Authorization` header value, from this process's token cache when it may answer
    (`hub.auth.token_cache`), else from the database; 401 when the token does not work."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <access token>'")
    key = token_hash(token.strip())
    cache: TokenCache | None = getattr(state, "token_cache", None)
    generation = 0
    if cache is not None:
        cached = await cache.get(key)
        if cached is not None:
            return cached
        generation = cache.generation
    row = await state.pool.fetchrow(_LOOKUP, key)
    if row is None:
        raise Unauthorized("the access token is unknown, expired or revoked (or its device was revoked)")
    sites = row["site_ids"]
    principal = Principal(
        tenant_id=row["tenant_id"],
        device_id=row["device_id"],
        user_id=row["user_id"],
        site_ids=None if sites is None else frozenset(sites),
        roles=frozenset(row["roles"] or ()),
    )
    if cache is not None:
        cache.put(key, principal, row["expires_at"], generation)
    return principal
