"""Where each device stands in the event log (for the per-device sync status and the lag gauge).

`sync.device_cursors.last_seq` is the last *device_seq* applied (the push side); this is the read side: the
highest event seq a device acknowledged (`/changes?after=`) or was delivered by its stream. A table of its own,
so recording reads never waits on the row a push holds FOR UPDATE.

Revision ID: 0006_device_read_cursors
Revises: 0005_identity
"""

from alembic import op

revision = "0006_device_read_cursors"
down_revision = "0005_identity"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE sync.device_read_cursors (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    event_seq bigint NOT NULL,
    read_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, device_id)
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE sync.device_read_cursors;")
