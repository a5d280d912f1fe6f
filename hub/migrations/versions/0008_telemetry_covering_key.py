"""The telemetry key carries the value and the site: a range query reads the index alone.

Samples arrive interleaved (every machine every second), so one machine's day of points lies on as many heap
pages as it has points: at 100M rows the range query read ~1,000 heap pages for 1,000 points (p95 123 ms,
docs/benchmarks.md). With `INCLUDE (value, site_id)` on the primary key the query is an index-only scan over
~20 index pages (measured on 30M rows: 21 buffers instead of 1,017) once the partition is all-visible, which
autovacuum's insert threshold brings about; the key grows ~30%. The key columns, and so uniqueness and the
ingest's ON CONFLICT, are unchanged.

The parent's key is replaced, which rebuilds every partition's index under an ACCESS EXCLUSIVE lock: seconds
on a new hub, minutes per 100M stored rows (run it in a maintenance window on a large store).
`telemetry.ensure_month` now builds a new month's key the same way before attaching it, so ATTACH adopts it.

Revision ID: 0008_telemetry_covering_key
Revises: 0007_auth_change_notices
"""

from alembic import op

revision = "0008_telemetry_covering_key"
down_revision = "0007_auth_change_notices"
branch_labels = None
depends_on = None

ENSURE_MONTH = """
CREATE OR REPLACE FUNCTION telemetry.ensure_month(month date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    part text := 'samples_' || to_char(first, 'YYYY_MM');
BEGIN
    IF to_regclass('telemetry.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    -- One creator at a time (two hubs may meet the same new month); the loser finds it made.
    PERFORM pg_advisory_xact_lock(hashtext('telemetry.samples partitions'));
    IF to_regclass('telemetry.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    EXECUTE format('CREATE TABLE telemetry.%I (LIKE telemetry.samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part);
    -- The same key as the parent's (columns and INCLUDE), so ATTACH adopts it instead of building another.
    EXECUTE format('ALTER TABLE telemetry.%I ADD PRIMARY KEY (tenant_id, equipment_id, metric, ts) %s', part,
                   {include});
    EXECUTE format('ALTER TABLE telemetry.%I ADD CONSTRAINT %I CHECK (ts >= %L AND ts < %L)', part,
                   part || '_range', first::text || ' 00:00:00+00', (first + interval '1 month')::date::text
                   || ' 00:00:00+00');
    EXECUTE format('ALTER TABLE telemetry.samples ATTACH PARTITION telemetry.%I FOR VALUES FROM (%L) TO (%L)',
                   part, first::text || ' 00:00:00+00', (first + interval '1 month')::date::text || ' 00:00:00+00');
    -- The CHECK only spared ATTACH a scan; the partition bound says the same.
    EXECUTE format('ALTER TABLE telemetry.%I DROP CONSTRAINT %I', part, part || '_range');
    RETURN part;
END $$;
"""


def _key(include: str) -> str:
    return f"""
ALTER TABLE telemetry.samples DROP CONSTRAINT samples_pkey;
ALTER TABLE telemetry.samples ADD CONSTRAINT samples_pkey PRIMARY KEY (tenant_id, equipment_id, metric, ts) {include};
""" + ENSURE_MONTH.replace("{include}", f"'{include}'" if include else "''")


def upgrade() -> None:
    op.execute(_key("INCLUDE (value, site_id)"))


def downgrade() -> None:
    op.execute(_key(""))
