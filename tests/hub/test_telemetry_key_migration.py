"""Migration 0008 (the covering telemetry key) upgrades and downgrades a store with samples in it: the points
stay, every partition (also one made between the two) ends with the parent's key, and ATTACH adopts a new
month's key instead of building a second index."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic.command import downgrade, upgrade

from hub.db import asyncpg_url
from hub.migrate import _config, sqlalchemy_url
from pitline.harness import create_database, drop_database

BEFORE = "0007_auth_change_notices"
COVERING = "INCLUDE (value, site_id)"


@pytest.fixture
def store_dsn(pg_server_url: str) -> Iterator[str]:
    dsn = create_database(pg_server_url, "pitline_telkey")
    try:
        yield dsn
    finally:
        drop_database(pg_server_url, dsn)


def move_to(dsn: str, revision: str, step: object) -> None:
    engine = sa.create_engine(sqlalchemy_url(dsn))
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            step(cfg, revision)  # type: ignore[operator]
    finally:
        engine.dispose()


def keys(conn: psycopg.Connection) -> dict[str, str]:  # type: ignore[type-arg]
    """Every samples index by table: exactly one per partition means ATTACH adopted the partition's own."""
    rows = conn.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'telemetry' "
                        "AND tablename LIKE 'samples%' ORDER BY tablename").fetchall()
    by_table: dict[str, str] = {}
    for table, definition in rows:
        assert table not in by_table, f"{table} has two indexes: {by_table[table]} / {definition}"
        by_table[table] = definition
    return by_table


def test_the_covering_key_migrates_both_ways_with_samples_in_place(store_dsn: str) -> None:
    with psycopg.connect(asyncpg_url(store_dsn), autocommit=True) as conn:
        conn.execute("SELECT telemetry.ensure_month('2030-01-01')")
        conn.execute("""INSERT INTO telemetry.samples (tenant_id, equipment_id, metric, ts, value, site_id)
                        SELECT 't-key', 'EQ' || (g % 7), 'hour_meter', '2030-01-01'::timestamptz
                               + g * interval '1 minute', g, 's1' FROM generate_series(1, 5000) g""")
        assert all(COVERING in d for d in keys(conn).values())

    move_to(store_dsn, BEFORE, downgrade)
    with psycopg.connect(asyncpg_url(store_dsn), autocommit=True) as conn:
        conn.execute("SELECT telemetry.ensure_month('2030-02-01')")  # made by the old function
        assert not any(COVERING in d for d in keys(conn).values())
        assert conn.execute("SELECT count(*) FROM telemetry.samples").fetchone() == (5000,)

    move_to(store_dsn, "head", upgrade)
    with psycopg.connect(asyncpg_url(store_dsn), autocommit=True) as conn:
        conn.execute("SELECT telemetry.ensure_month('2030-03-01')")  # made by the new function
        found = keys(conn)
        assert {"samples_2030_01", "samples_2030_02", "samples_2030_03"} <= found.keys()
        assert all(COVERING in d for d in found.values()), found
        assert conn.execute("SELECT count(*), sum(value) FROM telemetry.samples").fetchone() == (5000, 12502500)
        with pytest.raises(psycopg.errors.UniqueViolation):  # still one point per (equipment, metric, ts)
            conn.execute("INSERT INTO telemetry.samples VALUES ('t-key', 'EQ1', 'hour_meter', "
                         "'2030-01-01'::timestamptz + interval '1 minute', 0, 's1')")
