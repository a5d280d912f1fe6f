"""The audit log: every applied mutation with who, which device, when, before and after. Append-only.

Revision ID: 0003_audit_log
Revises: 0002_operations_read_models
"""

from alembic import op

revision = "0003_audit_log"
down_revision = "0002_operations_read_models"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE audit.log (
    tenant_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    device_id text,
    mutation_id text,
    action text NOT NULL,
    entity text,
    entity_id text,
    outcome text NOT NULL,
    version integer,
    before jsonb,
    after jsonb,
    details jsonb,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX log_entity ON audit.log (tenant_id, entity, entity_id, at);
CREATE INDEX log_actor ON audit.log (tenant_id, actor, at);

CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP SCHEMA audit CASCADE")
