"""Device revocation: the device's access tokens stop working at once, and every hub process hears of it.

The UPDATE is all this does: the triggers of migration 0007 send `pg_notify('pitline_revocations',
{"tenant_id", "device_id"})` at commit for any revocation, this one or a hand-written UPDATE, so every process
drops the device's cached tokens (`hub.auth.token_cache`) and closes its open streams (`hub.sync.fanout`). A
process that missed the notice (LISTEN reconnecting) starts from an empty token cache and still closes the
stream at the stream's next authorisation recheck."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg


async def revoke_device(conn: asyncpg.Connection, tenant_id: str, device_id: str) -> bool:
    """Revoke in the caller's transaction (the notice is delivered at commit). False if already revoked
    or unknown."""
    now = datetime.now(UTC)
    done = await conn.fetchval(
        """UPDATE auth.devices SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL
           RETURNING 1""",
        tenant_id, device_id, now,
    )
    if done is None:
        return False
    await conn.execute(
        """UPDATE auth.access_tokens SET revoked_at = $3
           WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL""",
        tenant_id, device_id, now,
    )
    return True
