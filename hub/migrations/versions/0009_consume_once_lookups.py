"""Index probes for consume-once decisions (D27): inside a push, holding a document's lock, the hub reads
what it already booked against a transfer, a PO line or a requisition. Without these each receipt read every
movement of the tenant. Partial indexes: only rows that name such a document are indexed.

Revision ID: 0009_consume_once_lookups
Revises: 0008_telemetry_covering_key
"""

from alembic import op

revision = "0009_consume_once_lookups"
down_revision = "0008_telemetry_covering_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX records_movement_transfer ON sync.records (tenant_id, (data->>'transfer_id')) "
        "WHERE entity = 'inventory.movement' AND data->>'transfer_id' IS NOT NULL;"
        "CREATE INDEX records_movement_po_line ON sync.records (tenant_id, (data->>'po_id'), (data->>'po_line_id')) "
        "WHERE entity = 'inventory.movement' AND data->>'po_id' IS NOT NULL;"
        "CREATE INDEX records_po_requisition ON sync.records (tenant_id, (data->>'requisition_id')) "
        "WHERE entity = 'procurement.purchase_order' AND data->>'requisition_id' IS NOT NULL;"
    )


def downgrade() -> None:
    op.execute("DROP INDEX sync.records_movement_transfer; DROP INDEX sync.records_movement_po_line; "
               "DROP INDEX sync.records_po_requisition;")
