"""Device revocation: the device's access tokens stop working at once (the token lookup checks the device),
and every hub process closes the device's open streams when `pg_notify('pitline_revocations', …)` reaches its
LISTEN connection (`hub.sync.fanout`). A process that missed the notification (LISTEN reconnecting) still
closes the stream at the stream's next authorisation recheck."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import orjson

from hub.sync.fanout import REVOCATIONS_CHANNEL


async def revoke_device(conn: asyncpg.Connection, tenant_id: str, device_id: str) -> bool:
    """Revoke in the caller's transaction (the notification is delivered at commit). False if already revoked
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
    await conn.execute("SELECT pg_notify($1, $2)", REVOCATIONS_CHANNEL,
                       orjson.dumps({"tenant_id": tenant_id, "device_id": device_id}).decode())
    return True
