"""Operations read models (hub/projections): stock on hand, PO status, work-order status, approval
status, projected from sync.records; expression indexes that let a projection find a key's rows.

Revision ID: 0002_operations_read_models
Revises: 0001_sync_core
"""

from alembic import op

revision = "0002_operations_read_models"
down_revision = "0001_sync_core"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE SCHEMA IF NOT EXISTS inventory;
CREATE SCHEMA IF NOT EXISTS procurement;
CREATE SCHEMA IF NOT EXISTS maintenance;
CREATE SCHEMA IF NOT EXISTS approvals;

CREATE TABLE sync.projection_cursors (
    tenant_id text NOT NULL,
    projection text NOT NULL,
    seq bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, projection)
);

CREATE TABLE inventory.stock_on_hand (
    tenant_id text NOT NULL,
    store_id text NOT NULL,
    item_id text NOT NULL,
    site_id text,
    quantity numeric NOT NULL,
    average_cost numeric NOT NULL,
    value numeric NOT NULL,
    movements integer NOT NULL,
    last_movement_at timestamptz,
    needs_review boolean NOT NULL DEFAULT false,
    review_reason text,
    PRIMARY KEY (tenant_id, store_id, item_id)
);
CREATE INDEX stock_on_hand_item ON inventory.stock_on_hand (tenant_id, item_id);
CREATE INDEX stock_on_hand_review ON inventory.stock_on_hand (tenant_id) WHERE needs_review;

CREATE TABLE procurement.po_status (
    tenant_id text NOT NULL,
    po_id text NOT NULL,
    site_id text,
    vendor_id text,
    number text,
    status text NOT NULL,
    total numeric,
    outstanding_lines integer NOT NULL,
    needs_review boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, po_id)
);
CREATE INDEX po_status_status ON procurement.po_status (tenant_id, status);

CREATE TABLE maintenance.work_order_status (
    tenant_id text NOT NULL,
    work_order_id text NOT NULL,
    site_id text,
    equipment_id text,
    status text NOT NULL,
    last_change_at timestamptz,
    rejected_steps integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, work_order_id)
);
CREATE INDEX work_order_status_status ON maintenance.work_order_status (tenant_id, status);
CREATE INDEX work_order_status_equipment ON maintenance.work_order_status (tenant_id, equipment_id);

CREATE TABLE approvals.request_status (
    tenant_id text NOT NULL,
    request_id text NOT NULL,
    site_id text,
    document_type text,
    document_id text,
    amount numeric,
    status text NOT NULL,
    current_level integer,
    waiting_on text[] NOT NULL DEFAULT '{}',
    problem text,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX request_status_waiting ON approvals.request_status USING gin (waiting_on);

CREATE INDEX records_movement_key ON sync.records (tenant_id, (data->>'store_id'), (data->>'item_id'))
    WHERE entity = 'inventory.movement';
CREATE INDEX records_receipt_po ON sync.records (tenant_id, (data->>'po_id'))
    WHERE entity = 'procurement.goods_receipt';
CREATE INDEX records_transition_wo ON sync.records (tenant_id, (data->>'work_order_id'))
    WHERE entity = 'maintenance.work_order_transition';
CREATE INDEX records_decision_request ON sync.records (tenant_id, (data->>'request_id'))
    WHERE entity = 'approvals.decision';
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(
        "DROP INDEX sync.records_movement_key; DROP INDEX sync.records_receipt_po; "
        "DROP INDEX sync.records_transition_wo; DROP INDEX sync.records_decision_request; "
        "DROP TABLE sync.projection_cursors; DROP TABLE inventory.stock_on_hand; DROP TABLE procurement.po_status; "
        "DROP TABLE maintenance.work_order_status; DROP TABLE approvals.request_status;"
    )
