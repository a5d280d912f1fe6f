"""The general ledger (issue 13): journal entries keyed per tenant by their idempotency key, their lines in
cents, and the tenant's closed periods.

An entry is posted once per source document line: `journal_entries` has (tenant_id, key) as its primary key, so
a replay is an `ON CONFLICT DO NOTHING`. An entry is reversed at most once (a partial unique index on
`reverses`). Lines carry the entry's posting date (copied, never changed: entries are not edited) so a trial
balance "as of" a date and a GL by account read only `ledger_lines`, through one covering index.

Revision ID: 0010_finance_ledger
Revises: 0009_consume_once_lookups
"""

from alembic import op

revision = "0010_finance_ledger"
down_revision = "0009_consume_once_lookups"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE SCHEMA IF NOT EXISTS finance;

-- Key columns compare bytewise (COLLATE "C"), as in the telemetry store: grouping and probing skip the locale.
CREATE TABLE finance.journal_entries (
    tenant_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    posting_date date NOT NULL,
    source text COLLATE "C" NOT NULL,
    description text NOT NULL DEFAULT '',
    reverses text COLLATE "C",
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key),
    CHECK (key <> '')
);
-- An entry is reversed once; the second reversal is refused by the store with the shared rule's message,
-- and this index makes that hold under concurrent posts too.
CREATE UNIQUE INDEX journal_entries_reverses ON finance.journal_entries (tenant_id, reverses)
    WHERE reverses IS NOT NULL;

CREATE TABLE finance.ledger_lines (
    tenant_id text COLLATE "C" NOT NULL,
    entry_key text COLLATE "C" NOT NULL,
    line_no int NOT NULL,
    posting_date date NOT NULL,
    account text COLLATE "C" NOT NULL,
    site text COLLATE "C",
    cost_centre text COLLATE "C",
    equipment text COLLATE "C",
    project text COLLATE "C",
    debit_cents bigint NOT NULL DEFAULT 0,
    credit_cents bigint NOT NULL DEFAULT 0,
    memo text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, entry_key, line_no),
    FOREIGN KEY (tenant_id, entry_key) REFERENCES finance.journal_entries (tenant_id, key),
    CHECK (debit_cents >= 0 AND credit_cents >= 0 AND (debit_cents = 0) <> (credit_cents = 0))
);
-- GL by account (an account's lines by date) and, covering the amounts, the trial balance by account with
-- an index-only scan; `as_of` is a range on the second column.
CREATE INDEX ledger_lines_account ON finance.ledger_lines (tenant_id, account, posting_date)
    INCLUDE (debit_cents, credit_cents);

CREATE TABLE finance.closed_periods (
    tenant_id text COLLATE "C" NOT NULL,
    year smallint NOT NULL,
    month smallint NOT NULL CHECK (month BETWEEN 1 AND 12),
    closed_at timestamptz NOT NULL DEFAULT now(),
    closed_by text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, year, month)
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP SCHEMA finance CASCADE;")
