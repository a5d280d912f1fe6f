"""Finance primitives (money in cents) and the synced finance entities.

The general ledger's rules live in their own modules: `accounts` (chart of accounts, dimensions),
`journal` (balanced entries), `periods` (period close), `ledger` (posting, idempotency, reversal),
`postings` (entries from operations), `costing` (moving average), `matching` (three-way match),
`depreciation`, `trial_balance`; errors in `finance_errors`. docs/finance.md describes them.

Rounding rule: money is `Decimal` rounded to the cent, half up (0.005 → 0.01), once, where a quantity times a
price becomes money; amounts already in cents are added and subtracted exactly and never re-rounded.

The hub posts the ledger from operations (hub/finance/posting.py); the older `receipt_entry`/`invoice_entry`
payload helpers are gone (D75). `finance.journal_entry`, the manual journal, is declared in `manual_journal`.

Strategies:
- `finance.vendor_invoice`, `finance.payment` (payables), `finance.customer_invoice`, `finance.customer_receipt`
  (receivables) and `finance.asset` (assets) are declared in their own modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.conflicts import Strategy
from shared.entities import EntitySpec, FieldSpec, register

CENT = Decimal("0.01")
ZERO = Decimal(0)


def as_decimal(value: Decimal | int | float | str) -> Decimal:
    """A Decimal from JSON-ish input; floats go through str() so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return Decimal(value)


def money(value: Decimal | int | float | str) -> Decimal:
    return as_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LedgerAccounts:
    """Every account a posting rule posts to (postings, stock_postings, payables, receivables, assets), and the
    equity account the opening balances use. The hub requires a tenant's chart to keep all but equity as posting
    accounts (hub/finance/chart.py `posting_accounts`): a rule posting to an account not named here is a bug."""

    bank: str = "1100"
    receivable: str = "1200"
    inventory: str = "1400"
    fixed_assets: str = "1500"
    accumulated_depreciation: str = "1590"
    payable: str = "2100"
    grir: str = "2150"
    equity: str = "3100"
    rental_income: str = "4100"
    price_variance: str = "5400"
    consumption: str = "6100"  # parts issued to work orders and cost centres
    depreciation: str = "6500"
    disposal: str = "4900"  # gain (credit) or loss (debit) on disposal of plant (assets.disposal_entries)
    transit: str = "1450"  # stock shipped between stores, not yet received (stock_postings)
    stock_adjustment: str = "5500"  # counts and losses at moving average (stock_postings)


DEFAULT_ACCOUNTS = LedgerAccounts()


# A site office's petty-cash float: cash paid out and topped up at two desks offline both count, so the
# balance moves only by deltas (the adjustment strategy), never by overwrite.
CASH_FLOAT = register(
    EntitySpec(
        name="finance.cash_float",
        strategy=Strategy.ADJUSTMENT,
        adjustable=frozenset({"balance"}),
        fields={
            "custodian": FieldSpec("str", required=True, max_length=128, label="Custodian"),
            "currency": FieldSpec("str", max_length=3, label="Currency"),
            "balance": FieldSpec("number", label="Balance"),
        },
    )
)
