"""The tenant's chart of accounts as the hub checks postings against it: its `finance.account` and
`finance.dimension_value` records (shared/domain/finance_entities.py) over the default chart (D35)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from hub.sync.records import Write
from shared.domain.accounts import Account, ChartOfAccounts, Dimension, Dimensions
from shared.domain.chart_guard import check_line_open, check_posting_accounts, posting_accounts
from shared.domain.finance_entities import ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY, chart_from_records
from shared.domain.stock_postings import default_accounts

# The chart guard is pure and lives in shared (D86); the hub's names stay importable from here.
__all__ = ["TenantChart", "check_posting_accounts", "load_chart", "posting_accounts"]


@dataclass(frozen=True)
class TenantChart:
    chart: ChartOfAccounts
    open_dimensions: frozenset[Dimension]  # no values listed: any value is accepted (D35)
    listed: bool  # the tenant keeps account records of its own (else the default chart as it is)

    def check_line(self, account: str, dimensions: Dimensions) -> Account:
        """`ChartOfAccounts.check_line`, with the values of open dimensions accepted as given."""
        return check_line_open(self.chart, self.open_dimensions, account, dimensions)


async def load_chart(conn: asyncpg.Connection | asyncpg.Pool, tenant: str, pending: Iterable[Write] = ()
                     ) -> TenantChart:
    """The chart from the tenant's stored records and `pending` (this push's own writes, not saved yet). Raises
    ChartError when the records do not make a chart: nothing posts against a broken chart, and the message says
    which account to fix (a device's change that would break it is refused, chart_posting.py)."""
    rows = await conn.fetch("SELECT entity, entity_id, data FROM sync.records WHERE tenant_id = $1 "
                            "AND entity = ANY($2::text[]) AND NOT deleted", tenant,
                            [ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY])
    found: dict[tuple[str, str], dict[str, Any] | None] = {(r["entity"], r["entity_id"]): dict(r["data"])
                                                           for r in rows}
    for w in pending:
        if w.key[0] in (ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY):
            found[w.key] = None if w.deleted else w.data
    accounts = [d for (e, _), d in sorted(found.items()) if e == ACCOUNT_ENTITY and d is not None]
    values = [d for (e, _), d in sorted(found.items()) if e == DIMENSION_VALUE_ENTITY and d is not None]
    chart, open_dims = chart_from_records(accounts, values, default_accounts())
    return TenantChart(chart, open_dims, bool(accounts))
