"""Posting rules: which balanced entry each operation produces. One entry per source document line, keyed so a
replay of the operation posts nothing new.

| operation            | debit                                        | credit                          |
|----------------------|----------------------------------------------|---------------------------------|
| goods receipt        | inventory (at PO price)                      | GR/IR (at PO price)             |
| goods issue          | parts consumed (cost centre, equipment)      | inventory (at moving average)   |
| vendor invoice line  | GR/IR (at received value) ± price variance   | accounts payable (invoice)      |
| payment              | accounts payable                             | bank                            |
| customer invoice     | accounts receivable                          | rental income (equipment)       |
| depreciation         | depreciation expense (equipment)             | accumulated depreciation        |

Every line carries the site; amounts come in already rounded (costing and `money` round where quantity × price
becomes money), so each rule only places them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal

from shared.domain.accounts import Account, AccountType, ChartOfAccounts, Dimension, dims
from shared.domain.finance import DEFAULT_ACCOUNTS, ZERO, LedgerAccounts, money
from shared.domain.finance_errors import FinanceError, MissingDimensionError, UnmatchedInvoiceError
from shared.domain.journal import LedgerEntry, LedgerLine, credit, debit, line
from shared.domain.matching import MatchResult
from shared.domain.periods import Period

ACCOUNTS = DEFAULT_ACCOUNTS
DISPOSAL = ACCOUNTS.disposal  # gain (credit) or loss (debit) on disposal of plant: shared/domain/assets.py

_SITE = frozenset({Dimension.SITE})


def standard_chart(dimension_values: Mapping[Dimension, Iterable[str]], a: LedgerAccounts = ACCOUNTS
                   ) -> ChartOfAccounts:
    """The chart a new tenant starts from: headers per type and the posting accounts the rules use."""
    A, L, E, In, X = (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY, AccountType.INCOME,
                     AccountType.EXPENSE)
    return ChartOfAccounts.build([
        Account("1000", "Assets", A, header=True),
        Account(a.bank, "Bank", A, parent="1000", required=_SITE),
        Account(a.receivable, "Accounts receivable", A, parent="1000", required=_SITE),
        Account(a.inventory, "Inventory", A, parent="1000", required=_SITE),
        Account(a.fixed_assets, "Plant and equipment at cost", A, parent="1000", required=_SITE),
        Account(a.accumulated_depreciation, "Accumulated depreciation", A, parent="1000",
                required=frozenset({Dimension.SITE, Dimension.EQUIPMENT})),
        Account("2000", "Liabilities", L, header=True),
        Account(a.payable, "Accounts payable", L, parent="2000", required=_SITE),
        Account(a.grir, "Goods received not invoiced (GR/IR)", L, parent="2000", required=_SITE),
        Account("3000", "Equity", E, header=True),
        Account(a.equity, "Contributed capital", E, parent="3000"),
        Account("4000", "Income", In, header=True),
        Account(a.rental_income, "Equipment rental income", In, parent="4000",
                required=frozenset({Dimension.SITE, Dimension.EQUIPMENT})),
        Account(DISPOSAL, "Gain or loss on disposal of plant", In, parent="4000", required=_SITE),
        Account("5000", "Cost of purchases", X, header=True),
        Account(a.price_variance, "Purchase price variance", X, parent="5000", required=_SITE),
        Account("6000", "Operating expenses", X, header=True),
        Account(a.consumption, "Parts and materials consumed", X, parent="6000",
                required=frozenset({Dimension.SITE, Dimension.COST_CENTRE})),
        Account(a.depreciation, "Depreciation", X, parent="6000",
                required=frozenset({Dimension.SITE, Dimension.EQUIPMENT})),
    ], dimension_values)


def _positive(amount: Decimal, what: str) -> None:
    if amount <= 0:
        raise FinanceError(f"{what} of {amount} posts nothing; amounts of an operation are positive",
                           {"amount": "must be positive"})


def goods_receipt(
    movement_id: str, posting_date: date, quantity: Decimal, po_unit_price: Decimal, site: str,
    revaluation: Decimal = ZERO, a: LedgerAccounts = ACCOUNTS,
) -> LedgerEntry:
    """Dr inventory / Cr GR/IR at the PO price. `revaluation` (from costing, when the receipt covers stock that
    was issued short) moves inventory against price variance."""
    amount = money(quantity * po_unit_price)
    if amount < 0 or (amount == 0 and not revaluation):
        _positive(amount, f"goods receipt {movement_id}")
    d = dims(site=site)
    lines: list[LedgerLine] = []
    if amount:  # free goods into stock issued short still revalue it
        lines += [debit(a.inventory, amount, d, "goods received"), credit(a.grir, amount, d, "goods received")]
    if revaluation:
        lines += [line(a.inventory, revaluation, d, "stock issued short, revalued at receipt price"),
                  line(a.price_variance, -revaluation, d, "stock issued short, revalued at receipt price")]
    return LedgerEntry(f"goods_receipt:{movement_id}", posting_date, tuple(lines), "goods receipt")


def goods_issue(
    movement_id: str, posting_date: date, amount: Decimal, site: str, cost_centre: str,
    equipment: str | None = None, work_order: str | None = None, a: LedgerAccounts = ACCOUNTS,
) -> LedgerEntry:
    """Dr parts consumed (site, cost centre, equipment) / Cr inventory, at the moving-average `amount` the
    costing computed. An issue to a work order must say which machine the parts went into."""
    _positive(amount, f"goods issue {movement_id}")
    if work_order is not None and not equipment:
        raise MissingDimensionError(
            f"goods issue {movement_id} is to work order {work_order} but names no equipment; the parts' cost is "
            "booked to the machine they were fitted to", {"equipment": "required for a work-order issue"})
    memo = f"issued to work order {work_order}" if work_order else f"issued to cost centre {cost_centre}"
    return LedgerEntry(f"goods_issue:{movement_id}", posting_date, (
        debit(a.consumption, amount, dims(site=site, cost_centre=cost_centre, equipment=equipment), memo),
        credit(a.inventory, amount, dims(site=site), memo),
    ), "goods issue")


def vendor_invoice_line(
    invoice_id: str, line_no: int, posting_date: date, quantity: Decimal, received_unit_price: Decimal,
    invoice_unit_price: Decimal, site: str, match: MatchResult, approved: bool = False,
    a: LedgerAccounts = ACCOUNTS,
) -> LedgerEntry:
    """Dr GR/IR at the received value (what the receipt credited it with) / Cr AP at the invoice price; the
    difference to price variance (Dr when the vendor charged more). A line outside the match tolerances posts
    only once approved: a mismatch never goes through silently."""
    if not match.matched and not approved:
        raise UnmatchedInvoiceError(
            f"invoice {invoice_id} line {line_no} does not match its order and receipt ("
            + "; ".join(m.message for m in match.mismatches) + "); it needs an approval before it is posted",
            {"match": "mismatch awaiting approval"})
    cleared = money(quantity * received_unit_price)
    payable = money(quantity * invoice_unit_price)
    _positive(payable, f"invoice {invoice_id} line {line_no}")
    d = dims(site=site)
    lines: list[LedgerLine] = [credit(a.payable, payable, d, f"invoice {invoice_id}")]
    if cleared:
        lines.insert(0, debit(a.grir, cleared, d, "invoice clears GR/IR"))
    if payable != cleared:
        lines.append(line(a.price_variance, payable - cleared, d, "invoice price variance"))
    return LedgerEntry(f"vendor_invoice:{invoice_id}:{line_no}", posting_date, tuple(lines), "vendor invoice")


def payment(payment_id: str, posting_date: date, amount: Decimal, site: str, a: LedgerAccounts = ACCOUNTS
            ) -> LedgerEntry:
    """Dr AP / Cr bank."""
    amount = money(amount)
    _positive(amount, f"payment {payment_id}")
    d = dims(site=site)
    return LedgerEntry(f"payment:{payment_id}", posting_date,
                       (debit(a.payable, amount, d, "payment"), credit(a.bank, amount, d, "payment")), "payment")


def customer_invoice_line(
    invoice_id: str, line_no: int, posting_date: date, hours: Decimal, rate: Decimal, site: str, equipment: str,
    a: LedgerAccounts = ACCOUNTS,
) -> LedgerEntry:
    """Dr AR / Cr rental income with the machine rented, at hours × rate."""
    amount = money(hours * rate)
    _positive(amount, f"customer invoice {invoice_id} line {line_no}")
    return LedgerEntry(f"customer_invoice:{invoice_id}:{line_no}", posting_date, (
        debit(a.receivable, amount, dims(site=site), f"invoice {invoice_id}"),
        credit(a.rental_income, amount, dims(site=site, equipment=equipment), f"{hours} h × {rate}"),
    ), "customer invoice")


def depreciation_entry(
    asset_id: str, period: Period, posting_date: date, amount: Decimal, site: str, equipment: str,
    a: LedgerAccounts = ACCOUNTS,
) -> LedgerEntry:
    """Dr depreciation / Cr accumulated depreciation, one entry per asset and month."""
    _positive(amount, f"depreciation of {asset_id} for {period}")
    d = dims(site=site, equipment=equipment)
    return LedgerEntry(f"depreciation:{asset_id}:{period}", posting_date, (
        debit(a.depreciation, amount, d, f"depreciation {period}"),
        credit(a.accumulated_depreciation, amount, d, f"depreciation {period}"),
    ), "depreciation")
