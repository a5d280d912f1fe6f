"""The accounts the posting rules post to, which a tenant's chart must keep as posting accounts (D76, D86).

Pure, so the hub's chart check (hub/finance/chart.py re-exports both names) and the desktop's chart screen
(desktop/chart_screen.py, which refuses the edit beside the field) hold a chart to the same list."""

from __future__ import annotations

from shared.domain.accounts import Account, ChartOfAccounts, Dimension, Dimensions
from shared.domain.finance import DEFAULT_ACCOUNTS
from shared.domain.finance_errors import ChartError


def posting_accounts() -> list[str]:
    """The accounts the hub's posting rules post to: a tenant's chart must keep them as posting accounts. Derived
    from `LedgerAccounts`, which names every account a rule uses (tests/hub/test_finance_chart_accounts.py runs
    every rule and checks so), less equity, which only opening balances use."""
    return sorted(set(vars(DEFAULT_ACCOUNTS).values()) - {DEFAULT_ACCOUNTS.equity})


def missing_posting_accounts(chart: ChartOfAccounts) -> list[str]:
    """The required posting accounts this chart lacks or has made headers, in code order."""
    return [code for code in posting_accounts() if code not in chart.accounts or chart.accounts[code].header]


def check_posting_accounts(chart: ChartOfAccounts) -> None:
    missing = missing_posting_accounts(chart)
    if missing:
        raise ChartError(f"the chart lacks the posting account(s) {', '.join(missing)} the hub posts operations to; "
                         "keep them as active posting accounts", {"code": "the hub posts to it"})


def check_line_open(chart: ChartOfAccounts, open_dimensions: frozenset[Dimension], account: str,
                    dimensions: Dimensions) -> Account:
    """`ChartOfAccounts.check_line`, with the values of open dimensions (no values listed, D35) accepted as given:
    the hub's check of a posted line and the desktop's check of a typed one."""
    extra = {d: frozenset({v}) for d, v in dimensions if d in open_dimensions}
    checked = chart if not extra else ChartOfAccounts(chart.accounts, {**chart.dimension_values, **extra})
    return checked.check_line(account, dimensions)
