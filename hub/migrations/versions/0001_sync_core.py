"""The sync core: event log, records, ledger; minimal auth (tenants, sites, devices, tokens).

Revision ID: 0001_sync_core
Revises:
"""

from alembic import op

revision = "0001_sync_core"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE SCHEMA IF NOT EXISTS sync;
CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.tenants (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE auth.sites (
    tenant_id text NOT NULL,
    id text NOT NULL,
    name text NOT NULL,
    time_zone text NOT NULL DEFAULT 'UTC',
    day_shift_start time NOT NULL DEFAULT '06:00',
    night_shift_start time NOT NULL DEFAULT '18:00',
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE auth.devices (
    tenant_id text NOT NULL,
    id text NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    site_ids text[],
    public_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE auth.access_tokens (
    token_hash bytea PRIMARY KEY,
    tenant_id text NOT NULL,
    device_id text,
    user_id text,
    roles text[] NOT NULL DEFAULT '{}',
    site_ids text[],
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE sync.tenant_heads (
    tenant_id text PRIMARY KEY,
    head bigint NOT NULL DEFAULT 0,
    floor bigint NOT NULL DEFAULT 0
);
CREATE TABLE sync.events (
    tenant_id text NOT NULL,
    seq bigint NOT NULL,
    id text NOT NULL,
    site_id text,
    type text NOT NULL,
    entity text NOT NULL,
    entity_id text NOT NULL,
    version integer NOT NULL,
    ts timestamptz NOT NULL,
    payload jsonb NOT NULL,
    correlation_id text,
    PRIMARY KEY (tenant_id, seq)
);
CREATE TABLE sync.records (
    tenant_id text NOT NULL,
    entity text NOT NULL,
    entity_id text NOT NULL,
    site_id text,
    version integer NOT NULL,
    data jsonb NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL,
    updated_by text,
    PRIMARY KEY (tenant_id, entity, entity_id)
);
CREATE TABLE sync.record_versions (
    tenant_id text NOT NULL,
    entity text NOT NULL,
    entity_id text NOT NULL,
    version integer NOT NULL,
    data jsonb NOT NULL,
    deleted boolean NOT NULL,
    device_id text,
    mutation_id text,
    written_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, entity, entity_id, version)
);
CREATE TABLE sync.applied_mutations (
    tenant_id text NOT NULL,
    mutation_id text NOT NULL,
    device_id text NOT NULL,
    device_seq bigint NOT NULL,
    entity text NOT NULL,
    entity_id text NOT NULL,
    actor text NOT NULL,
    outcome jsonb NOT NULL,
    applied_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, mutation_id),
    CONSTRAINT applied_mutations_device_seq_key UNIQUE (tenant_id, device_id, device_seq)
);
CREATE TABLE sync.held_mutations (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    device_seq bigint NOT NULL,
    mutation_id text NOT NULL,
    body jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, device_id, device_seq)
);
CREATE TABLE sync.device_cursors (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    last_seq bigint NOT NULL DEFAULT 0,
    last_seen_at timestamptz,
    reported_outbox_depth integer,
    PRIMARY KEY (tenant_id, device_id)
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP SCHEMA sync CASCADE; DROP SCHEMA auth CASCADE;")
