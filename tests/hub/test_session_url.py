"""`PITLINE_SESSION_DATABASE_URL`: what needs a session of its own (LISTEN for the fan-out, the token cache and
the projection worker; the telemetry retention lock) connects there, everything else through
`PITLINE_DATABASE_URL` (which may be PgBouncer in transaction mode). Both URLs name the same database here;
an application name tells the connections apart in pg_stat_activity."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from hub.telemetry.config import TelemetrySettings
from hub.telemetry.retention import maintain
from pitline.harness import HubProcess, provision_device, run_sync
from tests.fixtures.hubserver import private_hub
from tests.hub.test_push import db_fetch

SESSION_APP = "pitline-session-test"


@pytest.fixture
def split_hub(pg_server_url: str) -> Iterator[HubProcess]:
    def session_url(dsn: str) -> dict[str, str]:
        return {"PITLINE_SESSION_DATABASE_URL": f"{dsn}{'&' if '?' in dsn else '?'}application_name={SESSION_APP}"}

    with private_hub(pg_server_url, "pitline_session", env=session_url) as hub:
        yield hub


def listeners(dsn: str) -> list[tuple[str, str]]:
    rows = db_fetch(dsn, "SELECT application_name, query FROM pg_stat_activity "
                         "WHERE datname = current_database() AND query ILIKE 'LISTEN%'")
    return sorted((r["application_name"], r["query"]) for r in rows)


def test_listen_connections_and_the_retention_lock_use_the_session_url(split_hub: HubProcess) -> None:
    token = provision_device(split_hub.dsn, "t-session", "s1", "desk")
    with httpx.Client(timeout=httpx.Timeout(5, read=10)) as c, c.stream(
            "GET", f"{split_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status_code == 200
        deadline = time.monotonic() + 15
        while len(found := listeners(split_hub.dsn)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert len(found) >= 3, found  # the fan-out, the token cache, the projection worker
    assert {app for app, _ in found} == {SESSION_APP}, found
    pooled = db_fetch(split_hub.dsn, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND application_name <> $1 AND pid <> pg_backend_pid()", SESSION_APP)
    assert pooled[0]["n"] >= 1  # the request pool stays on the main URL

    from hub.db import create_pool

    async def retention_round() -> list[str]:
        pool = await create_pool(split_hub.dsn, min_size=1, max_size=1)
        try:
            session = f"{split_hub.dsn}{'&' if '?' in split_hub.dsn else '?'}application_name={SESSION_APP}"
            return await maintain(pool, TelemetrySettings.load(), session)
        finally:
            await pool.close()

    assert run_sync(retention_round()) == []  # nothing old to drop; the lock was taken and given back
    held = db_fetch(split_hub.dsn, "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'")
    assert held[0]["n"] == 0
