"""The telemetry store: samples partitioned by month, batches for idempotency, device status.

`telemetry.samples` is partitioned by RANGE on ts, one partition per UTC calendar month, named
`samples_YYYY_MM`. Its primary key (tenant_id, equipment_id, metric, ts) holds in every partition (ts, the
partition key, is part of it), so a point is stored once however often it is sent. There is no DEFAULT
partition: `telemetry.ensure_month(date)` creates a month's partition (created empty, then ATTACHed, which
takes only a SHARE UPDATE EXCLUSIVE lock on the parent, so running inserts and queries are not blocked);
the hub creates the coming months ahead and any missing month on demand before loading a batch.

Revision ID: 0004_telemetry
Revises: 0003_audit_log
"""

from alembic import op

revision = "0004_telemetry"
down_revision = "0003_audit_log"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE SCHEMA IF NOT EXISTS telemetry;

-- Key columns compare bytewise (COLLATE "C"): the index is built and probed without the locale's rules.
CREATE TABLE telemetry.samples (
    tenant_id text COLLATE "C" NOT NULL,
    equipment_id text COLLATE "C" NOT NULL,
    metric text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    value double precision NOT NULL,
    site_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, equipment_id, metric, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE telemetry.batches (
    tenant_id text NOT NULL,
    batch_id text NOT NULL,
    device_id text NOT NULL,
    site_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    points integer NOT NULL,
    accepted integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    expired integer NOT NULL DEFAULT 0,
    future integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, batch_id)
);
CREATE INDEX batches_received ON telemetry.batches (received_at);

-- What each edge last reported about its own queue (for the hub's device-status view).
CREATE TABLE telemetry.device_status (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    reported_at timestamptz NOT NULL,
    last_batch_id text NOT NULL,
    pending_samples bigint,
    outbox_depth bigint,
    disk_bytes bigint,
    PRIMARY KEY (tenant_id, device_id)
);

CREATE FUNCTION telemetry.ensure_month(month date) RETURNS text LANGUAGE plpgsql AS $$
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
    EXECUTE format('ALTER TABLE telemetry.%I ADD PRIMARY KEY (tenant_id, equipment_id, metric, ts)', part);
    EXECUTE format('ALTER TABLE telemetry.%I ADD CONSTRAINT %I CHECK (ts >= %L AND ts < %L)', part,
                   part || '_range', first::text || ' 00:00:00+00', (first + interval '1 month')::date::text
                   || ' 00:00:00+00');
    EXECUTE format('ALTER TABLE telemetry.samples ATTACH PARTITION telemetry.%I FOR VALUES FROM (%L) TO (%L)',
                   part, first::text || ' 00:00:00+00', (first + interval '1 month')::date::text || ' 00:00:00+00');
    -- The CHECK only spared ATTACH a scan; the partition bound says the same.
    EXECUTE format('ALTER TABLE telemetry.%I DROP CONSTRAINT %I', part, part || '_range');
    RETURN part;
END $$;

CREATE FUNCTION telemetry.ensure_months_ahead(ahead integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 0..ahead LOOP
        PERFORM telemetry.ensure_month((date_trunc('month', now() AT TIME ZONE 'UTC') + i * interval '1 month')::date);
    END LOOP;
END $$;

SELECT telemetry.ensure_months_ahead(3);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP SCHEMA telemetry CASCADE;")
