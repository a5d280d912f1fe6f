"""The tenant's chart of accounts as the hub checks postings against it: its `finance.account` and
`finance.dimension_value` records (shared/domain/finance_entities.py), or the default chart when it has none."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from shared.domain.accounts import Account, ChartOfAccounts, Dimension, Dimensions
from shared.domain.finance_entities import ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY, chart_from_records
from shared.domain.stock_postings import default_accounts


@dataclass(frozen=True)
class TenantChart:
    chart: ChartOfAccounts
    open_dimensions: frozenset[Dimension]  # no values listed: any value is accepted (D35)
    listed: bool  # the tenant keeps its own account records (else the default chart)

    def check_line(self, account: str, dimensions: Dimensions) -> Account:
        """`ChartOfAccounts.check_line`, with the values of open dimensions accepted as given."""
        extra = {d: frozenset({v}) for d, v in dimensions if d in self.open_dimensions}
        chart = self.chart if not extra else ChartOfAccounts(self.chart.accounts,
                                                              {**self.chart.dimension_values, **extra})
        return chart.check_line(account, dimensions)


async def load_chart(conn: asyncpg.Connection | asyncpg.Pool, tenant: str) -> TenantChart:
    """Raises ChartError when the records do not make a chart (a parent missing…): nothing posts against a
    broken chart, and the message says which account to fix."""
    rows = await conn.fetch("SELECT entity, data FROM sync.records WHERE tenant_id = $1 AND entity = ANY($2::text[]) "
                            "AND NOT deleted", tenant, [ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY])
    accounts = [dict(r["data"]) for r in rows if r["entity"] == ACCOUNT_ENTITY]
    values = [dict(r["data"]) for r in rows if r["entity"] == DIMENSION_VALUE_ENTITY]
    chart, open_dims = chart_from_records(accounts, values, default_accounts())
    return TenantChart(chart, open_dims, bool(accounts))
