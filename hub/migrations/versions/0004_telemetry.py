"""The telemetry store (placeholder: filled by the telemetry work).

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
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP SCHEMA telemetry CASCADE;")
