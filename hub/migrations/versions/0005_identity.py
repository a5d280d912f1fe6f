"""Identity: enrollment, users, roles (placeholder: filled by the identity work).

Revision ID: 0005_identity
Revises: 0004_telemetry
"""

from alembic import op

revision = "0005_identity"
down_revision = "0004_telemetry"
branch_labels = None
depends_on = None

UPGRADE = """
SELECT 1;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    pass
