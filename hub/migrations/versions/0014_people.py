"""Index probes for the people rules and the HQ reconciliation summary (hub/people, D50, D54): inside a push,
holding a person's lock, the hub reads that person's other leave requests; the summary reads a period's usage
logs, attendance and reviews by shift date. Without these each read walked every such record of the tenant.
Partial indexes: only the entities read this way are indexed.

Revision ID: 0014_people
Revises: 0010_finance_ledger
"""

from alembic import op

revision = "0014_people"
down_revision = "0010_finance_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX records_leave_by_employee ON sync.records (tenant_id, (data->>'employee_id')) "
        "WHERE entity = 'hr.leave_request';"
        "CREATE INDEX records_by_shift_date ON sync.records (tenant_id, entity, (data->>'shift_date')) "
        "WHERE entity IN ('equipment.usage_log', 'hr.attendance', 'hr.reconciliation_review');"
    )


def downgrade() -> None:
    op.execute("DROP INDEX sync.records_leave_by_employee; DROP INDEX sync.records_by_shift_date;")
