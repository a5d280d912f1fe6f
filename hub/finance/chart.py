"""The tenant's chart of accounts as the hub checks postings against it: its `finance.account` and
`finance.dimension_value` records (shared/domain/finance_entities.py) over the default chart (D35)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from hub.sync.records import Write
from shared.domain.accounts import Account, ChartOfAccounts, Dimension, Dimensions
from shared.domain.finance import DEFAULT_ACCOUNTS
from shared.domain.finance_entities import ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY, chart_from_records
from shared.domain.finance_errors import ChartError
from shared.domain.stock_postings import default_accounts


@dataclass(frozen=True)
class TenantChart:
    chart: ChartOfAccounts
    open_dimensions: frozenset[Dimension]  # no values listed: any value is accepted (D35)
    listed: bool  # the tenant keeps account records of its own (else the default chart as it is)

    def check_line(self, account: str, dimensions: Dimensions) -> Account:
        """`ChartOfAccounts.check_line`, with the values of open dimensions accepted as given."""
        extra = {d: frozenset({v}) for d, v in dimensions if d in self.open_dimensions}
        chart = self.chart if not extra else ChartOfAccounts(self.chart.accounts,
                                                              {**self.chart.dimension_values, **extra})
        return chart.check_line(account, dimensions)


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


def posting_accounts() -> list[str]:
    """The accounts the hub's posting rules post to: a tenant's chart must keep them as posting accounts. Derived
    from `LedgerAccounts`, which names every account a rule uses (tests/hub/test_finance_chart_accounts.py runs
    every rule and checks so), less equity, which only opening balances use."""
    return sorted(set(vars(DEFAULT_ACCOUNTS).values()) - {DEFAULT_ACCOUNTS.equity})


def check_posting_accounts(chart: ChartOfAccounts) -> None:
    missing = [code for code in posting_accounts() if code not in chart.accounts or chart.accounts[code].header]
    if missing:
        raise ChartError(f"the chart lacks the posting account(s) {', '.join(missing)} the hub posts operations to; "
                         "keep them as active posting accounts", {"code": "the hub posts to it"})
