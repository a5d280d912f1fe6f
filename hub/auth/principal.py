"""Resolve the caller from `Authorization: Bearer <token>`: a device, a user, or a user on a device."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request

from hub.errors import Unauthorized


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
       COALESCE(t.site_ids, d.site_ids) AS site_ids
FROM auth.access_tokens t
LEFT JOIN auth.devices d ON d.tenant_id = t.tenant_id AND d.id = t.device_id
WHERE t.token_hash = $1
  AND t.revoked_at IS NULL
  AND t.expires_at > now()
  AND (t.device_id IS NULL OR (d.id IS NOT NULL AND d.revoked_at IS NULL))
"""


async def require_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <access token>'")
    pool = request.app.state.pool
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_LOOKUP, token_hash(token.strip()))
    if row is None:
        raise Unauthorized("the access token is unknown, expired or revoked (or its device was revoked)")
    sites = row["site_ids"]
    return Principal(
        tenant_id=row["tenant_id"],
        device_id=row["device_id"],
        user_id=row["user_id"],
        site_ids=None if sites is None else frozenset(sites),
        roles=frozenset(row["roles"] or ()),
    )
