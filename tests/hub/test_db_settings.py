"""The hub says at start when its PostgreSQL will let table statistics go stale (autovacuum off)."""

from __future__ import annotations

import logging

import pytest

from hub.db import create_pool, warn_without_autovacuum
from tests.fixtures.postgres import run_sync


def test_the_hub_warns_exactly_when_autovacuum_is_off(pg_dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    async def check() -> str:
        pool = await create_pool(pg_dsn, min_size=1, max_size=1)
        try:
            await warn_without_autovacuum(pool)
            return str(await pool.fetchval("SHOW autovacuum"))
        finally:
            await pool.close()

    with caplog.at_level(logging.WARNING, logger="hub.db"):
        setting = run_sync(check())
    warned = [r for r in caplog.records if "autovacuum is off" in r.getMessage()]
    assert len(warned) == (0 if setting == "on" else 1), (setting, caplog.text)
