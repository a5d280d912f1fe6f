"""Mint access tokens: random, shown once, stored only as sha256."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import asyncpg

from hub.auth.principal import token_hash


async def issue_access_token(
    conn: asyncpg.Connection,
    *,
    tenant_id: str,
    device_id: str | None = None,
    user_id: str | None = None,
    roles: Iterable[str] = (),
    site_ids: Iterable[str] | None = None,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO auth.access_tokens (token_hash, tenant_id, device_id, user_id, roles, site_ids, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        token_hash(token),
        tenant_id,
        device_id,
        user_id,
        list(roles),
        None if site_ids is None else list(site_ids),
        datetime.now(UTC) + ttl,
    )
    return token


async def ensure_tenant_site_device(
    conn: asyncpg.Connection, *, tenant_id: str, site_id: str | None, device_id: str, kind: str = "desktop"
) -> None:
    """Create the tenant, site and device rows if missing (provisioning for tests, demo and admin CLI)."""
    await conn.execute(
        "INSERT INTO auth.tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING", tenant_id
    )
    await conn.execute(
        "INSERT INTO sync.tenant_heads (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", tenant_id
    )
    if site_id is not None:
        await conn.execute(
            "INSERT INTO auth.sites (tenant_id, id, name) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING",
            tenant_id,
            site_id,
        )
    await conn.execute(
        """INSERT INTO auth.devices (tenant_id, id, kind, name, site_ids) VALUES ($1, $2, $3, $2, $4)
           ON CONFLICT DO NOTHING""",
        tenant_id,
        device_id,
        kind,
        None if site_id is None else [site_id],
    )
